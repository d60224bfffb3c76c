"""Files other people wrote: read them as data, bounded, and show their text safely.

A submit file a colleague sent, a manifest from a paper's repository, the event logs, `.err` and
metrics files that come back from execute machines: every read of such a file goes through here.
Only a regular file is read (lstat first, opened without following a link and without blocking on
a FIFO); a path that leads through a symbolic link, or out of the directory it must stay in, is
refused; at most `limit` bytes are read (a prefix, or the tail). Text from such a file reaches the
terminal or a generated file only through `shown()`, which escapes control characters and line
separators and cuts long values.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import cut, printable

MiB = 1024 * 1024
SHOWN_CHARS = 200  # a value echoed in a message is cut here


Refusal = Literal["link", "outside", "missing", "unreadable", "not-regular", "too-large", "not-utf8"]


class ForeignFileError(Exception):
    """A foreign file that cannot be read as data; the message says why, without the path, and
    `kind` says which refusal it is, for a caller that words it its own way."""

    def __init__(self, message: str, kind: Refusal, line: int = 0) -> None:
        super().__init__(message)
        self.kind: Refusal = kind
        self.line = line  # the 1-based line it is about (where a size limit is passed), 0 for the whole file

    def at(self, name: str) -> str:
        """`name:line` for a message (just the name, escaped, when no line is known)."""
        return f"{shown(name)}:{self.line}" if self.line else shown(name)


@dataclass(frozen=True)
class Read:
    data: bytes
    size: int  # the file's size when it was opened
    cut: bool  # whether `data` is only a prefix (or tail) of it


def shown(text: object, limit: int = SHOWN_CHARS) -> str:
    """Foreign text as it may be printed or written into a comment: every control character, escape
    sequence introducer and line separator escaped (so it cannot end a comment line, forge a line of
    output or move the terminal's cursor), and cut to `limit` characters."""
    return printable(cut(str(text), limit))


def kind(mode: int) -> str:
    return (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a symbolic link"
        if stat.S_ISLNK(mode)
        else "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket or other special file"
    )


def link_inside(path: Path, within: Path | None) -> None:
    """Refuse a path with a symbolic link at or above it, up to `within` (or only the file itself
    when `within` is None), and a path that is not under `within`."""
    if within is None:
        if _is_link(path):
            raise ForeignFileError("is a symbolic link; name the file itself", "link")
        return
    absolute, base = Path(os.path.abspath(path)), Path(os.path.abspath(within))
    try:
        parts = absolute.relative_to(base).parts
    except ValueError:
        raise ForeignFileError("is outside the project", "outside") from None
    current = base
    for part in parts:
        current = current / part
        if _is_link(current):
            raise ForeignFileError("leads through a symbolic link; name the file itself", "link")


def _is_link(path: Path) -> bool:
    """Path.is_symlink, with the errors it passes on (a name too long, no permission) as a refusal."""
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as error:
        raise ForeignFileError(f"cannot be read: {error.strerror}", "unreadable") from error
    except ValueError:  # a NUL in the name
        raise ForeignFileError("cannot be read: its name holds a NUL byte", "unreadable") from None


def read_bytes(
    path: Path, limit: int, *, within: Path | None = None, tail: bool = False, missing_ok: bool = False
) -> Read | None:
    """At most `limit` bytes of a regular file: the start of it, or with `tail` its end. None for a
    missing file when `missing_ok`. Raises ForeignFileError for anything that is not a regular file
    reached without a link (a FIFO never blocks: it is refused before it is opened, and opened with
    O_NONBLOCK in case it was swapped in since)."""
    link_inside(path, within)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ForeignFileError("does not exist", "missing") from None
    except OSError as error:
        raise ForeignFileError(f"cannot be read: {error.strerror}", "unreadable") from error
    if not stat.S_ISREG(mode):
        raise ForeignFileError(f"is {kind(mode)}, not a regular file", "not-regular")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise ForeignFileError(f"cannot be read: {error.strerror}", "unreadable") from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ForeignFileError(f"is {kind(info.st_mode)}, not a regular file", "not-regular")
        size = info.st_size
        if tail and size > limit:
            os.lseek(fd, size - limit, os.SEEK_SET)
        chunks, left = [], limit + (0 if tail else 1)
        while left > 0:
            chunk = os.read(fd, min(left, MiB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as error:
        raise ForeignFileError(f"cannot be read: {error.strerror}", "unreadable") from error
    finally:
        os.close(fd)
    data = b"".join(chunks)
    cut = len(data) > limit or (tail and size > limit)
    return Read(data=data[:limit] if not tail else data[-limit:] if data else data, size=size, cut=cut)


def read_text(path: Path, limit: int, *, within: Path | None = None, what: str = "the file") -> str:
    """A whole foreign text file of at most `limit` bytes, as UTF-8; larger, undecodable or not a
    regular file raises ForeignFileError naming `what`'s limit."""
    read = read_bytes(path, limit, within=within)
    assert read is not None
    if read.cut:
        line = read.data.count(b"\n", 0, limit) + 1
        raise ForeignFileError(
            f"is over {_size(limit)} (line {line} passes it); {what} is read only up to that size", "too-large", line
        )
    try:
        return read.data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = read.data.count(b"\n", 0, error.start) + 1
        raise ForeignFileError(f"is not UTF-8 text (line {line}, byte {error.start + 1})", "not-utf8", line) from error


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit >= MiB and limit % MiB == 0 else f"{limit} bytes"
