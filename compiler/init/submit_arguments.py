"""A moved-in submit file's arguments as words: HTCondor's two syntaxes, and a queue variable whose
value is a whole row of words (old-syntax `arguments = $(ARGS)`, or `queue a, arguments from (...)`),
which condor_submit splits into words after expanding it."""

from __future__ import annotations

import re
from typing import Any


def argument_words(text: str) -> list[str]:
    """HTCondor's arguments: the new syntax (double-quoted; an argument with blanks in single quotes,
    '' and "" for literal quotes), or the old one (blank-separated)."""
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"') and len(text) > 1):
        return text.split()
    words, current, quoted, started, body, index = [], "", False, False, text[1:-1].replace('""', '"'), 0
    while index < len(body):
        char = body[index]
        if char == "'" and quoted and body[index + 1 : index + 2] == "'":
            current, index = current + "'", index + 2
            continue
        if char == "'":
            quoted, started = not quoted, True
        elif char in " \t" and not quoted:
            if current or started:
                words.append(current)
            current, started = "", False
        else:
            current += char
        index += 1
    if current or started:
        words.append(current)
    return words


# A sweep value a word of the arguments may become (the schema's sweepValue, as sweep_list checks it).
PLAIN = re.compile(r"[A-Za-z0-9._+:=/@%-]{1,200}")
ROW_MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def whole_row_variable(job: dict[str, Any], commands: dict[str, str]) -> str | None:
    """The one variable of `queue V from FILE` when the old-syntax arguments use it as a word of its
    own (`arguments = $(ARGS)`) and no other command uses it: V takes a whole line, and condor_submit
    splits the expanded arguments into words, so each word of the line is an argument."""
    sweep = job.get("sweep_from")
    if not sweep or len(sweep["variables"]) != 1 or sweep["variables"][0] == "arguments":
        return None
    variable = sweep["variables"][0]
    written = commands.get("arguments", "").strip()
    if not written or written.startswith('"') or f"$({variable})" not in written.lower().split():
        return None
    used = any(f"$({variable}" in value.lower() for key, value in commands.items() if key != "arguments")
    return None if used else variable


def arguments_column(
    variables: list[str], rows: list[tuple[str, ...]]
) -> tuple[list[str], list[tuple[str, ...]], list[str]] | str:
    """`queue a, b, arguments from (...)`: each row sets the arguments command itself, whose value
    condor_submit expands (the row's $(a) and $(b)) and splits into words. As (variables, rows, the
    command's words): a word every row gives alike stays in the command ({a} for $(a)); a word that
    differs becomes a variable argN (its row's value). Or why the rows cannot be so written."""
    at = variables.index("arguments")
    others = [v for v in variables if v != "arguments"]
    split = [argument_words(row[at]) for row in rows]
    if not rows or len({len(words) for words in split}) != 1:
        return "its rows' arguments differ in their number of words"
    command: list[str] = []
    varying: list[tuple[int, str]] = []
    for index in range(len(split[0])):
        symbolic = {_symbolic(words[index], others) for words in split}
        if len(symbolic) == 1:
            command.append(symbolic.pop())
            continue
        name = f"arg{index + 1}" if f"arg{index + 1}" not in others else f"arguments{index + 1}"
        varying.append((index, name))
        command.append(f"{{{name}}}")
    new_rows = []
    for row, words in zip(rows, split):
        values = dict(zip(variables, row))
        placed = tuple(_expanded(words[index], values) for index, _ in varying)
        if not all(PLAIN.fullmatch(value) for value in placed):
            return "a word that differs between rows holds a character a sweep value cannot"
        new_rows.append(tuple(values[v] for v in others) + placed)
    return others + [name for _, name in varying], new_rows, command


def _symbolic(word: str, variables: list[str]) -> str:
    """A word with the row's own macros as the spec's placeholders ($(job) -> {job})."""
    return ROW_MACRO.sub(lambda m: f"{{{m.group(1).lower()}}}" if m.group(1).lower() in variables else m.group(0), word)


def _expanded(word: str, values: dict[str, str]) -> str:
    return ROW_MACRO.sub(lambda m: values.get(m.group(1).lower(), m.group(0)), word)
