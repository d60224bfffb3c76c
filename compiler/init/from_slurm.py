"""`pixi-htc init --from train.sbatch`: a Slurm batch script's job as a spec.

The script stays the user's: the job runs it as it is (`bash <script>`, runtime host), so its
`module load`, `conda activate`, `source venv/bin/activate`, `srun` and `apptainer exec` lines do
what they did. Its `#SBATCH` options (read as sbatch reads them: up to the first command, split
with shlex, which never executes) become the job's resources and slurm keys; what the spec cannot
say is listed with its line.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.foreign import shown
from ..spec.job_key_rules import RESERVED_JOB_NAMES
from .draft import Draft, slug
from .fits import fits
from .job_origins import changed, said_keys
from .places import Places
from .slurm_script import (
    MAX_NAMED_FILES,
    named_dot_entries,
    named_files,
    named_paths,
    options,
    read_script,
    submitted_from,
    working_directory,
)

SLURM_KEYS = {"partition": "partition", "account": "account", "qos": "qos", "constraint": "constraint"}
# Slurm reads each field after the first with one digit or two (48:0:00, 2-0:0:0).
TIME = re.compile(r"[0-9]{1,3}-[0-9]{1,2}(:[0-9]{1,2}){0,2}|[0-9]{1,6}(:[0-9]{1,2}){0,2}")
# What the generated script asks for itself: the same value here is nothing lost.
SAME = {"nodes": "1", "ntasks": "1", "ntasks-per-node": "1", "open-mode": "append"}
ARRAY = re.compile(
    r"[0-9]{1,7}(-[0-9]{1,7}(:[0-9]{1,7})?)?(,[0-9]{1,7}(-[0-9]{1,7}(:[0-9]{1,7})?)?){0,63}(%[0-9]{1,6})?"
)
SIGNAL = re.compile(r"((B|R|BR|RB):)?(SIG)?(USR1|USR2|TERM|INT|HUP|QUIT|ALRM|URG|CONT)(@[0-9]{1,5})?")
MAIL_TYPES = {
    "NONE",
    "BEGIN",
    "END",
    "FAIL",
    "REQUEUE",
    "ALL",
    "INVALID_DEPEND",
    "STAGE_OUT",
    "TIME_LIMIT",
    "TIME_LIMIT_90",
    "TIME_LIMIT_80",
    "TIME_LIMIT_50",
    "ARRAY_TASKS",
}
ADDRESS = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63}){1,8}")
# slurm.output's schema pattern, and one of Slurm's % fields (group 2: its letter).
LOG_PATTERN = re.compile(
    r"(?![0-9]+$)((?!\.\.?/)[A-Za-z0-9._+-]{1,100}/){0,16}(?!\.\.?$)([A-Za-z0-9._+-]|%%|%[0-9]?[AabJjNnstux]){1,100}"
)
LOG_FIELD = re.compile(r"%(%|[0-9]?([A-Za-z]))")
LOG_LITERAL = re.compile(r"[A-Za-z0-9._+-]{1,100}")


def from_slurm(path: Path, root: Path) -> Draft:
    text = read_script(path)
    where = shown(path.name)
    if not path.resolve().is_relative_to(root):
        raise UsageError(f"{where}: the script is outside the project ({root}); run init from its repository")
    lost: list[str] = []
    said = options(text, where, lost)
    named = named_paths(text)
    submitted = submitted_from(path, root, [word for _, word in named])
    chdir = next(((line, value) for line, name, value in said if name == "chdir" and value is not None), None)
    ran_in = working_directory(chdir[1], submitted, root) if chdir else None
    if chdir and ran_in is None:
        lost.append(
            f"{where}:{chdir[0]}: #SBATCH {shown(f'--chdir={chdir[1]}', 120)} (not a directory of this project: "
            "the job runs where the script was submitted from; cd there in the script if it needs to)"
        )
    submitted = ran_in or submitted
    places = Places.of(root, submitted)
    script = places.rebased(os.path.relpath(path.resolve(), submitted).replace(os.sep, "/"))
    if script is None:
        raise UsageError(f"{where}: the script is outside the project ({root}); run init from its repository")
    if not fits(script, "properties/source/items"):
        raise UsageError(
            f"{where}: a spec names files by paths of letters, digits and . _ + - @ (a source entry); rename the "
            "script (git mv) and move it in again"
        )
    draft = Draft({"schema_version": 1, "name": slug(path.stem), "source": [script]})
    draft.lost += lost
    job: dict[str, Any] = {
        "scheduler": "slurm",
        "runtime": "host",
        # The script is linked into the task's directory under its name, beside the entries of the
        # directory it was submitted from (or --chdir's).
        "command": ["bash", path.name],
        "resources": {"gpus": 0},
    }
    for line, word in named:
        normal = posixpath.normpath(word)
        if normal == ".." or normal.startswith("../"):
            draft.lost.append(
                f"{where}:{line}: {shown(word, 80)} leads out of the directory the job runs in (the entries of "
                f"{shown(places.base or '.', 80)} are linked into the task's; name it from there, or by its absolute path)"
            )
    slurm: dict[str, Any] = {}
    origins: dict[tuple[str, ...], int] = {}
    for line, name, value in said:
        if name in ("output", "error") and value is not None:
            continue  # below, once --job-name (which %x names) is known
        if name == "chdir":
            continue  # above: where the job runs
        before = said_keys(job, slurm)
        if _carried(job, slurm, draft, name, value):
            origins |= dict.fromkeys(changed(before, said_keys(job, slurm)), line)
        else:
            shown_option = f"--{name}" + (f"={value}" if value is not None else "")
            draft.lost.append(f"{where}:{line}: #SBATCH {shown(shown_option, 120)}")
    # sbatch names a job after its script's file when no --job-name says otherwise.
    sbatch_name = next((value for _, name, value in said if name == "job-name" and value), path.name)
    for line, name, value in said:
        if name in ("output", "error") and value is not None:
            carried, why = log_name(value, places, sbatch_name, draft.spec["name"])
            if carried is None:
                draft.lost.append(f"{where}:{line}: #SBATCH {shown(f'--{name}={value}', 120)} ({why})")
            else:
                slurm[name] = carried
                origins[("slurm", name)] = line
    if not any(name in ("mem", "mem-per-cpu", "mem-per-gpu") for _, name, _ in said):
        slurm["memory_option"] = "none"  # the partition's default, as the script had it
    if slurm:
        job["slurm"] = slurm
    if re.search(r"\$\{?SLURM_SUBMIT_DIR\b", text):
        # The script cds to where it was submitted to find its files: they are linked in the task's directory.
        slurm["submit_dir"] = "task"
        job["slurm"] = slurm
    # Linked into the task's directory as they were where sbatch ran (source: linked, never unpacked).
    beside = named_files(submitted, places)
    draft.spec["source"] += [name for name in beside if name != script]
    # A script in a directory linked whole (jobs/train.sh, submitted from the top) runs from there, as
    # sbatch ran it; linked again under its own name it could meet a file of that name at the top.
    within = os.path.relpath(path.resolve(), submitted).replace(os.sep, "/")
    top = places.rebased(within.split("/", 1)[0])
    if "/" in within and not within.startswith("../") and top in beside:
        job["command"] = ["bash", within]
        draft.spec["source"].remove(script)
    for entry, line in named_dot_entries(path.parent, text):
        draft.lost.append(
            f"{where}:{line}: {shown(entry, 60)} is not linked where the job runs (a dot entry, often a "
            "secret or this machine's environment, is never made source: name it by its absolute path)"
        )
    if len(beside) >= MAX_NAMED_FILES:
        draft.lost.append(
            f"{where}: the first {MAX_NAMED_FILES} entries beside the script are linked where it runs "
            "(add others to source)"
        )
    # Named as sbatch named it (--job-name, else the file), unless pixi-htc writes a script of that name.
    name = draft.spec["name"]
    name = f"{name}-job" if name in RESERVED_JOB_NAMES else name
    draft.spec["jobs"] = {name: job}
    draft.origins |= {("jobs", name, *key): f"{where}:{line}" for key, line in origins.items()}
    return draft


def log_name(value: str, places: Places, sbatch_name: str, job_name: str) -> tuple[str | None, str]:
    """An --output / --error pattern as slurm.output / slurm.error name it: relative to the project
    root (sbatch read it relative to where the script was submitted: its directory), %x written out
    where the job's name here is not the one sbatch gave it; or None and why not."""
    if "\\" in value:
        return None, "a '\\' turns Slurm's % fields off; pixi-htc's log names keep them"
    rebased = places.rebased(value)
    if rebased is None or "://" in value:
        return None, "outside the project; slurm.output and slurm.error name a file inside it"
    directory, _, file = rebased.rpartition("/")
    literal = LOG_LITERAL.fullmatch(sbatch_name) is not None
    if literal:
        directory = LOG_FIELD.sub(lambda m: sbatch_name if m.group(2) == "x" else m.group(0), directory)
        if sbatch_name != job_name:
            file = LOG_FIELD.sub(lambda m: sbatch_name if m.group(2) == "x" else m.group(0), file)
    elif "x" in {m.group(2) for m in LOG_FIELD.finditer(rebased)}:
        return None, f"%x, the job name '{shown(sbatch_name, 60)}', cannot be part of a file name here"
    carried = f"{directory}/{file}" if directory else file
    if "%" in directory:
        return None, "a % field in a directory: pixi-htc submit makes the directory before the job has an id"
    if not LOG_PATTERN.fullmatch(carried):
        return None, "not a name slurm.output can hold: letters, digits, . _ + - and Slurm's % fields"
    return carried, ""


def _carried(job: dict[str, Any], slurm: dict[str, Any], draft: Draft, name: str, value: str | None) -> bool:
    resources = job["resources"]
    if name in ("requeue", "no-requeue") and value is None:
        slurm["requeue"] = name == "requeue"
        return True
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
    if name in ("ntasks", "ntasks-per-node") and value.isdigit() and 1 < int(value) <= 4096:
        if slurm.get("ntasks", int(value)) != int(value):
            return False  # --ntasks=8 and --ntasks-per-node=2 on one node: not one number; listed
        slurm["ntasks"] = int(value)  # on one node (a --nodes over 1 is listed): the same tasks
        return True
    if name == "time" and TIME.fullmatch(value) and re.search(r"[1-9]", value):
        slurm["time"] = value
        return True
    if name in ("cpus-per-task", "cpus-per-gpu") and value.isdigit() and int(value) > 0:
        resources["cpus"] = int(value)
        if name == "cpus-per-gpu":
            slurm["cpu_option"] = name
        return True
    if name in ("mem", "mem-per-cpu", "tmp"):
        size = re.fullmatch(r"([0-9]+)([KMGT]?)B?", value.upper())
        if size and int(size.group(1)) > 0:
            resources["disk" if name == "tmp" else "memory"] = f"{size.group(1)}{size.group(2) or 'M'}B"
            if name == "mem-per-cpu":
                slurm["memory_option"] = name
            return True
        return False
    if name == "array" and ARRAY.fullmatch(value):
        slurm["array"] = value
        return True
    if name == "signal" and SIGNAL.fullmatch(value):
        slurm["signal"] = value
        return True
    if name == "mail-type" and set(value.upper().split(",")) <= MAIL_TYPES:
        slurm["mail_type"] = value.upper()
        return True
    if name == "mail-user" and ADDRESS.fullmatch(value):
        slurm["mail_user"] = value
        return True
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
            slurm["gpu_option"] = name
            if gpu.group(1):
                slurm["gpu_type"] = gpu.group(1)
            return True
    return False
