"""Where a submitted job's files land, read from the generated .sub (never guessed from the model):
its event log, .out and .err per process, and the outputs transfer_output_remaps renames.

The .sub read is the one pixi-htc renders now, in memory, never the file in build/: a committed
build/ can be edited by anyone who sends a pull request, and HTCondor's parser executes `include`
lines (REFERENCE.md, December 2026).

Paths in a .sub are relative to the build directory (submit from there); `$(Cluster)` and
`$(Process)` become the numbers HTCondor gives each process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ...artifacts.base import Compiled
from ...core.errors import UsageError
from .submit import MACRO, rendered_submit  # htcondor2 parses the .sub exactly as condor_submit would

NUMBERED = {"cluster": "cluster", "process": "proc"}
# A DAG node's .sub queues one process; the node's VARS say which process of the job it is (dag.py).
NODE_NUMBERED = {"cluster": "cluster", "pixihtcprocess": "proc"}


@dataclass(frozen=True)
class Pattern:
    """One .sub path with $(Cluster)/$(Process) in it, e.g. logs/train_$(Cluster)_$(Process).log."""

    template: str
    node: bool = False  # a DAG node's: $(PixiHtcProcess) is the process

    @property
    def regex(self) -> re.Pattern[str]:
        parts, position, seen = [], 0, set()
        numbered = NODE_NUMBERED if self.node else NUMBERED
        for match in MACRO.finditer(self.template):
            parts.append(re.escape(self.template[position : match.start()]))
            name = numbered.get(match.group(1).lower())
            if name is None or name in seen:  # another macro, or the same number twice
                parts.append(r"[^/]*" if name is None else rf"(?P={name})")
            else:
                parts.append(rf"(?P<{name}>\d+)")
                seen.add(name)
            position = match.end()
        parts.append(re.escape(self.template[position:]))
        return re.compile("".join(parts))

    @property
    def glob(self) -> str:
        return MACRO.sub("*", self.template)

    def path(self, cluster: int | str, proc: int | str) -> str:
        values = {"cluster": str(cluster), "pixihtcprocess" if self.node else "process": str(proc)}
        return MACRO.sub(lambda m: values.get(m.group(1).lower(), m.group(0)), self.template)

    def find(self, build_dir: Path) -> list[tuple[int, int, Path]]:
        """(cluster, process, file) for every file of this pattern, sorted. Without $(Process) the
        process is 0; without $(Cluster) the cluster is 0."""
        found = []
        for file in build_dir.glob(self.glob):
            match = self.regex.fullmatch(file.relative_to(build_dir).as_posix())
            if match and file.is_file():
                groups = match.groupdict()
                found.append((int(groups.get("cluster") or 0), int(groups.get("proc") or 0), file))
        return sorted(found)


@dataclass(frozen=True)
class JobFiles:
    log: Pattern | None
    output: Pattern | None
    error: Pattern | None
    remaps: tuple[tuple[str, Pattern], ...]  # (name in the sandbox, where it lands)
    outputs: tuple[str, ...]  # transfer_output_files as the .sub lists them

    def landed(self, name: str) -> Pattern | None:
        """Where output `name` arrives: its remap, or the submit directory under its own name."""
        for source, target in self.remaps:
            if source == name:
                return target
        return Pattern(name.rsplit("/", 1)[-1]) if name in self.outputs else None


def parse_remaps(value: str, node: bool = False) -> tuple[tuple[str, Pattern], ...]:
    """transfer_output_remaps = "a = b; c = d" (the manual's form; `\\;` and `\\=` escape)."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    pairs = []
    for entry in re.split(r"(?<!\\);", text):
        if not entry.strip():
            continue
        source, equals, target = re.split(r"(?<!\\)(=)", entry, maxsplit=1) if "=" in entry else (entry, "", "")
        if not equals:
            raise UsageError(f"transfer_output_remaps entry {entry.strip()!r} has no '='")
        unescape = lambda s: s.strip().replace("\\;", ";").replace("\\=", "=")  # noqa: E731
        pairs.append((unescape(source), Pattern(unescape(target), node)))
    return tuple(pairs)


def job_files(compiled: Compiled, job_name: str, *, node: bool = False) -> JobFiles:
    """The job's files as the .sub rendered from the spec now names them (never build/'s copy);
    `node`: as its DAG node's .sub names them."""
    description = rendered_submit(compiled, job_name, node=node)

    def pattern(key: str) -> Pattern | None:
        value = description.get(key)
        return Pattern(value, node) if value else None

    outputs = tuple(
        name.strip() for name in (description.get("transfer_output_files") or "").split(",") if name.strip()
    )
    return JobFiles(
        log=pattern("log"),
        output=pattern("output"),
        error=pattern("error"),
        remaps=parse_remaps(description.get("transfer_output_remaps") or "", node),
        outputs=outputs,
    )
