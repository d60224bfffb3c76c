"""A submit file's resources and GPU constraints as the spec's resources and gpu keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .submit_values import Numbers


def resources(job: dict[str, Any], commands: dict[str, str], numbers: Numbers) -> None:
    resources: dict[str, Any] = {}
    for key in ("cpus", "gpus"):
        if f"request_{key}" in commands:
            count = numbers.integer(f"request_{key}")
            if count is not None:
                resources[key] = count
    for key in ("memory", "disk"):
        if f"request_{key}" in commands:
            resources[key] = _with_unit(numbers.text(f"request_{key}"), "MB" if key == "memory" else "KB")
    # HTCondor gives a job no GPU unless it asks; the spec's default is one (the bundled trainer's).
    resources.setdefault("gpus", 0)
    job["resources"] = resources
    gpu: dict[str, Any] = {}
    if "gpus_minimum_capability" in commands:
        capability = numbers.decimal("gpus_minimum_capability")
        if capability is not None:
            gpu["min_capability"] = capability
    if "gpus_minimum_memory" in commands:
        gpu["min_memory"] = _with_unit(numbers.text("gpus_minimum_memory"), "MB")
    if "gpus_minimum_runtime" in commands:  # the CUDA version the driver must run: gpu.driver writes it back
        gpu["driver"] = _version(numbers.text("gpus_minimum_runtime"))
    if "require_gpus" in commands:
        _require_gpus(gpu, commands)
    # Every clause as written, a driver floor on the machine (GPUs_DriverVersion >= 12.2) included: the
    # generated .sub writes gpu.driver as gpus_minimum_runtime, which checks each GPU's
    # MaxSupportedVersion; the file's own clause comes back as the file had it. (OpSysMajorVer > 7)
    # too: the generated .sub adds it only to pixi-pack jobs.
    clauses = [_unwrapped(clause) for clause in _clauses(commands.pop("requirements", ""))]
    if gpu:
        job["gpu"] = gpu
    if clauses:
        job["requirements"] = clauses


# require_gpus clauses the spec's gpu keys say: (attribute of the GPU, key, value as the spec writes it).
GPU_FLOORS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "capability": ("min_capability", float),
    "globalmemorymb": ("min_memory", lambda v: f"{int(float(v))}MB"),
    "driverversion": ("driver", lambda v: _version(v)),
    "maxsupportedversion": ("driver", lambda v: _version(v)),
}


def _require_gpus(gpu: dict[str, Any], commands: dict[str, str]) -> None:
    """require_gpus = (Capability >= 8.0) && (GlobalMemoryMb >= 20000): floors the spec's gpu keys
    say; an expression with a clause of another shape is gpu.require, as written (gpus_minimum_*
    floors beside it stay floors; a macro in it is reported as not carried)."""
    expression = commands["require_gpus"]
    said = {}
    for clause in _clauses(expression):
        floor = re.fullmatch(r"\(?\s*([A-Za-z]+)\s*>=\s*([0-9]+(?:\.[0-9]+)?)\s*\)?", clause)
        if not floor or floor.group(1).lower() not in GPU_FLOORS:
            # A bound the floors cannot say (an upper one, a device name): the whole expression as it is.
            if "$(" not in expression:  # floors beside it: the .sub ANDs them into one require_gpus
                gpu["require"] = expression.strip()
                del commands["require_gpus"]
            return
        key, convert = GPU_FLOORS[floor.group(1).lower()]
        said[key] = convert(floor.group(2))
    gpu.update(said)
    del commands["require_gpus"]


def _version(text: str) -> str:
    """A CUDA version as gpu.driver writes it: 12 -> 12.0; 12040 (HTCondor's integer form) -> 12.4."""
    value = text.strip()
    if value.isdigit() and int(value) >= 1000:
        return f"{int(value) // 1000}.{int(value) % 1000 // 10}"
    return value if "." in value else f"{value}.0"


def _with_unit(value: str, unit: str) -> str:
    text = value.strip().upper().removesuffix("B")
    if text.isdigit():
        return f"{text}{unit}"
    number, suffix = text[:-1], text[-1:]
    return f"{number}{suffix}B" if number.isdigit() and suffix in "KMGT" else value


def _unwrapped(clause: str) -> str:
    """(Machine != "x") as Machine != "x": the generated .sub puts each clause in parentheses."""
    if not (clause.startswith("(") and clause.endswith(")")):
        return clause
    depth = 0
    for index, char in enumerate(clause):
        depth += (char == "(") - (char == ")")
        if depth == 0:
            return clause[1:-1].strip() or clause if index == len(clause) - 1 else clause
    return clause


def _clauses(expression: str) -> list[str]:
    """Top-level && clauses of a requirements expression."""
    parts, depth, current = [], 0, ""
    for index, char in enumerate(expression):
        depth += (char == "(") - (char == ")")
        if depth == 0 and expression.startswith("&&", index):
            parts.append(current)
            current = ""
            continue
        if not (depth == 0 and current == "" and char == "&"):
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]
