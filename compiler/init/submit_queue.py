"""The queue statement of a moved-in submit file as the spec's count, sweep or sweep_from."""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Any

from ..core.foreign import ForeignFileError, link_inside, shown
from .draft import Draft
from .places import Places
from .submit_file import SubmitFile


def queue_of(draft: Draft, job: dict[str, Any], parsed: SubmitFile, table: str) -> list[str]:
    """The queue statement as a sweep, and its variables (lower-cased, as the spec names them):
    `queue v from <file>` becomes sweep_from that file; `queue v in (...)` and an inline `from (...)`
    table become a sweep when their rows are every combination of their values, and otherwise a
    file of the rows beside the spec, for sweep_from."""
    qargs = (parsed.queue or "").strip()
    where = f"{parsed.where(parsed.queue_line)}: "
    if parsed.queue is None:
        draft.lost.append(f"{shown(parsed.shown)}: no queue statement (HTCondor queues nothing without one)")
        return []
    alone = re.fullmatch(r"(\d{1,6})?", qargs)
    if alone and parsed.queue_items is None:
        if int(qargs or "1") > 1:
            job["count"] = int(qargs)
        return []
    found = re.fullmatch(
        r"(?:(\d+)\s+)?(?:([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+)?(from|in|matching)(?:\s+(.*))?",
        qargs,
        re.IGNORECASE | re.DOTALL,
    )
    if not found or len(found.group(1) or "") > 6:
        draft.lost.append(f"{where}queue {shown(qargs, 80)} (write it as a sweep, or a sweep_from file)")
        return []
    if int(found.group(1) or "1") > 1:
        job["count"] = int(found.group(1))
    variables = [v.strip().lower() for v in (found.group(2) or "item").split(",")]
    if found.group(3).lower() == "matching":
        if len(variables) != 1 or parsed.queue_items is not None:
            draft.lost.append(f"{where}queue {shown(qargs, 80)} (write it as a sweep, or a sweep_from file)")
            return []
        job["_matching"] = (variables[0], (found.group(4) or "").split())
        return variables
    if parsed.queue_items is None:
        items = (found.group(4) or "").strip()
        if found.group(3).lower() == "from" and items and not items.endswith("|"):
            job["sweep_from"] = {"file": items, "variables": variables}
            return variables
        draft.lost.append(f"{where}queue {shown(qargs, 80)} (write it as a sweep, or a sweep_from file)")
        return []
    if found.group(3).lower() == "in":
        values = [v for line in parsed.queue_items for v in re.split(r"[\s,]+", line.strip()) if v]
        rows = [(value,) + ("",) * (len(variables) - 1) for value in values]
    else:
        rows = [_row(line, len(variables)) for line in parsed.queue_items if line.strip()]
    columns = [list(dict.fromkeys(row[i] for row in rows)) for i in range(len(variables))]
    if rows and _every_combination(rows, columns):
        job["sweep"] = dict(zip(variables, columns))
    else:
        draft.files[table] = "".join(", ".join(row) + "\n" for row in rows)
        job["sweep_from"] = {"file": table, "variables": variables}
    return variables


MAX_MATCHES = 10_000


def matching(draft: Draft, job: dict[str, Any], matching: tuple[str, list[str]], places: Places, where: str) -> None:
    """`queue v matching [files|dirs] PATTERN...`: the names that match now, in the submit
    directory (inside the project; a pattern's directory part taken literally), as a sweep of v.
    HTCondor matches when the job is submitted; init says so, since a file added later needs the
    sweep edited."""
    variable, words = matching
    kind = words[0].lower() if words and words[0].lower() in ("files", "dirs") else None
    found: list[str] = []
    for pattern in words[1:] if kind else words:
        folder, _, name = pattern.rpartition("/")
        base = places.rebased(folder or ".")
        if base is None or any(c in folder for c in "*?[") or "://" in pattern:
            draft.lost.append(
                f"{where}: queue ... matching {shown(pattern, 80)} (outside the project, or a "
                "wildcard in a directory: write the sweep's values)"
            )
            return
        directory = places.root / base
        try:
            link_inside(directory, places.root)
        except ForeignFileError as error:
            draft.lost.append(f"{where}: queue ... matching {shown(pattern, 80)}: its directory {error}")
            return
        entries = sorted(os.listdir(directory)) if directory.is_dir() else []
        for entry in entries[:MAX_MATCHES]:
            path = directory / entry
            if (
                fnmatch.fnmatchcase(entry, name)
                and not entry.startswith(".")
                and not path.is_symlink()
                and (kind is None or (kind == "files") == path.is_file())
            ):
                found.append(f"{folder}/{entry}" if folder else entry)
    if not found:
        draft.lost.append(
            f"{where}: queue ... matching {shown(' '.join(words), 80)} matches nothing here (write the sweep's values)"
        )
        return
    job["sweep"] = {variable: list(dict.fromkeys(found))}
    draft.lost.append(
        f"{where}: queue ... matching: the {len(found)} names that match now are the sweep's values "
        f"(HTCondor matched at submit time: a file added later goes into the job's sweep.{variable})"
    )


def _row(line: str, variables: int) -> tuple[str, ...]:
    """One line of a `from (...)` table: fields split at commas or blanks, the last takes the rest."""
    fields = re.split(r"\s*,\s*|\s+", line.strip(), maxsplit=variables - 1)
    return tuple(fields + [""] * (variables - len(fields)))


def _every_combination(rows: list[tuple[str, ...]], columns: list[list[str]]) -> bool:
    """Whether the rows are the product of their columns' values, each once, without building the
    product: every row is in it by construction, so distinct rows as many as the product has is all."""
    size = 1
    for values in columns:
        size *= len(values)
        if size > len(rows):
            return False
    return size == len(rows) == len(set(rows))
