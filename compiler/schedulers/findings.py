"""What every scheduler's `follow` says in the spec's terms: a Finding at the spec key that can fix a
problem (Locator finds the key's line), and the last lines of a process's error file as its details.

The error file comes back from an execute machine or a compute node: it is read through
foreign.read_bytes, only its last ERR_TAIL_BYTES, only when it is a regular file inside the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core import foreign
from ..core.errors import printable
from ..spec.loader import KeyPath, LoadedSpec, format_key_path

ERR_TAIL_LINES = 10
ERR_TAIL_BYTES = 64 * 1024  # the end of an .err read at most: its last lines are all that is shown


@dataclass(frozen=True, order=True)
class Finding:
    """One problem, at the spec key (line, column 1-based) that the user changes to fix it."""

    line: int
    column: int
    key_path: str
    message: str
    details: tuple[str, ...] = ()

    def format(self, file: str) -> str:
        joint = " " if self.message.startswith("is ") else ": "
        head = printable(
            f"{file}:{self.line}:{self.column}: {self.key_path}{joint if self.key_path else ''}{self.message}"
        )
        return "\n".join([head, *(f"    {printable(detail)}" for detail in self.details)])


class Locator:
    """Spec keys to `line:col`; a key the spec does not set points at its nearest parent that it does."""

    def __init__(self, spec: LoadedSpec) -> None:
        self.spec = spec

    def at(self, path: KeyPath, message: str, details: tuple[str, ...] = ()) -> Finding:
        present = path
        while present and not self.spec.has(present):
            present = present[:-1]
        line, column = self.spec.locate(present, at_key=present != path) if present else (1, 1)
        if present != path:
            message += f" (not set in the spec: the default applies; add {format_key_path(path)})"
        return Finding(line, column, format_key_path(path), message, details)


def refusal(error: foreign.ForeignFileError) -> str:
    """Why foreign refused a file, without its advice to name the file itself (status names
    nothing: it finds what the scheduler wrote)."""
    return str(error).split("; ", 1)[0]


def err_tail(
    path: Path | None,
    lines: int = ERR_TAIL_LINES,
    *,
    within: Path | None = None,
    what: str = "the .sub",
    when: str = "when the job ends",
) -> tuple[str, ...]:
    """The last `lines` lines of a process's .err, from its last ERR_TAIL_BYTES at most; a note
    instead when it is missing, or is not a regular file reached without a link inside `within`
    (the project root): a FIFO, a device, a directory or a link is never opened. `what` names
    the file that names no error file; `when` says when a missing one appears."""
    if path is None:
        return (f"({what} names no error file)",)
    name = foreign.shown(path.name)
    try:
        read = foreign.read_bytes(path, ERR_TAIL_BYTES, within=within, tail=True, missing_ok=True)
    except foreign.ForeignFileError as error:
        return (f"({name} {refusal(error)}; not read)",)
    if read is None:
        return (f"({name} is not here: it comes back {when})",)
    text = read.data.decode("utf-8", errors="replace")
    if read.cut and "\n" in text:
        text = text.split("\n", 1)[1]  # the first line read is only the end of one
    # Lines end at "\n" only: a U+2028 or a form feed in the text is shown escaped, not taken for a
    # line of its own. Of a line that carriage returns overwrite (a progress bar), the terminal
    # would show the last part: that is the part kept.
    tail = [line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.rstrip("\n").split("\n")][-lines:]
    if not tail or tail == [""]:
        return (f"({name} is empty)",)
    head = f"last lines of {name}" + (f" (of its last {ERR_TAIL_BYTES // 1024} KiB):" if read.cut else ":")
    return (head, *(f"  {foreign.shown(line)}" for line in tail))
