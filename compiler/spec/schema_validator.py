"""The JSON Schema validator the spec is checked with: Draft 2020-12, with `pattern` read as the schema
means it (ECMA-262), shared by validation, sweep lists, explain and init."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A schema pattern compiled with ECMA-262's meaning of `$`: the end of the string. Python's `$`
    also matches before a final newline, so "gpu\\n" passed `^[a-z]+$` and broke every output."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# The 2020-12 validator with `pattern` (and so `propertyNames` patterns) anchored as the schema means it.
SpecValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})
