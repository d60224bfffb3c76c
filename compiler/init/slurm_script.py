"""A Slurm batch script read as sbatch reads it, never run: its `#SBATCH` options (up to the first
command, split with shlex), the relative paths its commands name, the directory it was submitted
from (or --chdir's), and the entries there that the moved-in job links where it runs."""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from pathlib import Path

from ..core.errors import UsageError
from ..core.foreign import ForeignFileError, link_inside, read_text, shown
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
MAX_NAMED_FILES = 200  # entries beside the script that init links into the task directory
MAX_SCRIPT_LINES = 10_000  # lines of a script looked through for the paths it names
MAX_WORDS = 2_000  # path-like words taken from them


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


# A word of a command that names a file by a relative path: with a / in it, or a name with a suffix.
PATH_WORD = re.compile(r"(?:\.\.?/)*[A-Za-z0-9_+-][A-Za-z0-9_.+-]*(?:/[A-Za-z0-9_.+-]+)*/?")


def named_paths(text: str) -> list[tuple[int, str]]:
    """(line, word) for the relative paths the script's commands name (`python src/train.py`,
    `--config=configs/a.yaml`, `../image.sif`); split as the shell would, never run."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines()[:MAX_SCRIPT_LINES], 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError:
            words = stripped.split()
        for word in words[:MAX_WORDS]:
            word = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
            if ("/" in word or "." in word.strip(".")) and PATH_WORD.fullmatch(word) and len(found) < MAX_WORDS:
                found.append((number, word))
    return found


def submitted_from(path: Path, root: Path, words: list[str]) -> Path:
    """Where sbatch ran, which the script's relative paths start from: the script's own directory,
    unless more of the paths it names are found from the directory init runs in or the project root
    (a script in jobs/ submitted as `sbatch jobs/train.sh` from the top)."""
    places = [path.parent.resolve(), Path.cwd().resolve(), root]

    def found(place: Path) -> int:
        if not place.is_relative_to(root):
            return -1
        inside = [word for word in words if not posixpath.normpath(word).startswith("..")]  # never looks out
        return sum(1 for word in inside if os.path.lexists(place / word))

    return max(places, key=found)  # the first of the most: the script's directory on a tie


def working_directory(directory: str, submitted: Path, root: Path) -> Path | None:
    """The project's directory that --chdir names, or None: relative, from where sbatch ran; absolute
    (the author's machine), the part after the project's own name (/home/alice/proj/jobs is jobs/
    of a checkout named proj). Never out of the project."""
    if directory.startswith("/"):
        parts = [part for part in directory.split("/") if part not in ("", ".")]
        if root.name not in parts or ".." in parts:
            return None
        last = len(parts) - 1 - parts[::-1].index(root.name)
        found = root.joinpath(*parts[last + 1 :])
    else:
        found = (submitted / directory).resolve()
    return found if found.is_relative_to(root) and found.is_dir() and _inside(found, root) else None


def named_files(directory: Path, places: Places) -> list[str]:
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


def named_dot_entries(directory: Path, text: str) -> list[tuple[str, int]]:
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
