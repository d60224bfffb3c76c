"""A process's metrics file (one JSON line per epoch, as the bundled trainer writes them), read as
the hostile data it is: it comes back from an execute machine nobody here controls.

- It is read only through foreign.read_bytes, inside the project root: a regular file reached
  without a symbolic link (a link, a FIFO, a device or a directory is refused, a FIFO without
  blocking), at most METRICS_LIMIT (16 MiB) of it, lines of at most LINE_LIMIT (64 KiB), at most
  MAX_EPOCHS (100,000) epochs. A file over a limit is reported for its process, never read whole.
- A line that is not a JSON object with an integer "epoch" (0 to MAX_EPOCH; not JSON, nested too
  deeply, an array, a number) makes its file unreadable (MetricsError, `file:line: why`).
- A value of a watched column that is not a finite number (a string, null, a boolean, a list, an
  object, NaN, Infinity, an integer too large for a float) is missing for that epoch and listed as
  `file:line: why` (a diverged run writes NaN losses).
- Foreign text reaches the terminal only through foreign.shown() (by way of text(), below).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.foreign import SHOWN_CHARS, ForeignFileError, MiB, read_bytes, shown

# The columns results shows, and the values each file's lines are checked for.
COLUMNS = ("epochs", "accuracy", "test_loss", "train_loss", "seconds", "samples_per_second")

METRICS_LIMIT = 16 * MiB  # one ~200-byte line per epoch: 80,000 epochs
LINE_LIMIT = 64 * 1024
MAX_EPOCHS = 100_000  # distinct epochs kept per file: bounds the memory the records take
MAX_EPOCH = 10**9  # an epoch number beyond this is not one (and would overflow a plot's axis)
MAX_DIGITS = 400  # an integer of more digits overflows a float: parsed as HugeInteger
MAX_PROBLEMS = 5  # value problems listed per file; the rest are counted

Record = dict[str, float]  # "epoch" (an int) and the columns that are finite numbers


class MetricsError(Exception):
    """A metrics file that cannot be read; the message names the file and line."""


@dataclass
class Metrics:
    """What one metrics file holds, once read."""

    records: list[Record]
    note: str  # "" or "its last line is still being written"
    problems: list[str]  # `file:line: why` for values left out (at most MAX_PROBLEMS)
    more_problems: int  # how many more there were
    keys: frozenset[str]  # the keys with a number in the last epoch's line (for "it has: ...")


def text(value: object, limit: int = SHOWN_CHARS) -> str:
    """Foreign text to print: foreign.shown, with a lone surrogate (a JSON "\\ud800" in a key, an
    undecodable byte in an argument) escaped first, since printing one raises."""
    return shown(str(value).encode("utf-8", "backslashreplace").decode("utf-8"), limit)


class HugeInteger:
    """A JSON integer of more digits than any float holds: json.loads would refuse the whole line
    (Python's 4300-digit limit), so it is parsed as this, and is a missing value like any other."""


def _integer(digits: str) -> int | HugeInteger:
    return int(digits) if len(digits) <= MAX_DIGITS else HugeInteger()


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None  # a sum of huge values overflows to inf


def _is_finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**1023


def _number_or_why(value: object) -> tuple[float | None, str]:
    """A JSON value as a finite float, or why it is not one (without repr: a nested list could
    exceed the recursion limit)."""
    if isinstance(value, bool):
        return None, f"{str(value).lower()}, not a number"
    if isinstance(value, HugeInteger):
        return None, "an integer too large for a float"
    if isinstance(value, int):
        try:
            return float(value), ""
        except OverflowError:
            return None, "an integer too large for a float"
    if isinstance(value, float):
        return (value, "") if math.isfinite(value) else (None, f"{value}, not a finite number")
    if isinstance(value, str):
        return None, f"a string ({text(repr(value[:40]))}), not a number"
    return None, {type(None): "null", list: "a list", dict: "an object"}.get(type(value), "not a number")


def read_metrics(path: Path, shown_as: str, *, within: Path | None = None) -> tuple[list[Record], str]:
    """The records, one per epoch, and a note (see read_file); raises MetricsError."""
    metrics = read_file(path, shown_as, within=within)
    return metrics.records, metrics.note


def read_file(path: Path, shown_as: str, *, within: Path | None = None, watched: tuple[str, ...] = COLUMNS) -> Metrics:
    """One metrics file, bounded (see the module's docstring). A later line for an epoch wins (a
    process resumed from a checkpoint may repeat one). A last line without its newline is a process
    still writing: left out, and said. Values of `watched` keys that are not finite numbers are
    left out and listed. An unreadable file or line raises MetricsError, naming `shown_as` (and the line)."""
    try:
        read = read_bytes(path, METRICS_LIMIT, within=within)
    except ForeignFileError as error:
        raise MetricsError(f"{shown_as}: {error}") from None
    assert read is not None
    if read.cut:
        raise MetricsError(
            f"{shown_as}: is over {METRICS_LIMIT // MiB} MiB; a metrics file is read only up to that size"
        )
    note = ""
    by_epoch: dict[int, Record] = {}
    problems: list[str] = []
    more = 0
    last: tuple[int, frozenset[str]] = (-1, frozenset())
    for number, raw in _lines(read.data):
        if not raw.endswith(b"\n"):
            note = "its last line is still being written"
            break
        parsed = _parse(raw, f"{shown_as}:{number}")
        if parsed is None:
            continue
        epoch, record = parsed
        clean: Record = {"epoch": epoch}
        for key in watched:
            if key == "epoch" or key not in record:
                continue
            value, why = _number_or_why(record[key])
            if value is not None:
                clean[key] = value
            elif len(problems) < MAX_PROBLEMS:
                problems.append(f"{shown_as}:{number}: {text(key, 40)} is {why}: left out (shown as missing)")
            else:
                more += 1
        by_epoch[epoch] = clean
        if len(by_epoch) > MAX_EPOCHS:
            raise MetricsError(
                f"{shown_as}:{number}: more than {MAX_EPOCHS} epochs; a metrics file is read only up to that"
            )
        if epoch >= last[0]:
            last = (epoch, frozenset(k for k, v in record.items() if k != "epoch" and _is_finite(v)))
    records = [by_epoch[e] for e in sorted(by_epoch)]
    return Metrics(records=records, note=note, problems=problems, more_problems=more, keys=last[1])


# A line that holds more than ASCII blanks (up to its newline, if it has one).
FILLED_LINE = re.compile(rb"^[ \t\r\f\v]*[^\s][^\n]*\n?", re.MULTILINE)


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The lines that hold more than blanks, with their numbers. The blank ones are skipped and counted
    by the regular expression engine: a file of millions of empty lines costs no Python loop over them,
    and never becomes a list of them."""
    number, position = 1, 0
    for match in FILLED_LINE.finditer(data):
        number += data.count(b"\n", position, match.start())
        position = match.start()
        yield number, match.group()


def _parse(raw: bytes, where: str) -> tuple[int, dict[str, object]] | None:
    """One line as its epoch and the JSON object it is; None for a blank line."""
    if len(raw) > LINE_LIMIT:
        raise MetricsError(
            f"{where}: the line is over {LINE_LIMIT // 1024} KiB; a metrics line is read only up to that"
        )
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MetricsError(f"{where}: not UTF-8 text (byte {error.start + 1})") from None
    if not line.strip():
        return None
    quoted = text(repr(line.rstrip("\n")[:60]))
    try:
        record = json.loads(line, parse_int=_integer)
    except RecursionError:  # json's parser recurses once per level of nesting
        raise MetricsError(f"{where}: not a JSON line (nested too deeply): {quoted}") from None
    except json.JSONDecodeError as error:
        raise MetricsError(f"{where}: not a JSON line ({error.msg}): {quoted}") from None
    epoch = record.get("epoch") if isinstance(record, dict) else None
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= MAX_EPOCH:
        raise MetricsError(
            f'{where}: each line must be a JSON object with an integer "epoch" (0 to {MAX_EPOCH}): {quoted}'
        )
    return epoch, record
