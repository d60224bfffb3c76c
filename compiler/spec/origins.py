"""Where a moved-in spec's keys came from: `pixi-htc init --from pixi.toml` ends the line of each key
it moved with `# from pixi.toml:12`, and an error on that key (or on anything under it) names that
line too (issue #21: a message on a moved-in spec points at the spec line and the source line).

Only the comment is read, never the file it names: the spec stays the one input of a build."""

from __future__ import annotations

import dataclasses
import re

from ..core.errors import Diagnostic

ORIGIN = re.compile(r"\s#\s*from (?P<where>[^\s:#][^\s#]*:\d{1,7})\s*$")


def _indent(line: str) -> int:
    """A key's depth; a `- item` counts one deeper than the key its list belongs to."""
    stripped = line.lstrip(" ")
    return len(line) - len(stripped) + (1 if stripped.startswith("- ") or stripped == "-" else 0)


def origin(lines: list[str], line: int) -> str | None:
    """The `from` comment of spec line `line` (1-based), or of the nearest key that holds it."""
    if not 1 <= line <= len(lines):
        return None
    depth = None
    for number in range(line, 0, -1):
        text = lines[number - 1]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        here = _indent(text)
        if depth is None or here < depth:
            found = ORIGIN.search(text)
            if found:
                return found.group("where")
            depth = here
            if here == 0:
                return None
    return None


def with_origins(diagnostics: list[Diagnostic], lines: list[str]) -> list[Diagnostic]:
    """Each diagnostic on the spec itself, with the source line its key was moved in from."""
    out = []
    for diagnostic in diagnostics:
        where = None if diagnostic.file else origin(lines, diagnostic.line)
        out.append(
            dataclasses.replace(diagnostic, message=f"{diagnostic.message} (moved in from {where})")
            if where
            else diagnostic
        )
    return out
