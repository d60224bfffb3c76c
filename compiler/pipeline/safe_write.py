"""Writing a file a command makes (the results CSV, a plot) without ever following a symbolic link.

Inside the project root no directory between the root and the file, and not the file itself, may
be a link; outside it (a --plots directory the user chose) the named directory and the files may
not, while a link above that directory is the user's own choice. The check is made twice: on the
paths first, for a clear message, then by the write itself, which opens each directory with
O_NOFOLLOW relative to the one above it, creates a temporary file in the last with O_EXCL and
O_NOFOLLOW, and renames it over the target within that directory: a link swapped in after the
first check is refused, never followed, and a link at the target is replaced, never written into.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from ..core.foreign import shown
from .writer import first_symlink

DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


class _Refused(Exception):
    """A link on the way; the message says where."""


def shown_path(path: Path, root: Path) -> str:
    """A path to print: relative to the project root when inside it (without resolving links); an
    undecodable byte in a name (a lone surrogate, which printing raises on) escaped too."""
    absolute = Path(os.path.abspath(path))
    try:
        name = absolute.relative_to(root).as_posix()
    except ValueError:
        name = str(path)
    return shown(name.encode("utf-8", "backslashreplace").decode("utf-8"))


def _message(link: Path, root: Path, what: str) -> str:
    return (
        f"{shown_path(link, root)} is a symbolic link; pixi-htc never writes through one "
        f"(replace it with a real {what})"
    )


def link_on_the_way(root: Path, target: Path, *, directory: bool = False) -> str:
    """Why writing the file `target` (or making the `directory`) would go through a symbolic link,
    or "": a link at any directory between the project root and it, or at it; outside the project,
    at that directory or at the file."""
    try:
        relative = target.relative_to(root)
    except ValueError:
        link = next((p for p in ((target,) if directory else (target.parent, target)) if p.is_symlink()), None)
    else:
        inside = first_symlink(root, PurePosixPath(relative.as_posix()))
        link = root / inside if inside is not None else None
    if link is None:
        return ""
    return _message(link, root, "file" if link == target and not directory else "directory")


def _open_below(fd: int, name: str, path: Path, root: Path) -> int:
    """The directory `name` in the directory `fd`, made when missing, opened without following a link."""
    for attempt in range(2):
        try:
            return os.open(name, DIRECTORY, dir_fd=fd)
        except FileNotFoundError:
            if attempt:
                raise
            try:
                os.mkdir(name, 0o777, dir_fd=fd)
            except FileExistsError:
                pass  # made meanwhile: open it (or find the link) on the next turn
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and stat.S_ISLNK(
                os.lstat(name, dir_fd=fd).st_mode
            ):
                raise _Refused(_message(path, root, "directory")) from None
            raise
    raise AssertionError("unreachable")


def _directory(root: Path, parent: Path) -> int:
    """An open descriptor of the directory a file is written into, reached as the module says."""
    try:
        parts = parent.relative_to(root).parts
        start = root
    except ValueError:  # outside the project: only the named directory itself is held to the rule
        start, parts = parent.parent, (parent.name,)
        start.mkdir(parents=True, exist_ok=True)
    fd = os.open(start, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    current = start
    try:
        for part in parts:
            current = current / part
            below = _open_below(fd, part, current, root)
            os.close(fd)
            fd = below
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_safely(root: Path, target: Path, data: bytes) -> str:
    """Write `data` to `target` atomically; "" when written, else why not (see the module)."""
    target = Path(os.path.abspath(target))
    why = link_on_the_way(root, target)
    if why:
        return why
    temp = ""
    fd = -1
    try:
        fd = _directory(root, target.parent)
        try:
            if stat.S_ISLNK(os.lstat(target.name, dir_fd=fd).st_mode):
                return _message(target, root, "file")
        except FileNotFoundError:
            pass
        temp = f".{target.name}.{os.urandom(6).hex()}.tmp"
        out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644, dir_fd=fd)
        with os.fdopen(out, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # whatever the umask: a table the user reads and shares
            handle.write(data)
        os.replace(temp, target.name, src_dir_fd=fd, dst_dir_fd=fd)
        temp = ""
    except _Refused as refused:
        return str(refused)
    except OSError as error:
        return f"cannot write it: {error.strerror or error}"
    finally:
        if temp:
            try:
                os.unlink(temp, dir_fd=fd)
            except OSError:
                pass
        if fd >= 0:
            os.close(fd)
    return ""
