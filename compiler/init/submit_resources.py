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
            size = _size(numbers, f"request_{key}", "MB" if key == "memory" else "KB")
            if size is not None:
                resources[key] = size
    # HTCondor gives a job no GPU unless it asks; the spec's default is one (the bundled trainer's).
    resources.setdefault("gpus", 0)
    job["resources"] = resources
    gpu: dict[str, Any] = {}
    if "gpus_minimum_capability" in commands:
        capability = numbers.decimal("gpus_minimum_capability")
        if capability is not None:
            gpu["min_capability"] = capability
    if "gpus_minimum_memory" in commands:
        size = _size(numbers, "gpus_minimum_memory", "MB")
        if size is not None:
            gpu["min_memory"] = size
    if "gpus_minimum_runtime" in commands:  # the CUDA version the driver must run: gpu.driver writes it back
        gpu["driver"] = _version(numbers.text("gpus_minimum_runtime"))
    if "require_gpus" in commands:
        _require_gpus(gpu, commands)
    # Every clause as written, a driver floor on the machine (GPUs_DriverVersion >= 12.2) included: the
    # generated .sub writes gpu.driver as gpus_minimum_runtime, which checks each GPU's
    # MaxSupportedVersion; the file's own clause comes back as the file had it. (OpSysMajorVer > 7)
    # too: the generated .sub adds it only to pixi-pack jobs.
    written = numbers.macros.own_defaults("requirements", commands.pop("requirements", ""))
    # `X && True` (what `$(requirements:True)` leaves) says X.
    clauses = [_unwrapped(clause) for clause in _clauses(written) if clause.strip("() ").lower() != "true"]
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


UNITS = "KMGT"
# A size as condor_submit reads it: a number, blanks allowed before the unit, K/M/G/T with or without
# B in any letter case, none for the command's own unit (MB for memory, KB for disk).
PRODUCT = re.compile(r"[0-9]{1,6}(?:\s*\*\s*[0-9]{1,6}){1,3}")
SIZE = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,6}))?\s*(?:([KMGT])B?)?", re.IGNORECASE)


def _size(numbers: Numbers, key: str, unit: str) -> str | None:
    """request_memory = 2 GB as the spec's 2GB; a fraction in the next smaller unit when it is a
    whole number of those (1.5GB is 1536MB); any other value reported with its line."""
    text = numbers.macros.placed(numbers.commands[key]).strip()
    size = size_of(text, unit)
    if size is None:
        numbers.lost(key, "not a size the spec can hold: write it as 2GB or 512MB")
        return None
    del numbers.commands[key]
    return size


def size_of(text: str, unit: str) -> str | None:
    """A submit file's size as the spec writes it (`2GB`), or None; `unit` is the unit of a bare number.
    A product of whole numbers (`request_memory = 2*1024`, an expression condor_submit hands to the
    schedd, which evaluates it) is that number in the command's unit."""
    product = PRODUCT.fullmatch(text.strip())
    if product:
        factors = [int(f) for f in re.split(r"\s*\*\s*", text.strip())]
        number = 1
        for factor in factors:
            number *= factor
        text = str(number) if 0 < number < 10**12 else text
    found = SIZE.fullmatch(text.strip())
    if not found:
        return None
    whole, fraction, suffix = found.group(1), found.group(2) or "", (found.group(3) or unit[0]).upper()
    power = UNITS.index(suffix)
    number = int(whole + fraction)
    scale = 10 ** len(fraction)
    while number % scale and power > 0:  # 1.5 GB: 1536 MB
        number, power = number * 1024, power - 1
    if number % scale or number // scale == 0:
        return None
    return f"{number // scale}{UNITS[power]}B"


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
