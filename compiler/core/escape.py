"""Escaping for each language a value can reach. Every template filter lives here.

The schema already narrows most values; these functions make the output safe even for the values
it lets through (and are property-tested with hostile strings in tests/test_escape.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_TOML_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONDOR_SAFE = re.compile(r"[A-Za-z0-9_.,:=/@%+-]+")
# Words a shell takes literally in any position, the first included: shlex.quote's set, except that
# a leading '%' (`%post` is job control) and a leading `NAME=` (an assignment) are quoted.
_SHELL_SAFE = re.compile(r"(?![A-Za-z_][A-Za-z0-9_]*=)[A-Za-z0-9_./:,+@-][A-Za-z0-9_./:,+@%=-]*")
_CONDOR_MACRO = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")
# What an #SBATCH option's value may hold: sbatch splits the line at whitespace and reads quotes and
# '#' its own way, so a value outside this set is refused, never quoted.
_SBATCH_SAFE = re.compile(r"[A-Za-z0-9_.,:=&|()\[\]*%/@+-]+")


@dataclass(frozen=True)
class Table:
    """A TOML inline table, in the order pixi documents its keys (the spec's order)."""

    items: tuple[tuple[str, Any], ...]


def toml_string(value: str) -> str:
    """A TOML basic string. JSON string escapes are a subset of TOML's, except for \\u007f, which TOML
    wants escaped and json leaves alone."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(value: str) -> str:
    return value if _TOML_BARE_KEY.fullmatch(value) else toml_string(value)


def toml_array(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def toml_value(value: object) -> str:
    """A TOML value from the model: a string, a boolean, an integer, a list, or a Table (inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Table):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def shell_quote(value: str) -> str:
    """One POSIX shell word, taken literally wherever it stands, the first word included."""
    return value if _SHELL_SAFE.fullmatch(value) else "'" + value.replace("'", "'\\''") + "'"


def docker_json(value: str) -> str:
    """A JSON string as Dockerfile exec form and LABEL values accept it (no variable expansion in
    exec form; in LABEL a quoted value is one value). '$' is escaped for LABEL's expansion."""
    return json.dumps(value, ensure_ascii=True).replace("$", "\\$")


def yaml_string(value: str) -> str:
    """A double-quoted YAML scalar; the JSON escape set is valid YAML. Refuses GitHub expressions,
    which Actions would evaluate inside any scalar."""
    if "${{" in value:
        raise ValueError(f"refusing to write a GitHub expression from the spec: {value!r}")
    return json.dumps(value, ensure_ascii=True)


def condor_value(value: str) -> str:
    """A right-hand side of a submit-file line. Values come from the schema's narrow patterns; this
    is the last guard against a newline (a new command) or '$(' (a macro)."""
    if "\n" in value or "\r" in value or "$(" in value:
        raise ValueError(f"unsafe value for a submit file: {value!r}")
    return value


# Macros the compiler itself writes into submit-file values (sweep variables, process numbers; a DAG
# node's process, which its VARS set).
_OWN_MACRO = re.compile(r"\$\((PixiHtcSweep[0-9]+|PixiHtcProcess|Process|Cluster)\)")


def condor_path(value: str) -> str:
    """A transfer path that may hold the compiler's own macros, and no others."""
    condor_value(_OWN_MACRO.sub("", value))
    return value


def condor_string(value: str) -> str:
    """A ClassAd string literal, for +Attribute = "..." lines."""
    return '"' + condor_value(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def condor_arguments(arguments: list[str] | tuple[str, ...]) -> str:
    """The `arguments` value in HTCondor's new syntax: the whole in double quotes, an argument with
    spaces or quotes in single quotes, a literal ' written '' and a literal " written "".
    An argument that is exactly one macro reference, $(Name), is the compiler's own and passes."""
    words = []
    for argument in arguments:
        if _CONDOR_MACRO.fullmatch(argument):
            words.append(argument)
            continue
        text = condor_value(argument).replace('"', '""')
        if argument == "" or not _CONDOR_SAFE.fullmatch(argument):
            text = "'" + text.replace("'", "''") + "'"
        words.append(text)
    return '"' + " ".join(words) + '"'


def classad_value(value: str | float | bool) -> str:
    """A ClassAd literal for a +Attribute line: a string (quoted and escaped), a number or a boolean."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return condor_string(value)


def condor_environment(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """The `environment` value in HTCondor's new syntax: the whole in double quotes, NAME=value
    pairs separated by spaces, a value with spaces or quotes in single quotes, a literal ' written
    '' and a literal " written "". Names come from the schema (letters, digits, _). A value is
    literal text: each '$' is written $(DOLLAR), which condor_submit expands to '$' (so neither
    `$(name)` nor `$ENV(name)` in a value is read as a macro); the schema refuses `$$(`."""
    words = []
    for name, value in pairs:
        if "$$(" in value:
            raise ValueError(f"unsafe value for a submit file: {value!r}")
        condor_value(value.replace("$", ""))  # no newline
        text = value.replace('"', '""').replace("$", "$(DOLLAR)")
        if value == "" or not _CONDOR_SAFE.fullmatch(value):
            text = "'" + text.replace("'", "''") + "'"
        words.append(f"{name}={text}")
    return '"' + " ".join(words) + '"'


def sbatch_value(value: object) -> str:
    """The value of an `#SBATCH --option=value` line. The schema's patterns already narrow every
    value; this is the last guard against whitespace, a quote or a newline (a new line of the script)."""
    text = str(value)
    if not _SBATCH_SAFE.fullmatch(text):
        raise ValueError(f"unsafe value for an #SBATCH line: {text!r}")
    return text


FILTERS = {
    "toml": toml_string,
    "toml_key": toml_key,
    "toml_array": toml_array,
    "toml_value": toml_value,
    "sh": shell_quote,
    "docker_json": docker_json,
    "yaml": yaml_string,
    "condor": condor_value,
    "condor_string": condor_string,
    "condor_path": condor_path,
    "condor_arguments": condor_arguments,
    "condor_environment": condor_environment,
    "classad": classad_value,
    "sbatch": sbatch_value,
}
