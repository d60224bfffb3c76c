"""`pixi-htc init --from train.sbatch`: a Slurm batch script's job as a spec.

The script stays the user's: the job runs it as it is (`bash <script>`, runtime host), so its
`module load`, `conda activate`, `source venv/bin/activate`, `srun` and `apptainer exec` lines do
what they did. Its `#SBATCH` options (read as sbatch reads them: up to the first command, split
with shlex, which never executes) become the job's resources and slurm keys; what the spec cannot
say is listed with its line.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.foreign import ForeignFileError, link_inside, read_text, shown
from ..spec.job_key_rules import RESERVED_JOB_NAMES
from .draft import Draft, slug
from .job_origins import changed, said_keys
from .places import Places

MAX_SCRIPT_BYTES = 1024 * 1024
SBATCH = re.compile(r"#SBATCH\s+(.*)")
SHORT = {
    "J": "job-name",
    "p": "partition",
    "A": "account",
    "q": "qos",
    "C": "constraint",
    "t": "time",
    "c": "cpus-per-task",
    "G": "gpus",
    "a": "array",
    "D": "chdir",
    "o": "output",
    "e": "error",
    "N": "nodes",
    "n": "ntasks",
}
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
MAX_NAMED_FILES = 200  # entries beside the script that init links into the task directory


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
    job: dict[str, Any] = {
        "scheduler": "slurm",
        "runtime": "host",
        "command": ["bash", script.rsplit("/", 1)[-1]],
        "resources": {"gpus": 0},
    }
    slurm: dict[str, Any] = {}
    said = options(text, where, draft.lost)
    origins: dict[tuple[str, ...], int] = {}
    for line, name, value in said:
        if name in ("output", "error") and value is not None:
            continue  # below, once --job-name (which %x names) is known
        if name == "chdir" and value is not None:
            if not beside_the_script(value, places):
                draft.lost.append(
                    f"{where}:{line}: #SBATCH {shown(f'--chdir={value}', 120)} (the job runs beside the "
                    "script, with the entries there linked; cd to this directory in the script if it needs to)"
                )
            continue
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
    # Linked into the task's directory beside the script (source: linked as they are, never unpacked).
    beside = _named_files(path.parent, places)
    draft.spec["source"] += [name for name in beside if name != script]
    for entry, line in _named_dot_entries(path.parent, text):
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


def beside_the_script(directory: str, places: Places) -> bool:
    """Whether --chdir names the script's own directory, where the moved-in job runs it: relative, the
    same directory inside the project; absolute (the author's machine), a path that ends with the
    project's name and the script's directory in it (/home/alice/proj/jobs for proj/jobs)."""
    if not directory.startswith("/"):
        return places.rebased(directory) == (places.base or ".")
    tail = [places.root.name, *filter(None, places.base.split("/"))]
    parts = [part for part in directory.split("/") if part not in ("", ".")]
    return ".." not in parts and parts[-len(tail) :] == tail


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


def _named_files(directory: Path, places: Places) -> list[str]:
    """Every file and directory beside the script (where it is submitted from), as Slurm has them
    where the script runs: the job links each into its task's directory, so `python ./train.py`,
    `matlab -r svd` (svd.m) and `Rscript -e 'source("model.R")'` find theirs however the script
    names them. Not .git, the spec's directory or the build directory; nothing that leads out of the
    project (a symbolic link on the way), nor a name the spec cannot hold (a dot file); at most
    MAX_NAMED_FILES entries, in name order."""
    found: list[str] = []
    if not directory.is_dir() or not _inside(directory, places.root):
        return found
    skipped = {(directory / name).resolve() for name in (".git", "specs", "build")}
    for entry in sorted(os.listdir(directory)):
        target = directory / entry
        rebased = places.rebased(entry)
        if (
            rebased is None
            or not re.fullmatch(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*", entry)
            or target.resolve() in skipped
            or not _inside(places.root / rebased, places.root)
            or not (target.is_file() or target.is_dir())
        ):
            continue
        found.append(rebased)
        if len(found) >= MAX_NAMED_FILES:
            break
    return found


def _named_dot_entries(directory: Path, text: str) -> list[tuple[str, int]]:
    """The dot entries beside the script (`.env`, `.venv`) that its text names, each with the first
    line naming it: the job runs where they are not."""
    try:
        entries = sorted(e for e in os.listdir(directory) if e.startswith(".") and e not in (".", "..", ".git"))
    except OSError:
        return []
    found = []
    lines = text.splitlines()
    for entry in entries[:MAX_NAMED_FILES]:
        named = re.compile(rf"(?<![\w.-]){re.escape(entry)}(?![\w.-])")
        line = next((number for number, line in enumerate(lines, 1) if named.search(line)), None)
        if line is not None:
            found.append((entry, line))
    return found


def _inside(path: Path, root: Path) -> bool:
    """No symbolic link on the way from the project root to it: nothing is linked from outside."""
    try:
        link_inside(path, root)
    except ForeignFileError:
        return False
    return True
