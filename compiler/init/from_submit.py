"""`pixi-htc init --from job.sub`: an HTCondor submit file's job as a spec."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..jobfiles import parse_remaps
from ..model import POLICY
from .draft import Draft, slug

# What the generated .sub says itself: the same value in the original is nothing lost.
GENERATED = {"should_transfer_files": "yes", "when_to_transfer_output": "on_exit"}
# HTCondor's own macros, as placeholders of the spec.
BUILT_IN_MACROS = {"process": "{process}", "procid": "{process}", "itemindex": "{process}", "row": "{process}",
                   "cluster": "{cluster}", "clusterid": "{cluster}"}
MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.]*)\)")


def from_submit(path: Path, beside: str = "") -> Draft:
    """The job of an HTCondor submit file; `beside` is where a queue table of its own goes (the spec's
    directory, relative to the project root)."""
    import htcondor2

    try:
        sub = htcondor2.Submit(path.read_text(encoding="utf-8"))
    except Exception as error:  # htcondor2 raises plain exceptions for parse errors
        raise UsageError(f"{path}: HTCondor cannot parse it: {error}") from error
    commands = {key.lower(): sub[key] for key in sub.keys() if not key.lower().startswith("my.")}
    draft = Draft({"schema_version": 1, "name": slug(path.stem), "source": []})
    where = f"{path.name}: "
    job: dict[str, Any] = {}
    queue = _queue(draft, job, sub, where, f"{beside}{slug(path.stem)}.queue.txt")
    macros = Macros(commands, queue)
    attributes = {key[3:]: sub[key] for key in sub.keys() if key.lower().startswith("my.")}
    # +SingularityImage: the OSPool's older way to name an image (a vanilla job that Apptainer runs).
    legacy = _classad(attributes.pop("SingularityImage")) if "SingularityImage" in attributes else None
    image = commands.pop("container_image", None) or commands.pop("docker_image", None) or legacy
    universe = commands.pop("universe", "container" if image else "vanilla").lower()
    job["runtime"] = "container" if image or universe in ("container", "docker") else "pixi-pack"
    if image:
        job["image"] = image if "://" in image or image.endswith(".sif") or image.startswith("/cvmfs/") \
            else f"docker://{image}"
        if job["image"].endswith(".sif") or job["image"].startswith("/cvmfs/"):
            job["runtime"] = "apptainer"
    for key, target in (("transfer_input_files", "inputs"), ("transfer_output_files", "outputs")):
        if key in commands:
            job[target] = [macros.placed(p.strip()) for p in commands.pop(key).split(",") if p.strip()]
    job["command"] = _command(draft, job, commands, macros)
    logs = {key: macros.placed(commands.pop(key)) for key in ("log", "output", "error") if key in commands}
    if logs:
        job["logs"] = logs
    _resources(job, commands)
    if "checkpoint_exit_code" in commands:
        job["checkpoint"] = {"exit_code": int(commands.pop("checkpoint_exit_code")),
                             "files": [p.strip() for p in commands.pop("transfer_checkpoint_files", "").split(",") if p.strip()]}
    _site(draft, job, attributes, commands)
    if attributes:
        job["attributes"] = {k: _classad(v) for k, v in attributes.items()}
    if "environment" in commands:
        job["env"] = _environment(commands.pop("environment"))
    for key in ("stream_output", "stream_error"):
        if key in commands:
            job[key] = commands.pop(key).lower() == "true"
    for key in (*POLICY, "batch_name"):
        if key in commands:
            job[key] = commands.pop(key)
    if "transfer_output_remaps" in commands:
        remaps = {name: macros.placed(target.template)
                  for name, target in parse_remaps(commands.pop("transfer_output_remaps"))}
        job["output_remaps"] = {macros.placed(name): target for name, target in remaps.items()}
    if "max_retries" in commands:
        job["max_retries"] = int(commands.pop("max_retries"))
    if image and job["image"].startswith("/cvmfs/"):
        commands.pop("transfer_container", None)  # the generated .sub says false for a CVMFS image
    same = {key for key, value in GENERATED.items() if commands.get(key, "").lower() == value}
    draft.lose(where, set(commands) - same - macros.used)
    draft.lose(where, [f"{macro} (no such macro here: write its value)" for macro in sorted(macros.unknown)])
    draft.spec["jobs"] = {slug(path.stem): job}
    return draft


class Macros:
    """$(name) in the submit file's values, as the spec writes them: HTCondor's process and cluster
    numbers and the queue's variables become placeholders, the file's own macros their values."""

    def __init__(self, commands: dict[str, str], queue: list[str]) -> None:
        self.commands, self.queue = commands, queue
        self.used: set[str] = set()
        self.unknown: set[str] = set()

    def placed(self, text: str, depth: int = 0) -> str:
        return MACRO.sub(lambda m: self._value(m.group(1), depth), text)

    def _value(self, name: str, depth: int) -> str:
        key = name.lower()
        if key in self.queue:
            return f"{{{key}}}"
        if key in BUILT_IN_MACROS:
            return BUILT_IN_MACROS[key]
        if key in self.commands and depth < 8:
            self.used.add(key)
            return self.placed(self.commands[key], depth + 1)
        self.unknown.add(f"$({name})")
        return f"$({name})"


def _queue(draft: Draft, job: dict[str, Any], sub: Any, where: str, table: str) -> list[str]:
    """The queue statement as a sweep, and its variables (lower-cased, as the spec names them):
    `queue v from <file>` becomes sweep_from that file; `queue v in (...)` and an inline `from (...)`
    table become a sweep when their rows are every combination of their values (HTCondor's own
    reading of the items decides), and otherwise a file of the rows beside the spec, for sweep_from."""
    qargs = sub.getQArgs().strip()
    if qargs in ("", "1"):
        return []
    found = re.fullmatch(r"(?:(\d+)\s+)?(?:([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+)?(from|in)\s+(.*)", qargs,
                         re.IGNORECASE | re.DOTALL)
    if not found or (found.group(1) or "1") != "1":
        draft.lost.append(f"{where}queue {qargs}{'...)' if qargs.endswith('(') else ''} (write it as a sweep, "
                          "or a sweep_from file)")
        return []
    variables = [v.strip().lower() for v in (found.group(2) or "item").split(",")]
    items = found.group(4).strip()
    if found.group(3).lower() == "from" and not items.startswith("("):
        job["sweep_from"] = {"file": items, "variables": variables}
        return variables
    try:
        rows = [tuple(row.get(name, "") for name in _item_keys(row, variables)) for row in sub.itemdata() or ()]
    except ValueError:  # htcondor2: an empty item
        rows = []
    values = [list(dict.fromkeys(row[i] for row in rows)) for i in range(len(variables))]
    if rows and sorted(rows) == sorted(itertools.product(*values)):
        job["sweep"] = dict(zip(variables, values))
    else:
        draft.files[table] = "".join(", ".join(row) + "\n" for row in rows)
        job["sweep_from"] = {"file": table, "variables": variables}
    return variables


def _item_keys(row: dict[str, str], variables: list[str]) -> list[str]:
    """The row's keys in the queue statement's order (htcondor2 keeps the names as written)."""
    by_lower = {key.lower(): key for key in row}
    return [by_lower.get(name, name) for name in variables]


def _command(draft: Draft, job: dict[str, Any], commands: dict[str, str], macros: Macros) -> list[str]:
    """executable and arguments as one command. HTCondor transfers a relative executable itself and
    runs it from the sandbox: the spec carries it as code and runs ./name."""
    executable = commands.pop("executable", "")
    arguments = [macros.placed(a) for a in _arguments(commands.pop("arguments", ""))]
    transferred = commands.pop("transfer_executable", "true").lower() != "false"
    if not executable:
        return arguments or ["true"]
    if transferred and not executable.startswith("/"):
        if executable not in job.get("inputs", []):
            draft.spec["source"].append(executable)
        executable = f"./{executable.rsplit('/', 1)[-1]}"
    return [executable, *arguments]


def _arguments(text: str) -> list[str]:
    """HTCondor's arguments: the new syntax (double-quoted; an argument with blanks in single quotes,
    '' and "" for literal quotes), or the old one (blank-separated)."""
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"') and len(text) > 1):
        return text.split()
    words, current, quoted, started, body, index = [], "", False, False, text[1:-1].replace('""', '"'), 0
    while index < len(body):
        char = body[index]
        if char == "'" and quoted and body[index + 1:index + 2] == "'":
            current, index = current + "'", index + 2
            continue
        if char == "'":
            quoted, started = not quoted, True
        elif char in " \t" and not quoted:
            if current or started:
                words.append(current)
            current, started = "", False
        else:
            current += char
        index += 1
    if current or started:
        words.append(current)
    return words


def _environment(text: str) -> dict[str, str]:
    """The environment command: the new syntax (double-quoted, blank-separated NAME=value, values in
    single quotes when they hold blanks), or the old (NAME=value;NAME=value)."""
    text = text.strip()
    pairs = _arguments(text) if text.startswith('"') else text.split(";")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def _resources(job: dict[str, Any], commands: dict[str, str]) -> None:
    resources: dict[str, Any] = {}
    for key in ("cpus", "gpus"):
        if f"request_{key}" in commands:
            resources[key] = int(commands.pop(f"request_{key}"))
    for key in ("memory", "disk"):
        if f"request_{key}" in commands:
            resources[key] = _with_unit(commands.pop(f"request_{key}"), "MB" if key == "memory" else "KB")
    job["resources"] = resources
    gpu: dict[str, Any] = {}
    if "gpus_minimum_capability" in commands:
        gpu["min_capability"] = float(commands.pop("gpus_minimum_capability"))
    if "gpus_minimum_memory" in commands:
        gpu["min_memory"] = _with_unit(commands.pop("gpus_minimum_memory"), "MB")
    if "gpus_minimum_runtime" in commands:  # the CUDA version the driver supports: GPUs_DriverVersion
        gpu["driver"] = _version(commands.pop("gpus_minimum_runtime"))
    if "require_gpus" in commands:
        _require_gpus(gpu, commands)
    clauses = []
    for clause in _clauses(commands.pop("requirements", "")):
        driver = re.fullmatch(r"\(?\s*(?:GPUs_DriverVersion|CUDADriverVersion)\s*>=\s*([0-9]+(?:\.[0-9]+)?)\s*\)?", clause)
        if driver:
            gpu["driver"] = _version(driver.group(1))
        elif clause.replace(" ", "") != "(OpSysMajorVer>7)":
            clauses.append(clause)
    if gpu:
        job["gpu"] = gpu
    if clauses:
        job["requirements"] = clauses


# require_gpus clauses the spec's gpu keys say: (attribute of the GPU, key, value as the spec writes it).
GPU_FLOORS = {"capability": ("min_capability", float), "globalmemorymb": ("min_memory", lambda v: f"{int(float(v))}MB"),
              "driverversion": ("driver", lambda v: _version(v)), "maxsupportedversion": ("driver", lambda v: _version(v))}


def _require_gpus(gpu: dict[str, Any], commands: dict[str, str]) -> None:
    """require_gpus = (Capability >= 8.0) && (GlobalMemoryMb >= 20000): floors the spec's gpu keys
    say. A clause of another shape stays in the submit commands, and is reported as not carried."""
    expression = commands["require_gpus"]
    said = {}
    for clause in _clauses(expression):
        floor = re.fullmatch(r"\(?\s*([A-Za-z]+)\s*>=\s*([0-9]+(?:\.[0-9]+)?)\s*\)?", clause)
        if not floor or floor.group(1).lower() not in GPU_FLOORS:
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


def _classad(value: str) -> Any:
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text[1:-1].replace('\\"', '"') if text.startswith('"') and text.endswith('"') else text


def _site(draft: Draft, job: dict[str, Any], attributes: dict[str, str], commands: dict[str, str]) -> None:
    """CHTC's and the OSPool's attributes (and CHTC's want_ commands) become the site and its keys."""
    chtc = {k: attributes.pop(k) for k in ("WantGPULab", "GPUJobLength", "is_resumable") if k in attributes}
    wants = {k: commands.pop(k).lower() == "true" for k in ("want_ospool", "want_campus_pools") if k in commands}
    ospool = {} if chtc or wants else {k: attributes.pop(k) for k in ("JobDurationCategory", "ProjectName") if k in attributes}
    if chtc or wants:
        draft.spec["site"] = "chtc"
        job["chtc"] = {"gpu_lab": _classad(chtc.get("WantGPULab", "false" if wants and not chtc else "true")) is True,
                       **{k: v for k, v in wants.items() if v}}
        if "GPUJobLength" in chtc:
            job["chtc"]["job_length"] = _classad(chtc["GPUJobLength"])
        if "is_resumable" in chtc:
            job["chtc"]["resumable"] = _classad(chtc["is_resumable"]) is True
    elif ospool:
        draft.spec["site"] = "ospool"
        job["ospool"] = {}
        if "JobDurationCategory" in ospool:
            job["ospool"]["duration"] = str(_classad(ospool["JobDurationCategory"])).lower()
        if "ProjectName" in ospool:
            job["ospool"]["project"] = _classad(ospool["ProjectName"])
