"""Where a moved-in submit file's paths start and land: the directory condor_submit ran in, outputs
returned beside the file as HTCondor returns them, an argument naming a file of the author's checkout,
and paths a queue variable's values would lead out of the project (an absolute directory of the
author's) or that every process would write alike, left out and listed."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from ..core.foreign import ForeignFileError, read_text, shown
from ..spec.model import PLACEHOLDER, outside
from ..spec.sweep_list import MAX_LIST_BYTES, split_row
from ..spec.sweep_list import lines as sweep_lines
from .draft import Draft
from .places import Places
from .submit_file import SubmitFile


def paths_the_values_leave(
    draft: Draft, job: dict[str, Any], root: Path, parsed: SubmitFile, lines: dict[str, int]
) -> None:
    """A log, input or output whose path holds a queue variable with a value that leads out of it (an
    absolute directory of the author's: `output = $(run_dir)/out.txt`) is left out and listed with its
    line; a log goes to pixi-htc's own (build/logs/). The variable stays in the command."""
    values = _sweep_values(draft, job, root)
    leaving = {name for name, found in values.items() if any(outside(value) for value in found)}
    if not leaving:
        return

    def leaves(path: str) -> bool:
        return bool(set(PLACEHOLDER.findall(path)) & leaving)

    names = ", ".join(sorted(leaving))
    why = f"({names} holds a path of the submitting machine: pixi-htc's own place is used)"
    logs = job.get("logs", {})
    for key in [key for key, path in logs.items() if leaves(path)]:
        draft.lost.append(f"{parsed.where(lines.get(key, 0))}: {key} = {shown(logs.pop(key), 80)} {why}")
    if "logs" in job and not job["logs"]:
        del job["logs"]
    for key, command in (("inputs", "transfer_input_files"), ("outputs", "transfer_output_files")):
        kept = [path for path in job.get(key, []) if not leaves(path)]
        for path in job.get(key, []):
            if leaves(path):
                draft.lost.append(f"{parsed.where(lines.get(command, 0))}: {command} {shown(path, 80)} {why}")
        if key in job:
            job[key] = kept


def _sweep_values(draft: Draft, job: dict[str, Any], root: Path) -> dict[str, list[str]]:
    """Each queue variable's values, where init knows them: a sweep's lists, or the rows of the
    sweep_from file it wrote or the user's (bounded)."""
    if "sweep" in job:
        return {name: [str(v) for v in found] for name, found in job["sweep"].items()}
    sweep = job.get("sweep_from")
    if not sweep or not sweep.get("file") or "://" in sweep["file"]:
        return {}
    text = draft.files.get(sweep["file"])
    if text is None:
        try:
            text = read_text(root / sweep["file"], MAX_LIST_BYTES, what="a queue file", within=root)
        except ForeignFileError:
            return {}
    variables = sweep["variables"]
    rows = [split_row(line, len(variables)) for line in sweep_lines(text)]
    return {name: [row[i] for row in rows if i < len(row)] for i, name in enumerate(variables)}


def submitted_from(path: Path, root: Path, executable: str) -> Path:
    """Where condor_submit ran, which the file's relative paths start from: the submit file's own
    directory, unless its executable is found only from the working directory or the project root
    (a file in cmd/ submitted as `condor_submit cmd/job.sub` from the top)."""
    places = [path.parent.resolve(), Path.cwd().resolve(), root]
    if executable and not executable.startswith("/") and "$" not in executable:
        for place in places:
            if (place / executable).is_file() and place.is_relative_to(root):
                return place
    return places[0]


def outputs_land_beside_the_submit_file(job: dict[str, Any], places: Places) -> None:
    """HTCondor returns outputs to the directory the job was submitted from (initialdir); the
    generated .sub is submitted from build/. Outputs named alike in every process of a sweep stay
    kept apart by pixi-htc (build/outputs/), as HTCondor would have overwritten them."""
    remaps = job.setdefault("output_remaps", {})
    swept = "sweep" in job or "sweep_from" in job
    for name in job.get("outputs", []):
        if name in remaps or "://" in name or (swept and "{" not in name):
            continue
        target = places.rebased(name.rsplit("/", 1)[-1])
        if target is not None:
            remaps[name] = target
    if not remaps:
        del job["output_remaps"]


def one_name_for_every_process(draft: Draft, job: dict[str, Any], parsed: SubmitFile, lines: dict[str, int]) -> None:
    """`queue 3` (or a sweep) with `output = out.txt`: HTCondor lets each process overwrite the one
    before; the spec refuses the name. Such an output or error log, or a remap's target, is listed and
    left to pixi-htc's own (a name a process), unless a placeholder in it may tell the processes apart."""
    if not (job.get("count", 1) > 1 or "sweep_from" in job or any(len(v) > 1 for v in job.get("sweep", {}).values())):
        return
    why = "(one name for every process, each overwriting the one before: pixi-htc's own, a name a process, is used)"
    logs = job.get("logs", {})
    for key in [key for key in ("output", "error") if key in logs and not PLACEHOLDER.search(logs[key])]:
        draft.lost.append(f"{parsed.where(lines.get(key, 0))}: {key} = {shown(logs.pop(key), 80)} {why}")
    if "logs" in job and not job["logs"]:
        del job["logs"]
    remaps = job.get("output_remaps", {})
    for name in [name for name, target in remaps.items() if not PLACEHOLDER.search(name + target)]:
        draft.lost.append(
            f"{parsed.where(lines.get('transfer_output_remaps', 0))}: transfer_output_remaps {shown(name, 60)} = "
            f"{shown(remaps.pop(name), 80)} {why}"
        )
    if "output_remaps" in job and not remaps:
        del job["output_remaps"]


def author_file(job: dict[str, Any], word: str, places: Places, *, shared: bool) -> str:
    """An argument naming a file of the author's checkout by its absolute path (/home/alice/proj/run.sh):
    the project's file, named from where the job starts; read in place on a shared filesystem where
    the job transferred nothing, else transferred with it."""
    if not places.author or not word.startswith(places.author + "/"):
        return word
    path = places.rebased(word)
    if path is None or places.through_a_link(path) or not (places.root / path).is_file():
        return word
    if shared:
        job["_in_place"] = True
    elif path not in job.setdefault("inputs", []):
        job["inputs"].append(path)
    return posixpath.relpath(path, places.base or ".")
