"""What both schedulers' job files write the same way: shell words of the spec's text, and paths as
seen from the build directory (where HTCondor submits from and Slurm tasks start)."""

from __future__ import annotations

from ..artifacts.base import Layout
from ..core.escape import shell_quote
from ..spec.model import PLACEHOLDER


def shell_word(argument: str, prefix: str = "") -> str:
    """One shell word: literal text quoted, {name} placeholders expanded from the script's variables
    (named <prefix><name>)."""
    parts: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(argument):
        if match.start() > position:
            parts.append(shell_quote(argument[position : match.start()]))
        parts.append(f'"${{{prefix}{match.group(1)}}}"')
        position = match.end()
    if position < len(argument) or not parts:
        parts.append(shell_quote(argument[position:]))
    return "".join(parts)


def from_submit_dir(path: str, layout: Layout) -> str:
    """A project-root-relative path (or a URL) as the .sub, submitted from the build directory, names it."""
    if "://" in path:
        return path
    prefix = f"{layout.build_dir}/"
    return path.removeprefix(prefix) if path.startswith(prefix) else f"../{path}"
