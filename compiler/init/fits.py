"""Whether a value moved in from a foreign file is one the spec accepts where it is going: judged by
the project schema itself (and the loader's one-line rule), so init never writes what build rejects."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..core.resources import project_schema
from ..spec.loader import CONTROL
from ..spec.schema_validator import SpecValidator


@cache
def _validator(pointer: str) -> Any:
    root = project_schema()
    node: Any = root
    for step in pointer.strip("/").split("/"):
        node = node[int(step)] if isinstance(node, list) else node[step]
    return SpecValidator(root).evolve(schema=node)


def _one_line(value: Any) -> bool:
    if isinstance(value, str):
        return not CONTROL.search(value)
    if isinstance(value, dict):
        return all(_one_line(k) and _one_line(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_one_line(v) for v in value)
    return True


def fits(value: Any, pointer: str) -> bool:
    """`pointer` is a path into the schema: "$defs/task", "properties/workspace/properties/channels"."""
    return _one_line(value) and bool(_validator(pointer).is_valid(value))


DEFS = "$defs/"
WS = "properties/workspace/properties/"
ENV = "$defs/environment/properties/"
