"""Where the compiler's own files live: the schema, the templates, the payload."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # compiler/ (installed: pixi_htc/)
TEMPLATES_DIR = PACKAGE_DIR / "templates"
PAYLOAD_DIR = PACKAGE_DIR / "payload"
# A wheel carries the schema as compiler/schema/ (pyproject.toml); a checkout has it in schema/ beside compiler/.
SCHEMA_CANDIDATES = (
    PACKAGE_DIR / "schema" / "project.schema.json",
    PACKAGE_DIR.parent / "schema" / "project.schema.json",
)


def schema_path() -> Path:
    for candidate in SCHEMA_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"project.schema.json is missing; looked in {', '.join(map(str, SCHEMA_CANDIDATES))}")


@cache
def project_schema() -> dict[str, Any]:
    """The spec language, read once per process."""
    with schema_path().open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema
