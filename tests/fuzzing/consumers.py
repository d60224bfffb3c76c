"""Parsing helpers: the outputs read as their consumers read them (HTCondor's argument syntax,
ClassAd expressions, Apptainer's definition-file sections and labels), and the patterns the checks use."""

from __future__ import annotations

import math
import re
from typing import Any

import classad2


def _same(a: Any, b: Any) -> bool:
    """Equality that holds NaN equal to NaN and tells 1 from True."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool) or (isinstance(a, (dict, list)) and type(a) is not type(b)):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and _same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return (type(a) is type(b) and bool(a == b)) or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b
    )


# What str.splitlines() splits on besides '\n': a forged line for anyone who reads the message.
LINE_BREAKS = re.compile(r"[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
# Job attributes that submit commands set: a +attribute of the same name replaces the command's.
COMMAND_ATTRIBUTES = {
    "requirements",
    "cmd",
    "args",
    "arguments",
    "environment",
    "env",
    "jobuniverse",
    "iwd",
    "containerimage",
    "transferinput",
    "transferoutput",
    "in",
    "out",
    "err",
    "userlog",
}
PREDEFINED_MACROS = {"cluster", "process", "clusterid", "procid", "item", "itemindex", "step", "row", "node"}


def _argument(value: Any) -> str:
    """How a command item or sweep value reaches the payload (README: one argument per item)."""
    return repr(value) if isinstance(value, float) else str(value)


def condor_argv(value: str) -> list[str]:
    """HTCondor's new `arguments`/`environment` syntax: in double quotes, words split on spaces,
    single quotes group, '' is a literal ' and "" a literal "."""
    value = value.strip()
    assert len(value) >= 2 and value[0] == '"' and value[-1] == '"', f"not in HTCondor's new syntax: {value!r}"
    body, argv, word, quoted, i = value[1:-1], [], None, False, 0
    while i < len(body):
        c = body[i]
        if c == '"':
            assert body[i + 1 : i + 2] == '"', f"lone double quote: {value!r}"
            word, i = (word or "") + '"', i + 2
        elif quoted:
            assert word is not None  # the opening quote started a word
            if c == "'" and body[i + 1 : i + 2] == "'":
                word, i = word + "'", i + 2
            elif c == "'":
                quoted, i = False, i + 1
            else:
                word, i = word + c, i + 1
        elif c == "'":
            quoted, word, i = True, word or "", i + 1
        elif c in " \t":
            if word is not None:
                argv.append(word)
            word, i = None, i + 1
        else:
            word, i = (word or "") + c, i + 1
    assert not quoted, f"unterminated single quote: {value!r}"
    if word is not None:
        argv.append(word)
    return argv


def classad(value: str) -> Any:
    """A ClassAd expression as HTCondor reads it: the literal's value, or the expression (normalized)."""
    try:
        expression = classad2.ExprTree(value)
    except Exception as error:  # classad2 raises its own exception types
        raise AssertionError(f"not a ClassAd expression: {value!r} ({error})") from error
    result = expression.eval()
    return result if isinstance(result, (str, int, float, bool)) else ["expression", str(expression)]


# Apptainer's definition-file parser, ported (apptainer pkg/build/types/parser/deffile.go).
_GO_SPACE = "".join(
    sorted(
        set(
            " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
            "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
        )
    )
)
APPTAINER_SECTIONS = {
    "help",
    "setup",
    "files",
    "labels",
    "environment",
    "pre",
    "post",
    "runscript",
    "test",
    "startscript",
    "arguments",
}


def go_trim(text: str) -> str:
    return text.strip(_GO_SPACE)


def apptainer_stages(text: str) -> list[dict[str, Any]]:
    """Stages (split at ^bootstrap:), each with its header, its sections in order, and its labels."""
    starts = [m.start() for m in re.finditer(r"(?mi)^bootstrap:", text)]
    stages = []
    for a, b in zip([0, *starts], [*starts, len(text)]):
        header: dict[str, str] = {}
        sections: list[tuple[str, list[str]]] = []
        for line in (line.removesuffix("\r") for line in text[a:b].split("\n")):
            words = line.split()
            if words and words[0].startswith("%"):
                sections.append((line.strip(), []))
            elif sections:
                sections[-1][1].append(line)
            elif go_trim(line) and not go_trim(line).startswith("#"):
                key, sep, value = line.split("#")[0].partition(":")
                assert sep, f"apptainer.def header line without ':': {line!r}"
                header[go_trim(key).lower()] = go_trim(value)
        if not header and not sections:
            continue
        labels: dict[str, str] = {}
        for name, body in sections:
            if name.lstrip("%").split(" ")[0].lower() == "labels":
                for line in go_trim("\n".join(body)).split("\n"):
                    line = go_trim(line)
                    if line and not line.startswith("#"):
                        key, _, value = line.partition(" ")
                        labels[go_trim(key)] = go_trim(value)
        stages.append(
            {
                "header": header,
                "sections": [name for name, _ in sections],
                "bodies": [body for _, body in sections],
                "labels": labels,
            }
        )
    return stages
