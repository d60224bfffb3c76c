"""`pixi-htc results`: each process's metrics (one JSON line per epoch, as the bundled trainer writes
them) gathered from where the generated transfer_output_remaps leave them, into one table: a CSV,
a terminal table, the best combination by a metric the user picks, and PNG plots (plots.py)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EXIT_INVALID, EXIT_OK, UsageError, printable
from .jobfiles import job_files
from .model import Job
from .pipeline import Compiled

COLUMNS = ("epochs", "accuracy", "test_loss", "train_loss", "seconds", "samples_per_second")
LOWER_IS_BETTER = re.compile(r"loss|error|seconds|time|duration|memory", re.I)


class MetricsError(Exception):
    """A metrics file that cannot be read; the message names the file and line."""


@dataclass
class Run:
    """One process's metrics file, read."""

    job: Job
    cluster: int
    proc: int
    path: Path | None
    shown: str
    records: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""  # "no output yet", "still being written", an error

    @property
    def values(self) -> tuple[str, ...]:
        return self.job.sweep_rows[self.proc] if self.proc < len(self.job.sweep_rows) else ()

    @property
    def label(self) -> str:
        return ", ".join(f"{n}={v}" for n, v in zip(self.job.sweep_variables, self.values)) or f"process {self.proc}"

    def final(self, metric: str) -> float | None:
        if metric == "epochs":
            return float(len(self.records)) if self.records else None
        if metric == "seconds":
            return sum(r.get("seconds", 0.0) for r in self.records) if self.records else None
        if metric == "samples_per_second":
            seconds = sum(r.get("seconds", 0.0) for r in self.records)
            samples = sum(r.get("samples_per_second", 0.0) * r.get("seconds", 0.0) for r in self.records)
            return samples / seconds if seconds > 0 else None
        value = self.records[-1].get(metric) if self.records else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_metrics(path: Path, shown: str) -> tuple[list[dict[str, Any]], str]:
    """The records, one per epoch (a later line for an epoch wins: a process resumed from a
    checkpoint may repeat one), and a note. A last line without its newline is a process still
    writing: left out, and said. Anything else unreadable raises MetricsError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MetricsError(f"{shown}: cannot read it ({error})") from error
    lines = text.split("\n")
    note = ""
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        lines.pop()
        note = "its last line is still being written"
    by_epoch: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise MetricsError(f"{shown}:{number}: not a JSON line ({error.msg}): {printable(line[:60])!r}") from error
        epoch = record.get("epoch") if isinstance(record, dict) else None
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            raise MetricsError(f"{shown}:{number}: each line must be a JSON object with an integer \"epoch\"")
        by_epoch[epoch] = record
    return [by_epoch[e] for e in sorted(by_epoch)], note


def gather(compiled: Compiled, job: Job, *, metrics_file: str, cluster: int | None) -> list[Run] | None:
    """One Run per process of the job's newest (or given) cluster; None when the job has no such output."""
    build_dir = compiled.root / compiled.layout.build_dir
    files = job_files(build_dir, job.name)
    landed = files.landed(metrics_file) or next(
        (target for name, target in files.remaps if name.rsplit("/", 1)[-1] == metrics_file), None)
    if landed is None:
        return None
    found = landed.find(build_dir)
    clusters = sorted({c for c, _, _ in found})
    chosen = cluster if cluster is not None else (clusters[-1] if clusters else None)
    by_proc = {proc: path for c, proc, path in found if c == chosen}
    runs = []
    for proc in range(max(len(job.sweep_rows), 1)):
        path = by_proc.get(proc)
        shown = (path.relative_to(compiled.root).as_posix() if path else
                 f"{compiled.layout.build_dir}/{landed.path(chosen if chosen is not None else '<cluster>', proc)}")
        run = Run(job=job, cluster=chosen if chosen is not None else -1, proc=proc, path=path, shown=shown)
        if path is None:
            run.note = "no output yet"
        else:
            try:
                run.records, run.note = read_metrics(path, shown)
            except MetricsError as error:
                run.note = f"unreadable: {error}"
        runs.append(run)
    return runs


def better(metric: str, higher: bool | None) -> bool:
    """Whether higher is better: the flag, else the metric's name (loss, error, time: lower)."""
    return higher if higher is not None else not LOWER_IS_BETTER.search(metric)


def best(runs: list[Run], metric: str, higher: bool) -> Run | None:
    scored = [(run.final(metric), run.proc, run) for run in runs]
    scored = [(value, proc, run) for value, proc, run in scored if value is not None and not math.isnan(value)]
    if not scored:
        return None
    if higher:  # ties go to the lowest process
        return max(scored, key=lambda item: (item[0], -item[1]))[2]
    return min(scored, key=lambda item: (item[0], item[1]))[2]


def _number(value: float | None, digits: int = 6) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.{digits}g}"


def csv_text(runs: list[Run]) -> str:
    """Sorted by process; numbers at fixed precision; no clock: the same metrics give the same bytes."""
    job = runs[0].job
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["job", "cluster", "process", *job.sweep_variables, *COLUMNS, "status", "metrics_file"])
    for run in sorted(runs, key=lambda r: r.proc):
        writer.writerow([job.name, run.cluster, run.proc, *run.values, *(_number(run.final(c)) for c in COLUMNS),
                         "ok" if run.records and not run.note else (run.note.split(":")[0] or "ok"), run.shown])
    return out.getvalue()


def table(runs: list[Run], metric: str, winner: Run | None) -> list[str]:
    job = runs[0].job
    header = ["process", *job.sweep_variables, "epochs", "accuracy", "test_loss", "time_s", "samples/s"]
    if metric not in ("epochs", "accuracy", "test_loss", "seconds", "samples_per_second"):
        header.append(metric)
    rows = []
    for run in runs:
        cells = [f"{run.cluster}.{run.proc}", *run.values, _number(run.final("epochs")),
                 _fmt(run.final("accuracy"), "{:.4f}"), _fmt(run.final("test_loss"), "{:.4f}"),
                 _fmt(run.final("seconds"), "{:.1f}"), _fmt(run.final("samples_per_second"), "{:.0f}")]
        if len(header) > len(cells):
            cells.append(_fmt(run.final(metric), "{:.4g}"))
        mark = " *" if run is winner else ""
        note = f"  ({run.note})" if run.note else ""
        rows.append((cells, mark + note))
    widths = [max(len(h), *(len(c[i]) for c, _ in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += [printable("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() + tail) for cells, tail in rows]
    return lines


def _fmt(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def results(compiled: Compiled, *, job_name: str | None, cluster: int | None, metric: str, higher: bool | None,
            metrics_file: str, plots: Path | None) -> int:
    jobs = [job for job in compiled.project.jobs if job_name is None or job.name == job_name]
    if job_name is not None and not jobs:
        raise UsageError(f"no job named {job_name!r}; jobs: {', '.join(j.name for j in compiled.project.jobs)}")
    gathered = [(job, gather(compiled, job, metrics_file=metrics_file, cluster=cluster)) for job in jobs]
    with_metrics = [(job, runs) for job, runs in gathered if runs is not None]
    if not with_metrics:
        raise UsageError(f"no job lists {metrics_file} in its outputs"
                         + (f" ({job_name} has {', '.join(jobs[0].outputs) or 'none'})" if job_name else "")
                         + "; add it to the job's outputs (the bundled trainer writes it)")
    higher_better = better(metric, higher)
    failed = False
    outputs = compiled.root / compiled.layout.build_dir / "outputs"
    for job, runs in with_metrics:
        assert runs is not None
        failed |= any(run.note.startswith("unreadable") for run in runs)
        have = [run for run in runs if run.records]
        print(f"{job.name}: cluster {runs[0].cluster if runs[0].cluster >= 0 else '-'}, "
              f"{len(have)} of {len(runs)} process(es) have metrics")
        if not have:
            print(f"  no {metrics_file} has come back yet (expected at {runs[0].shown})")
            for run in runs:
                if run.note.startswith("unreadable"):
                    print(f"  {run.note}")
            continue
        if metric not in COLUMNS and not any(metric in run.records[-1] for run in have):
            known = sorted({key for run in have for key, v in run.records[-1].items() if isinstance(v, (int, float))})
            raise UsageError(f"no metric {metric!r} in {metrics_file}; it has: {', '.join(sorted(set(known) | set(COLUMNS)))}")
        winner = best(runs, metric, higher_better)
        for line in table(runs, metric, winner):
            print(f"  {line}")
        if winner is not None:
            print(f"  best by {metric} ({'higher' if higher_better else 'lower'} is better): process "
                  f"{winner.cluster}.{winner.proc} ({winner.label}): {metric} = {winner.final(metric):.6g}")
        outputs.mkdir(parents=True, exist_ok=True)
        csv_path = outputs / f"{job.name}_{runs[0].cluster}_results.csv"
        csv_path.write_text(csv_text(runs), encoding="utf-8")
        print(f"  wrote {csv_path.relative_to(compiled.root).as_posix()}")
        if plots is not None:
            from .plots import PlotsUnavailable, draw

            try:
                for path in draw(have, metric, plots):
                    print(f"  wrote {_shown(path, compiled.root)}")
            except PlotsUnavailable as error:
                print(f"  {error}")
    return EXIT_INVALID if failed else EXIT_OK


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
