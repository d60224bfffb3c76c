"""`pixi-htc results`: each process's metrics (one JSON line per epoch, as the bundled trainer writes
them) gathered from where the job's scheduler says they land (Scheduler.outputs: the generated
transfer_output_remaps on HTCondor, each task's directory on Slurm), into one table: a CSV, a
terminal table, the best combination by a metric the user picks, and PNG plots (plots.py).

Every metrics file is hostile data: it comes back from an execute machine nobody here controls.

- It is read only through foreign.read_bytes, inside the project root: a regular file reached
  without a symbolic link (a link, a FIFO, a device or a directory is refused, a FIFO without
  blocking), at most METRICS_LIMIT (16 MiB) of it, lines of at most LINE_LIMIT (64 KiB), at most
  MAX_EPOCHS (100,000) epochs. A file over a limit is reported for its process, never read whole.
- A line that is not a JSON object with an integer "epoch" (0 to MAX_EPOCH; not JSON, nested too
  deeply, an array, a number) makes its file unreadable: `file:line: why` in that process's row,
  exit 2; the other processes are still shown.
- A value of a column (or of --metric) that is not a finite number (a string, null, a boolean, a
  list, an object, NaN, Infinity, an integer too large for a float) is missing for that epoch and
  reported as `file:line: why`; the exit status stays 0 (a diverged run writes NaN losses). A
  missing value is "-" in the table and an empty CSV cell, never 0, and is never ranked best. A
  run's time is the sum of its epochs' `seconds` only when every epoch has one; its throughput is
  averaged over the epochs that have both `seconds` and `samples_per_second`.
- Foreign text reaches the terminal only through foreign.shown() (by way of text(), below).
- The CSV and the plots are written atomically (a temporary file in the same directory, then
  os.replace) and never through a symbolic link (compiler/pipeline/safe_write.py): not the file itself,
  nor any directory between the project root and it (for a --plots directory outside the
  project, the user's own choice: that directory and the files). A refusal is a message per file on stderr (`path: not written:
  why`), the link's target is left as it was, and the exit status is 2.
- A CSV cell that starts with = + - @, a tab, CR or LF, or with = + - @ after leading whitespace,
  gets a leading ' (OWASP's rule against CSV injection), except a plain decimal number such as
  -0.5 (a sweep value, or a number pixi-htc formats): no spreadsheet reads one as a formula, and
  it stays a number.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts.base import Compiled
from ..core.errors import EXIT_INVALID, EXIT_OK, UsageError
from ..core.foreign import SHOWN_CHARS, ForeignFileError, MiB, read_bytes, shown
from ..pipeline.safe_write import link_on_the_way, shown_path, write_safely
from ..schedulers import SCHEDULERS
from ..spec.model import Job

COLUMNS = ("epochs", "accuracy", "test_loss", "train_loss", "seconds", "samples_per_second")
LOWER_IS_BETTER = re.compile(r"loss|error|seconds|time|duration|memory", re.I)

METRICS_LIMIT = 16 * MiB  # one ~200-byte line per epoch: 80,000 epochs
LINE_LIMIT = 64 * 1024
MAX_EPOCHS = 100_000  # distinct epochs kept per file: bounds the memory the records take
MAX_EPOCH = 10**9  # an epoch number beyond this is not one (and would overflow a plot's axis)
MAX_DIGITS = 400  # an integer of more digits overflows a float: parsed as HugeInteger
MAX_PROBLEMS = 5  # value problems listed per file; the rest are counted
# A cell left as it is although it starts with "-": a plain decimal number, never a formula.
PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

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


@dataclass
class Run:
    """One process's metrics file, read."""

    job: Job
    cluster: int
    proc: int
    path: Path | None
    shown: str  # the file, relative to the project root, safe to print
    records: list[Record] = field(default_factory=list)
    note: str = ""  # "no output yet", "still being written", an error
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0
    keys: frozenset[str] = frozenset()
    id: str = ""  # the process as its scheduler names it (4242.3, 1234_3); default cluster.proc
    column: str = "cluster"  # the CSV's name for the submission's number
    kind: str = "cluster"  # what the scheduler calls a submission

    def __post_init__(self) -> None:
        self.id = self.id or f"{self.cluster}.{self.proc}"

    @property
    def values(self) -> tuple[str, ...]:
        return self.job.sweep_rows[self.proc] if self.proc < len(self.job.sweep_rows) else ()

    @property
    def label(self) -> str:
        return ", ".join(f"{n}={v}" for n, v in zip(self.job.sweep_variables, self.values)) or f"process {self.proc}"

    def final(self, metric: str) -> float | None:
        """The run's value of a metric: None when it is missing (never 0), and never a non-finite number."""
        if not self.records:
            return None
        if metric == "epochs":
            return float(len(self.records))
        if metric == "seconds":
            times = [r.get("seconds") for r in self.records]
            return _finite_or_none(sum(times)) if all(t is not None for t in times) else None  # type: ignore[arg-type]
        if metric == "samples_per_second":
            pairs = [
                (r["samples_per_second"], r["seconds"])
                for r in self.records
                if "samples_per_second" in r and "seconds" in r
            ]
            seconds = sum(s for _, s in pairs)
            samples = sum(rate * s for rate, s in pairs)
            return _finite_or_none(samples / seconds) if seconds > 0 and math.isfinite(seconds) else None
        value = self.records[-1].get(metric)
        return None if value is None else _finite_or_none(value)


def text(value: object, limit: int = SHOWN_CHARS) -> str:
    """Foreign text to print: foreign.shown, with a lone surrogate (a JSON "\\ud800" in a key, an
    undecodable byte in an argument) escaped first, since printing one raises."""
    return shown(str(value).encode("utf-8", "backslashreplace").decode("utf-8"), limit)


class HugeInteger:
    """A JSON integer of more digits than any float holds: json.loads would refuse the whole line
    (Python's 4300-digit limit), so it is parsed as this, and is a missing value like any other."""


def _integer(digits: str) -> int | HugeInteger:
    return int(digits) if len(digits) <= MAX_DIGITS else HugeInteger()


def _finite_or_none(value: float) -> float | None:
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


def gather(
    compiled: Compiled, job: Job, *, metrics_file: str, cluster: int | None, metric: str = "accuracy"
) -> list[Run] | None:
    """One Run per process of the job's newest (or given) submission; None when the job has no such output."""
    landing = SCHEDULERS[job.scheduler].outputs(compiled, job, metrics_file, submission=cluster)
    if landing is None:
        return None
    chosen = landing.submission
    watched = COLUMNS if metric in COLUMNS else (*COLUMNS, metric)
    runs = []
    for proc in range(max(len(job.sweep_rows), 1)):
        path = landing.files.get(proc)
        name = path.relative_to(compiled.root).as_posix() if path else landing.expected(proc)
        run = Run(
            job=job,
            cluster=chosen if chosen is not None else -1,
            proc=proc,
            path=path,
            shown=text(name),
            id=landing.label(proc),
            column=landing.column,
            kind=landing.kind,
        )
        if path is None:
            run.note = "no output yet"
        else:
            try:
                metrics = read_file(path, run.shown, within=compiled.root, watched=watched)
            except MetricsError as error:
                run.note = f"unreadable: {error}"
            else:
                run.records, run.note, run.keys = metrics.records, metrics.note, metrics.keys
                run.problems, run.more_problems = metrics.problems, metrics.more_problems
        runs.append(run)
    return runs


def better(metric: str, higher: bool | None) -> bool:
    """Whether higher is better: the flag, else the metric's name (loss, error, time: lower)."""
    return higher if higher is not None else not LOWER_IS_BETTER.search(metric)


def best(runs: list[Run], metric: str, higher: bool) -> Run | None:
    """The best run by a metric; a missing or non-finite value is never best."""
    scored = [(run.final(metric), run.proc, run) for run in runs]
    scored = [(value, proc, run) for value, proc, run in scored if value is not None and math.isfinite(value)]
    if not scored:
        return None
    if higher:  # ties go to the lowest process
        return max(scored, key=lambda item: (item[0], -item[1]))[2]
    return min(scored, key=lambda item: (item[0], item[1]))[2]


def _number(value: float | None, digits: int = 6) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.{digits}g}"


def cell(value: object) -> str:
    """A CSV cell a spreadsheet cannot run: see the module's docstring."""
    content = str(value)
    # Spreadsheets skip leading blanks before they look for a formula: " =1+2" and "\t@SUM" are ones.
    if (
        content.startswith(FORMULA_START) or content.lstrip().startswith(FORMULA_START[:4])
    ) and not PLAIN_NUMBER.fullmatch(content):
        return "'" + content
    return content


def _status(run: Run) -> str:
    if run.records and not run.note:
        return "ok" if not run.problems else "ok, some values missing"
    return run.note.split(":")[0] or "ok"


def csv_text(runs: list[Run]) -> str:
    """Sorted by process; numbers at fixed precision; no clock: the same metrics give the same bytes."""
    job = runs[0].job
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [cell(c) for c in ["job", runs[0].column, "process", *job.sweep_variables, *COLUMNS, "status", "metrics_file"]]
    )
    for run in sorted(runs, key=lambda r: r.proc):
        row = [
            job.name,
            run.cluster,
            run.proc,
            *run.values,
            *(_number(run.final(c)) for c in COLUMNS),
            _status(run),
            run.shown,
        ]
        writer.writerow([cell(c) for c in row])
    return out.getvalue()


def table(runs: list[Run], metric: str, winner: Run | None) -> list[str]:
    job = runs[0].job
    header = ["process", *job.sweep_variables, "epochs", "accuracy", "test_loss", "time_s", "samples/s"]
    if metric not in ("epochs", "accuracy", "test_loss", "seconds", "samples_per_second"):
        header.append(metric)
    header = [text(h, 40) for h in header]
    rows = []
    for run in runs:
        cells = [
            run.id,
            *(text(v, 40) for v in run.values),
            _fmt(run.final("epochs"), "{:.0f}"),
            _fmt(run.final("accuracy"), "{:.4f}"),
            _fmt(run.final("test_loss"), "{:.4f}"),
            _fmt(run.final("seconds"), "{:.1f}"),
            _fmt(run.final("samples_per_second"), "{:.0f}"),
        ]
        if len(header) > len(cells):
            cells.append(_fmt(run.final(metric), "{:.4g}"))
        mark = " *" if run is winner else ""
        note = f"  ({text(run.note, 400)})" if run.note else ""
        rows.append((cells, mark + note))
    widths = [max(len(h), *(len(c[i]) for c, _ in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() + tail for cells, tail in rows]
    return lines


def _fmt(value: float | None, form: str) -> str:
    if value is None:
        return "-"
    # A huge value in fixed notation would be hundreds of digits wide.
    return form.format(value) if abs(value) < 1e15 else f"{value:.4g}"


def results(
    compiled: Compiled,
    *,
    job_name: str | None,
    cluster: int | None,
    metric: str,
    higher: bool | None,
    metrics_file: str,
    plots: Path | None,
) -> int:
    jobs = [job for job in compiled.project.jobs if job_name is None or job.name == job_name]
    if job_name is not None and not jobs:
        raise UsageError(f"no job named {job_name!r}; jobs: {', '.join(j.name for j in compiled.project.jobs)}")
    gathered = [(job, gather(compiled, job, metrics_file=metrics_file, cluster=cluster, metric=metric)) for job in jobs]
    with_metrics = [(job, runs) for job, runs in gathered if runs is not None]
    if not with_metrics:
        raise UsageError(
            f"no job lists {metrics_file} in its outputs"
            + (f" ({job_name} has {', '.join(jobs[0].outputs) or 'none'})" if job_name else "")
            + "; add it to the job's outputs (the bundled trainer writes it)"
        )
    higher_better = better(metric, higher)
    failed = False
    outputs = compiled.root / compiled.layout.build_dir / "outputs"
    for job, runs in with_metrics:
        assert runs is not None
        failed |= any(run.note.startswith("unreadable") for run in runs)
        have = [run for run in runs if run.records]
        print(
            f"{text(job.name)}: {runs[0].kind} {runs[0].cluster if runs[0].cluster >= 0 else '-'}, "
            f"{len(have)} of {len(runs)} process(es) have metrics"
        )
        if not have:
            print(f"  no {text(metrics_file)} has come back yet (expected at {runs[0].shown})")
            for run in runs:
                if run.note.startswith("unreadable"):
                    print(f"  {text(run.note, 400)}")
            continue
        if metric not in COLUMNS and not any(metric in run.records[-1] for run in have):
            known = sorted({key for run in have for key in run.keys} | set(COLUMNS))
            listed = ", ".join(text(key, 40) for key in known[:50]) + (", ..." if len(known) > 50 else "")
            raise UsageError(f"no metric '{text(metric)}' in {text(metrics_file)}; it has: {listed}")
        winner = best(runs, metric, higher_better)
        for line in table(runs, metric, winner):
            print(f"  {line}")
        for run in runs:
            for problem in run.problems:
                print(f"  {text(problem, 400)}")
            if run.more_problems:
                print(f"  {run.shown}: {run.more_problems} more value(s) that are not finite numbers, left out")
        if winner is not None:
            print(
                f"  best by {text(metric)} ({'higher' if higher_better else 'lower'} is better): process "
                f"{winner.id} ({text(winner.label)}): {text(metric)} = "
                f"{winner.final(metric):.6g}"
            )
        csv_path = outputs / f"{job.name}_{runs[0].cluster}_results.csv"
        failed |= not _report(
            write_safely(compiled.root, csv_path, csv_text(runs).encode("utf-8")), csv_path, compiled.root
        )
        if plots is not None:
            failed |= not _plots(compiled.root, have, metric, plots)
    return EXIT_INVALID if failed else EXIT_OK


def _plots(root: Path, have: list[Run], metric: str, directory: Path) -> bool:
    """Draw and write the plots; False when one was refused or could not be written."""
    from .plots import PlotsUnavailable, render

    refused = link_on_the_way(root, Path(os.path.abspath(directory)), directory=True)
    if refused:  # before drawing anything
        return _report(refused, directory, root)
    try:
        drawn = render(have, metric)
    except PlotsUnavailable as error:
        print(f"  {error}")
        return True
    ok = True
    for plot in drawn:
        path = directory / plot.name
        if plot.png is None:
            print(f"  {_shown(path, root)}: not drawn: {text(plot.error)}")
            continue
        ok &= _report(write_safely(root, path, plot.png), path, root)
    return ok


def _report(why: str, path: Path, root: Path) -> bool:
    if why:
        print(f"pixi-htc: {_shown(path, root)}: not written: {why}", file=sys.stderr)
        return False
    print(f"  wrote {_shown(path, root)}")
    return True


def _shown(path: Path, root: Path) -> str:
    return shown_path(path, root)
