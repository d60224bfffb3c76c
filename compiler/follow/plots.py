"""PNG plots for `pixi-htc results`, with matplotlib (the optional extra `plot`): training curves per
combination, and the final metric against each sweep variable.

Drawn in memory: results.py writes the bytes, atomically and never through a symbolic link. The
values come from metrics files nobody here controls (results.py keeps only finite numbers); one
beyond PLOT_LIMIT is left out of the plot (matplotlib's ticks overflow near the float's range),
and a figure matplotlib still cannot draw is reported instead of stopping the command.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..spec.model import Job


class Run(Protocol):
    """What a plot reads of one process's run (results.Run provides it)."""

    job: Job
    proc: int
    records: list[dict[str, float]]

    @property
    def values(self) -> tuple[str, ...]: ...

    @property
    def label(self) -> str: ...

    def final(self, metric: str) -> float | None: ...


# No clock or version in the files: the same metrics draw the same bytes.
METADATA = {"Software": None}
PLOT_LIMIT = 1e100
# Text is drawn as it is: a "$" in a sweep value never starts mathtext (which can fail to parse).
STYLE = {"text.parse_math": False, "text.usetex": False}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class PlotsUnavailable(Exception):
    """matplotlib is not installed."""


@dataclass(frozen=True)
class Plot:
    name: str  # a file name, without a directory
    png: bytes | None  # None: not drawn
    error: str = ""  # why not


def _pyplot() -> Any:  # matplotlib.pyplot, imported only when a plot is drawn
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable("plots need matplotlib: pip install 'pixi-htc[plot]' (make test installs it)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def file_name(*parts: str) -> str:
    """A file name from the job's, the metric's and a variable's names: only [A-Za-z0-9._-], so a
    --metric such as ../x never names another directory."""
    return "_".join(_UNSAFE_NAME.sub("_", part) for part in parts) + ".png"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= PLOT_LIMIT else None


def _y(value: float | None) -> float:
    """A value to plot; NaN (a gap in the line) for a missing one or one too large to plot."""
    return value if value is not None and abs(value) <= PLOT_LIMIT else math.nan


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata=METADATA)
    return buffer.getvalue()


def curves(runs: Sequence[Run]) -> bytes:
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    try:
        for run in sorted(runs, key=lambda r: r.proc):
            epochs = [r["epoch"] for r in run.records]
            (line,) = left.plot(epochs, [_y(r.get("accuracy")) for r in run.records], marker="o", label=run.label)
            right.plot(
                epochs,
                [_y(r.get("test_loss")) for r in run.records],
                marker="o",
                color=line.get_color(),
                label=f"{run.label} (test)",
            )
            right.plot(
                epochs,
                [_y(r.get("train_loss")) for r in run.records],
                linestyle="--",
                color=line.get_color(),
                label=f"{run.label} (train)",
            )
        left.set(xlabel="epoch", ylabel="test accuracy", title="Accuracy per epoch")
        right.set(xlabel="epoch", ylabel="loss", title="Loss per epoch (solid: test, dashed: train)")
        for axis in (left, right):
            axis.grid(alpha=0.3)
            axis.xaxis.get_major_locator().set_params(integer=True)
        left.legend(fontsize="small")
        figure.suptitle(f"{runs[0].job.name}: training curves")
        figure.tight_layout()
        return _png(figure)
    finally:
        plt.close(figure)


def by_variable(runs: Sequence[Run], metric: str, index: int) -> bytes:
    """The final metric against one sweep variable, one line per combination of the others."""
    plt = _pyplot()
    job = runs[0].job
    name = job.sweep_variables[index]
    values = list(job.sweep_values(name))
    numeric = all(_number(v) is not None for v in values)
    position: dict[str, float] = {}
    for i, v in enumerate(values):
        number = _number(v)
        position[v] = number if numeric and number is not None else i
    groups: dict[str, list[tuple[float, float]]] = {}
    for run in sorted(runs, key=lambda r: r.proc):
        final = run.final(metric)
        if final is None or abs(final) > PLOT_LIMIT or run.values[index] not in position:
            continue
        others = ", ".join(f"{n}={v}" for i, (n, v) in enumerate(zip(job.sweep_variables, run.values)) if i != index)
        groups.setdefault(others or "all", []).append((position[run.values[index]], final))
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    try:
        for label, points in groups.items():  # in process order: the sweep's own order
            points.sort()
            axis.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
        if not numeric:
            axis.set_xticks(range(len(values)), values)
        else:
            axis.set_xticks([position[v] for v in values], values)
        axis.set(xlabel=name, ylabel=f"final {metric}", title=f"{job.name}: final {metric} by {name}")
        axis.grid(alpha=0.3)
        if groups and (len(groups) > 1 or "all" not in groups):
            axis.legend(fontsize="small")
        figure.tight_layout()
        return _png(figure)
    finally:
        plt.close(figure)


def render(runs: Sequence[Run], metric: str) -> list[Plot]:
    """Every plot, drawn in memory; raises PlotsUnavailable before drawing anything."""
    plt = _pyplot()
    job = runs[0].job
    wanted: list[tuple[str, Callable[[], bytes]]] = [(file_name(job.name, "curves"), lambda: curves(runs))]
    for index, name in enumerate(job.sweep_variables):
        wanted.append((file_name(job.name, metric, "by", name), functools.partial(by_variable, runs, metric, index)))
    drawn = []
    # matplotlib warns about data it copes with (an empty legend, all-NaN lines): not the user's to read.
    with plt.rc_context(STYLE), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, draw in wanted:
            try:
                drawn.append(Plot(name, draw()))
            # What matplotlib raises for data it cannot lay out (an axis it cannot tick, a
            # singular transform); anything else is a bug and stays one.
            except (ValueError, OverflowError, ZeroDivisionError, FloatingPointError, RuntimeError) as error:
                drawn.append(Plot(name, None, f"{type(error).__name__}: {error}"))
    return drawn
