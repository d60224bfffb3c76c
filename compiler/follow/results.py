"""`pixi-htc results`: each process's metrics (one JSON line per epoch, as the bundled trainer writes
them) gathered from where the job's scheduler says they land (Scheduler.outputs: the generated
transfer_output_remaps on HTCondor, each task's directory on Slurm), into one table: a CSV, a
terminal table, the best combination by a metric the user picks, and PNG plots (plots.py).

Each metrics file is read as hostile data (metrics.py: bounded, every value checked); a file that
cannot be read is `file:line: why` in its process's row, exit 2, and the other processes are still
shown. A value that is not a finite number is missing for that epoch, reported, and the exit status
stays 0. A missing value is "-" in the table and an empty CSV cell, never 0, and is never ranked
best. A run's time is the sum of its epochs' `seconds` only when every epoch has one; its
throughput is averaged over the epochs that have both `seconds` and `samples_per_second`.

- Foreign text reaches the terminal only through foreign.shown() (by way of metrics.text).
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
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts.base import Compiled
from ..core.errors import EXIT_INVALID, EXIT_OK, UsageError
from ..pipeline.safe_write import link_on_the_way, shown_path, write_safely
from ..schedulers import SCHEDULERS
from ..spec.model import Job
from .metrics import COLUMNS, MetricsError, Record, finite_or_none, read_file, text

LOWER_IS_BETTER = re.compile(r"loss|error|seconds|time|duration|memory", re.I)

# A cell left as it is although it starts with "-": a plain decimal number, never a formula.
PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


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
            return finite_or_none(sum(times)) if all(t is not None for t in times) else None  # type: ignore[arg-type]
        if metric == "samples_per_second":
            pairs = [
                (r["samples_per_second"], r["seconds"])
                for r in self.records
                if "samples_per_second" in r and "seconds" in r
            ]
            seconds = sum(s for _, s in pairs)
            samples = sum(rate * s for rate, s in pairs)
            return finite_or_none(samples / seconds) if seconds > 0 and math.isfinite(seconds) else None
        value = self.records[-1].get(metric)
        return None if value is None else finite_or_none(value)


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
