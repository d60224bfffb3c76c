"""PNG plots for `pixi-htc results`, with matplotlib (the optional extra `plot`): training curves per
combination, and the final metric against each sweep variable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import Run

# No clock or version in the files: the same metrics draw the same bytes.
METADATA = {"Software": None}


class PlotsUnavailable(Exception):
    """matplotlib is not installed."""


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable("plots need matplotlib: pip install 'pixi-htc[plot]' (make test installs it)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def curves(runs: list[Run], path: Path) -> Path:
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for run in sorted(runs, key=lambda r: r.proc):
        epochs = [r["epoch"] for r in run.records]
        line, = left.plot(epochs, [r.get("accuracy") for r in run.records], marker="o", label=run.label)
        right.plot(epochs, [r.get("test_loss") for r in run.records], marker="o", color=line.get_color(),
                   label=f"{run.label} (test)")
        right.plot(epochs, [r.get("train_loss") for r in run.records], linestyle="--", color=line.get_color(),
                   label=f"{run.label} (train)")
    left.set(xlabel="epoch", ylabel="test accuracy", title="Accuracy per epoch")
    right.set(xlabel="epoch", ylabel="loss", title="Loss per epoch (solid: test, dashed: train)")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    left.legend(fontsize="small")
    figure.suptitle(f"{runs[0].job.name}: training curves")
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata=METADATA)
    plt.close(figure)
    return path


def by_variable(runs: list[Run], metric: str, index: int, path: Path) -> Path:
    """The final metric against one sweep variable, one line per combination of the others."""
    plt = _pyplot()
    job = runs[0].job
    name = job.sweep_variables[index]
    values = list(job.sweep_values(name))
    numeric = all(_number(v) is not None for v in values)
    position = {v: (_number(v) if numeric else i) for i, v in enumerate(values)}
    groups: dict[str, list[tuple[float, float]]] = {}
    for run in sorted(runs, key=lambda r: r.proc):
        final = run.final(metric)
        if final is None:
            continue
        others = ", ".join(f"{n}={v}" for i, (n, v) in enumerate(zip(job.sweep_variables, run.values)) if i != index)
        groups.setdefault(others or "all", []).append((position[run.values[index]], final))  # type: ignore[arg-type]
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    for label, points in groups.items():  # in process order: the sweep's own order
        points.sort()
        axis.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
    if not numeric:
        axis.set_xticks(range(len(values)), values)
    else:
        axis.set_xticks([position[v] for v in values], values)  # type: ignore[misc]
    axis.set(xlabel=name, ylabel=f"final {metric}", title=f"{job.name}: final {metric} by {name}")
    axis.grid(alpha=0.3)
    if len(groups) > 1 or "all" not in groups:
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata=METADATA)
    plt.close(figure)
    return path


def draw(runs: list[Run], metric: str, directory: Path) -> list[Path]:
    _pyplot()  # fail before creating the directory
    directory.mkdir(parents=True, exist_ok=True)
    job = runs[0].job
    written = [curves(runs, directory / f"{job.name}_curves.png")]
    for index, name in enumerate(job.sweep_variables):
        written.append(by_variable(runs, metric, index, directory / f"{job.name}_{metric}_by_{name}.png"))
    return written
