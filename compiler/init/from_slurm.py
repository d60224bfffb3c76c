"""`pixi-htc init --from train.sbatch`: a Slurm batch script's job as a spec.

The script stays the user's: the job runs it as it is (`bash <script>`, runtime host), so its
`module load`, `conda activate`, `source venv/bin/activate`, `srun` and `apptainer exec` lines do
what they did. Its `#SBATCH` options (read as sbatch reads them: up to the first command, split
with shlex, which never executes) become the job's resources and slurm keys; what the spec cannot
say is listed with its line.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.foreign import ForeignFileError, read_text, shown
from .draft import Draft, slug
from .places import Places

MAX_SCRIPT_BYTES = 1024 * 1024
SBATCH = re.compile(r"#SBATCH\s+(.*)")
SHORT = {"J": "job-name", "p": "partition", "A": "account", "q": "qos", "C": "constraint", "t": "time",
         "c": "cpus-per-task", "G": "gpus", "a": "array", "o": "output", "e": "error", "N": "nodes", "n": "ntasks"}
SLURM_KEYS = {"partition": "partition", "account": "account", "qos": "qos", "constraint": "constraint"}
TIME = re.compile(r"[0-9]{1,3}-[0-9]{1,2}(:[0-9]{2}){0,2}|[0-9]{1,6}(:[0-9]{2}){0,2}")
# What the generated script asks for itself: the same value here is nothing lost.
SAME = {"nodes": "1", "ntasks": "1", "ntasks-per-node": "1"}


def read_script(path: Path) -> str:
    try:
        return read_text(path, MAX_SCRIPT_BYTES, what="a Slurm batch script")
    except ForeignFileError as error:
        raise UsageError(f"{shown(path.name)}: {error}") from error


def options(text: str, where: str, lost: list[str]) -> list[tuple[int, str, str | None]]:
    """(line, long option name, value) for each #SBATCH option before the first command."""
    found: list[tuple[int, str, str | None]] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if number == 1 and stripped.startswith("#!"):
            continue
        if stripped and not stripped.startswith("#"):
            break  # sbatch reads no #SBATCH line after the first command
        match = SBATCH.match(stripped)
        if not match:
            continue
        try:
            words = shlex.split(match.group(1), comments=True)
        except ValueError as error:
            lost.append(f"{where}:{number}: #SBATCH {shown(match.group(1), 80)} ({error})")
            continue
        index = 0
        while index < len(words):
            word = words[index]
            index += 1
            if word.startswith("--"):
                name, equals, given = word[2:].partition("=")
                found.append((number, name, given if equals else None))
            elif word.startswith("-") and len(word) >= 2:
                name = SHORT.get(word[1], word[1])
                value = word[2:] or (words[index] if index < len(words) else None)
                if not word[2:] and value is not None:
                    index += 1
                found.append((number, name, value))
            elif found and found[-1][2] is None:  # `--partition gpu`: the value as the next word
                found[-1] = (found[-1][0], found[-1][1], word)
            else:
                lost.append(f"{where}:{number}: #SBATCH {shown(word, 60)} (not an option)")
    return found


def from_slurm(path: Path, root: Path) -> Draft:
    text = read_script(path)
    where = shown(path.name)
    places = Places.of(root, path.parent)
    script = places.rebased(path.name)
    if script is None:
        raise UsageError(f"{where}: the script is outside the project ({root}); run init from its repository")
    draft = Draft({"schema_version": 1, "name": slug(path.stem), "source": [script]})
    job: dict[str, Any] = {"scheduler": "slurm", "runtime": "host",
                           "command": ["bash", script.rsplit("/", 1)[-1]], "resources": {"gpus": 0}}
    slurm: dict[str, Any] = {}
    for line, name, value in options(text, where, draft.lost):
        if not _carried(job, slurm, draft, name, value):
            said = f"--{name}" + (f"={value}" if value is not None else "")
            draft.lost.append(f"{where}:{line}: #SBATCH {shown(said, 120)}")
    if slurm:
        job["slurm"] = slurm
    if re.search(r"\$\{?SLURM_SUBMIT_DIR\b", text):
        draft.lost.append(f"{where}: $SLURM_SUBMIT_DIR is now the build directory (pixi-htc submits from it); "
                          "name paths from the project root instead")
    draft.spec["jobs"] = {draft.spec["name"]: job}  # named as sbatch named it (--job-name, else the file)
    return draft


def _carried(job: dict[str, Any], slurm: dict[str, Any], draft: Draft, name: str, value: str | None) -> bool:
    resources = job["resources"]
    if value is None:
        return False
    if SAME.get(name) == value:
        return True
    if name == "job-name":
        draft.spec["name"] = slug(value)
        return True
    if name in SLURM_KEYS and re.fullmatch(r"[A-Za-z0-9_.,:=&|()\[\]*%/@+-]+", value):
        slurm[SLURM_KEYS[name]] = value
        return True
    if name == "time" and TIME.fullmatch(value) and re.search(r"[1-9]", value):
        slurm["time"] = value
        return True
    if name == "cpus-per-task" and value.isdigit():
        resources["cpus"] = int(value)
        return True
    if name in ("mem", "tmp"):
        size = re.fullmatch(r"([0-9]+)([KMGT]?)B?", value.upper())
        if size and int(size.group(1)) > 0:
            resources["memory" if name == "mem" else "disk"] = f"{size.group(1)}{size.group(2) or 'M'}B"
            return True
        return False
    if name == "gres":
        gpu = re.fullmatch(r"gpu(?::([A-Za-z0-9_.-]+))?:([0-9]+)", value)
        if gpu:
            resources["gpus"] = int(gpu.group(2))
            if gpu.group(1):
                slurm["gpu_type"] = gpu.group(1)
            return True
        return False
    if name in ("gpus", "gpus-per-node"):
        gpu = re.fullmatch(r"(?:([A-Za-z0-9_.-]+):)?([0-9]+)", value)
        if gpu:
            resources["gpus"] = int(gpu.group(2))
            slurm["gpu_option"] = "gpus"
            if gpu.group(1):
                slurm["gpu_type"] = gpu.group(1)
            return True
    return False
