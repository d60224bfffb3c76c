"""Typed errors. Stages raise these; only cli.main() turns them into exit codes."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Control characters and line separators (a forged line of output); bidirectional embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069, U+061C), which make a terminal or an editor
# show text in another order than it is (CVE-2021-42574, "Trojan Source"); and zero-width and
# invisible format characters (U+200B-U+200F, U+2060-U+2064, U+FEFF), which hide text between
# what is seen.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def printable(text: str) -> str:
    """Text with every control character, line separator, bidirectional control and invisible
    format character written as an escape (\\u202e), so that a key or a file name from the spec
    cannot forge a line of output (`spec.yaml:99:1: error: ...`) or show as other text than it is."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


MESSAGE_CHARS = 1000


def cut(text: str, limit: int = MESSAGE_CHARS) -> str:
    """A message that echoes a value of megabytes is cut to its start, and says how much is left."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit:,} more characters)"


EXIT_OK = 0
EXIT_STALE = 1
EXIT_INVALID = 2


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in the spec, located at a line and column (both 1-based); or in a file the spec
    names (`file`, relative to the project root), such as a sweep's list."""

    line: int
    column: int
    key_path: str
    message: str
    file: str = ""  # "": the spec itself

    def format(self, spec: str) -> str:
        where = f"{self.key_path}: " if self.key_path else ""
        return printable(f"{self.file or spec}:{self.line}:{self.column}: error: {cut(where, 300)}{cut(self.message)}")


class PixiHtcError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = EXIT_INVALID


class SpecError(PixiHtcError):
    """The spec is unreadable or invalid; carries every diagnostic found."""

    def __init__(self, file: str, diagnostics: list[Diagnostic]) -> None:
        self.file = file
        # The spec's own problems first, then each named file's, each in line order.
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.key_path, d.message))
        super().__init__("\n".join(d.format(file) for d in self.diagnostics))


class UsageError(PixiHtcError):
    """The command line or the environment is wrong (missing file, foreign file in the way, no schedd)."""


class StaleError(PixiHtcError):
    """Generated files differ from what the spec produces (pixi-htc check)."""

    exit_code = EXIT_STALE
