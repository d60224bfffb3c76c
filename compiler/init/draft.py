"""The spec `pixi-htc init` is writing, and what the source said that it does not carry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Draft:
    """The spec being written, and what the source said that it does not carry."""

    spec: dict[str, Any]
    lost: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # written beside the spec: project-relative path -> text
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)  # spec key path -> "pixi.toml:12"

    def keep(self, source: dict[str, Any], key: str, target: dict[str, Any]) -> None:
        if key in source:
            target[key.replace("-", "_")] = source[key]

    def lose(self, where: str, keys: Any) -> None:
        self.lost.extend(f"{where}{key}" for key in sorted(keys))


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    text = text if text[:1].isalpha() else f"p-{text}"
    return text[:63] or "project"
