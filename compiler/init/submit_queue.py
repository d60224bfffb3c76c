"""The queue statement of a moved-in submit file as the spec's count, sweep or sweep_from."""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any

from ..core.foreign import ForeignFileError, link_inside, read_text, shown
from ..spec.job_key_rules import MAX_SWEEP_ROWS
from ..spec.sweep_list import SEPARATOR, lines, split_row, sweep_value
from .draft import Draft
from .places import Places
from .submit_arguments import argument_words, arguments_column
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
    if parsed.extra_queues and _blocks_of_arguments(parsed):
        blocks = [argument_words(queued["arguments"].text) for _, queued in parsed.queued]
        made = arguments_column(["arguments"], [(" ".join(words),) for words in blocks]) if _columns(blocks) else ""
        if not isinstance(made, str):
            parsed.extra_queues.clear()  # one sweep of them: no queue statement is lost
            variables, rows, job["_arguments"] = made
            return _as_sweep(draft, job, variables, rows, table)
    alone = re.fullmatch(r"(\d{1,6})?", qargs)
    if alone and parsed.queue_items is None:
        if int(qargs or "1") > 1:
            job["count"] = int(qargs)
        return []
    # Variables separated by commas or blanks (`queue a, b from f`, `queue a b from f`), as condor_submit reads them.
    found = re.fullmatch(
        rf"(?:(\d+)\s+)?(?:({NAME}(?:(?:\s*,\s*|\s+){NAME})*)\s+)?(from|in|matching)(?:\s+(.*))?",
        qargs,
        re.IGNORECASE | re.DOTALL,
    )
    if not found or len(found.group(1) or "") > 6:
        draft.lost.append(f"{where}queue {shown(qargs, 80)} (write it as a sweep, or a sweep_from file)")
        return []
    if int(found.group(1) or "1") > 1:
        job["count"] = int(found.group(1))
    variables = [v.lower() for v in re.split(r"[\s,]+", found.group(2) or "item") if v]
    if found.group(3).lower() == "matching":
        if len(variables) != 1 or parsed.queue_items is not None:
            draft.lost.append(f"{where}queue {shown(qargs, 80)} (write it as a sweep, or a sweep_from file)")
            return []
        job["_matching"] = (variables[0], (found.group(4) or "").split())
        return variables
    if parsed.queue_items is None:
        items = (found.group(4) or "").strip()
        if found.group(3).lower() == "from" and "$" in items:
            items = _named_list(parsed, items)
            job["_queue_macros"] = {m.lower() for m in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", qargs)}
            if not items:
                draft.lost.append(
                    f"{where}queue {shown(qargs, 80)} (the list is named by a macro the file does not set, "
                    "given when the job is submitted: write the list's path)"
                )
                return []
        if found.group(3).lower() == "from" and items == "-":
            draft.lost.append(
                f"{where}queue {shown(qargs, 80)} (the items come from condor_submit's standard input when the "
                "job is submitted: write them to a file and queue from it, or write them as a sweep)"
            )
            return []
        if found.group(3).lower() == "from" and items and not items.endswith("|"):
            job["sweep_from"] = {"file": items, "variables": variables}
            return variables
        draft.lost.append(f"{where}queue {shown(qargs, 80)} (write it as a sweep, or a sweep_from file)")
        return []
    numbered = list(enumerate(parsed.queue_items, start=parsed.queue_items_line))
    if found.group(3).lower() == "in":
        values = [(n, v) for n, line in numbered for v in re.split(r"[\s,]+", line.strip()) if v]
        numbers = [n for n, _ in values]
        rows = [(value,) + ("",) * (len(variables) - 1) for _, value in values]
    else:
        numbers = [n for n, line in numbered if line.strip()]
        rows = [_row(line, len(variables)) for _, line in numbered if line.strip()]
    if variables == ["arguments"] and found.group(3).lower() == "from":
        return _arguments_table(draft, job, [row[0] for row in rows], table, where)
    if "arguments" in variables and found.group(3).lower() == "from":
        made = arguments_column(variables, rows)
        if isinstance(made, str):
            draft.lost.append(f"{where}queue {shown(qargs, 80)}: {made} (write the words as variables of their own)")
            return []
        variables, rows, job["_arguments"] = made
    rows = _carried(draft, parsed, variables, list(zip(numbers, rows)))
    if not rows:
        draft.lost.append(f"{where}queue {shown(qargs, 80)}: no row of its table can be carried (listed above)")
        job.pop("_arguments", None)
        return []
    return _as_sweep(draft, job, variables, rows, table)


def _as_sweep(
    draft: Draft, job: dict[str, Any], variables: list[str], rows: list[tuple[str, ...]], table: str
) -> list[str]:
    """The rows as a sweep when they are every combination of their values, else as a file beside the
    spec that sweep_from names."""
    columns = [list(dict.fromkeys(row[i] for row in rows)) for i in range(len(variables))]
    if rows and _every_combination(rows, columns):
        job["sweep"] = dict(zip(variables, columns))
    else:
        draft.files[table] = "".join(", ".join(row) + "\n" for row in rows)
        job["sweep_from"] = {"file": table, "variables": variables}
    return variables


def _blocks_of_arguments(parsed: SubmitFile) -> bool:
    """Whether every queue statement is a bare `queue` (or `queue 1`), all of them kept, and only the
    arguments differ between them: `arguments = 900` `queue` `arguments = 1500` `queue`."""
    if len(parsed.queued) != len(parsed.extra_queues) + 1 or any(q not in ("", "1") for q, _ in parsed.queued):
        return False
    first = {key: value.text for key, value in parsed.queued[0][1].items() if key != "arguments"}
    for key in ("output", "error"):  # one name for every process: each would overwrite the one before
        if key in first and not re.search(r"\$\((process|procid|jobid)\)", first[key], re.IGNORECASE):
            return False
    return all(
        {key: value.text for key, value in queued.items() if key != "arguments"} == first and "arguments" in queued
        for _, queued in parsed.queued
    )


def _named_list(parsed: SubmitFile, items: str) -> str:
    """`queue v from $(list)`: the path the file's own macro gives (one level, no further macro), or
    "" when the file does not set it (`condor_submit -append 'list = a.txt'`)."""

    def value(match: re.Match[str]) -> str:
        found = parsed.commands.get(match.group(1).lower())
        return found.text.strip() if found is not None else "$"

    named = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", value, items)
    return "" if "$" in named else named


MAX_MATCHES = 10_000
# A variable's name, never one of the queue statement's own words.
NAME = r"(?!(?:from|in|matching)\b)[A-Za-z_]\w*"
MAX_ARGUMENTS_BYTES = 16 * 1024 * 1024
MAX_ARGUMENT_WORDS = 64


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


def _carried(
    draft: Draft, parsed: SubmitFile, variables: list[str], rows: list[tuple[int, tuple[str, ...]]]
) -> list[tuple[str, ...]]:
    """The rows whose values, as HTCondor reads them, a sweep can hold; each other row is listed with
    its line and left out (a queue row has no quoting: HTCondor keeps a quote as a character)."""
    carried = []
    for number, row in rows:
        why = next(filter(None, (_why(variables, index, value) for index, value in enumerate(row))), "")
        if why:
            draft.lost.append(f"{parsed.where(number)}: {why}; this row of the queue table is left out")
        else:
            carried.append(row)
    return carried


def _why(variables: list[str], index: int, value: str) -> str:
    """Why `value`, variable `index`'s in a row, cannot be a sweep value ("" when it can)."""
    name = variables[index]
    if not value:
        return f"it gives {name} no value"
    if index == len(variables) - 1 and len(variables) > 1 and SEPARATOR.search(value):
        return f"HTCondor gives {name}, the last variable, the rest of the row: {shown(value, 60)}"
    if not sweep_value().search(value):
        return f"{name} is {shown(value, 60)} as HTCondor reads it; a sweep value holds letters, digits and . _ + - : = / @ % only"
    return ""


def _row(line: str, variables: int) -> tuple[str, ...]:
    """One line of a `from (...)` table: fields split at commas or blanks, the last takes the rest."""
    if variables == 1:  # the one variable takes the whole line (re.split's maxsplit=0 would split it all)
        return (line.strip(),)
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


def arguments_from(draft: Draft, job: dict[str, Any], root: Path, where: str, variable: str = "arguments") -> None:
    """`queue arguments from FILE`: each line is a process's whole arguments (the submit command of
    that name). The lines, split into words at blanks as HTCondor splits arguments, become variables arg1..argN
    of the same file (a sweep_from line's values are separated by blanks too), which the command
    takes in order; a file whose lines differ in their number of words, or quote a word, is reported."""
    sweep = job.get("sweep_from")
    if not sweep or sweep["variables"] != [variable] or not sweep["file"]:
        return
    whole = variable == "arguments"  # the command's whole arguments; else one word of them ($(args))
    try:
        text = read_text(root / sweep["file"], MAX_ARGUMENTS_BYTES, what="a queue file", within=root)
    except ForeignFileError as error:
        draft.lost.append(
            f"{where}queue {variable} from {shown(sweep['file'], 80)}: {error}"
            + ("" if whole else " (condor_submit splits each line into arguments: the job gets the line as one word)")
        )
        if whole:
            del job["sweep_from"]
        return
    lines = [line for line in text.splitlines() if line.strip()]
    words = [line.split() for line in lines]
    if not _as_columns(draft, words, lines, where):
        if whole:
            del job["sweep_from"]
        return
    count = len(words[0])
    if count == 1 and not whole:
        return  # a word a line: the variable as it is
    prefix = "arg" if whole else variable
    sweep["variables"] = [f"{prefix}{i}" for i in range(1, count + 1)]
    placeholders = [f"{{{prefix}{i}}}" for i in range(1, count + 1)]
    if whole:
        job["_arguments"] = placeholders
    else:
        job["_row_words"] = (f"{{{variable}}}", placeholders)


def list_rows(draft: Draft, job: dict[str, Any], root: Path, table: str, where: str) -> None:
    """`queue v from FILE`, the user's own list: where some of its rows, as HTCondor reads them, a sweep
    cannot hold, each is listed at its line and the rest are written to `table` beside the spec, which
    sweep_from names instead (said, with both names: the user's list is not read again). A file init
    cannot read is left to build, which says why."""
    sweep = job.get("sweep_from")
    if not sweep or not sweep["file"] or sweep["file"] in draft.files or "://" in sweep["file"]:
        return
    try:
        text = read_text(root / sweep["file"], MAX_ARGUMENTS_BYTES, what="a queue file", within=root)
    except ForeignFileError as error:
        if error.kind != "missing":  # a list made at submit time builds; one that cannot be read does not
            draft.lost.append(f"{where}queue ... from {shown(sweep['file'], 80)}: the list {error}")
            del job["sweep_from"]
        return
    variables, listed = sweep["variables"], shown(sweep["file"], 80)
    rows = [(number, split_row(line, len(variables))) for number, line in enumerate(lines(text), start=1)]
    rows = [(number, row + ("",) * (len(variables) - len(row))) for number, row in rows]
    if len(rows) > MAX_SWEEP_ROWS:
        return  # build says so, at the line past the bound
    kept = []
    for number, row in rows:
        why = next(filter(None, (_why(variables, index, value) for index, value in enumerate(row))), "")
        if why:
            draft.lost.append(f"{listed}:{number}: {why}; this row of the list is left out")
        else:
            kept.append(row)
    if len(kept) == len(rows):
        return
    if not kept:
        draft.lost.append(f"{where}queue ... from {listed}: no row of the list can be carried (listed above)")
        del job["sweep_from"]
        return
    draft.files[table] = "".join(", ".join(row) + "\n" for row in kept)
    sweep["file"] = table
    draft.lost.append(
        f"{where}queue ... from {listed}: its other rows are in {shown(table, 80)}, which sweep_from names "
        f"({listed} is not read again: edit that file, or mend {listed} and name it again)"
    )


def _arguments_table(draft: Draft, job: dict[str, Any], lines: list[str], table: str, where: str) -> list[str]:
    """`queue arguments from (...)`: the rows as a file of columns arg1..argN beside the spec."""
    words = [line.split() for line in lines if line.strip()]
    if not _as_columns(draft, words, lines, where):
        return []
    count = len(words[0])
    variables = [f"arg{i}" for i in range(1, count + 1)]
    draft.files[table] = "".join(" ".join(row) + "\n" for row in words)
    job["sweep_from"] = {"file": table, "variables": variables}
    job["_arguments"] = [f"{{{name}}}" for name in variables]
    return variables


def _columns(words: list[list[str]]) -> bool:
    """Whether every row holds as many words, each a plain one a sweep value may be."""
    counts = {len(row) for row in words}
    plain = all(re.fullmatch(r"[A-Za-z0-9._+:=/@%-]{1,200}", w) for row in words for w in row)
    return bool(words) and len(counts) == 1 and 0 < len(words[0]) <= MAX_ARGUMENT_WORDS and plain


def _as_columns(draft: Draft, words: list[list[str]], lines: list[str], where: str) -> bool:
    """Whether every line splits into the same number of plain words (a sweep_from line's values)."""
    if _columns(words) and len(words) == len(lines):
        return True
    draft.lost.append(
        f"{where}queue arguments from ...: its lines differ in their number of words, or hold quotes or "
        "other characters a sweep value cannot (write the words as variables: queue a, b from FILE)"
    )
    return False
