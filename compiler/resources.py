"""Where the compiler's own files live: the schema, the templates, the payload."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
SCHEMA_PATH = REPO_DIR / "schema" / "project.schema.json"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
PAYLOAD_DIR = PACKAGE_DIR / "payload"


@cache
def project_schema() -> dict[str, Any]:
    """The spec language. pixi-htc runs from its repository (an editable install), where schema/ lives."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema
