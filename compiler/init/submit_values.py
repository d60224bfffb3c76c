"""Values of a moved-in submit file as the spec writes them: macros expanded (bounded), numbers
checked (a value that is not one is reported with its line, never a crash), paths rebased."""

from __future__ import annotations

import re
from typing import Any

from ..core.foreign import shown
from .draft import Draft
from .places import Places
from .submit_file import SubmitFile

# HTCondor's own macros, as placeholders of the spec.
BUILT_IN_MACROS = {
    "process": "{process}",
    "procid": "{process}",
    "itemindex": "{process}",
    "row": "{process}",
    "cluster": "{cluster}",
    "clusterid": "{cluster}",
}
# HTCondor's macros that are empty (or a number) unless the queue statement sets them: condor_submit
# expands an undefined macro to nothing. Step counts the processes of `queue N` (per item).
EMPTY_MACROS = ("node", "item")
# $(name) and $(name:default); `$ENV(x)`, `$RANDOM_CHOICE(...)` and the other function macros do not match.
MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.]*)(?::([^()]*))?\)")
# What condor_submit evaluates on the access point (`$ENV(HOME)`, `$RANDOM_INTEGER(1,9)`, `$Fn(x)`), and
# what the schedd fills in when the job matches (`$$(Name)`): neither has a value init can know.
FUNCTION_MACRO = re.compile(r"\$\$\(|\$[A-Za-z_]+\(")


# One member of getenv's match list as the spec holds it (the schema's pattern): a name, or a pattern
# with at most two *, one of them at the end; ! leaves the names it matches out.
GETENV_MEMBER = re.compile(r"!?(?=[A-Za-z0-9_*])[A-Za-z0-9_]*(\*[A-Za-z0-9_]*)?\*?")


def getenv_value(text: str) -> bool | list[str] | None:
    """HTCondor's getenv (or get_env): a boolean (true, false, 1 or 0 in any case: condor_config.cpp,
    string_is_boolean_param), else a match list separated by commas, semicolons or blanks
    (env.cpp, AddToWhiteBlackList; an empty `!` is dropped, as HTCondor drops it); None when a
    member is not one the spec can hold."""
    text = text.strip()
    if text.lower() in ("true", "1", "false", "0"):
        return text.lower() in ("true", "1")
    members = [m for m in re.split(r"[,;\s]+", text) if m and m != "!"]
    if not members or not all(GETENV_MEMBER.fullmatch(m) and len(m) <= 128 for m in members):
        return None
    return list(dict.fromkeys(members))


def carry_getenv(draft: Draft, job: dict[str, Any], commands: dict[str, str], macros: Macros, where: str) -> None:
    """getenv (or its other name get_env; condor_submit reads getenv first) as the spec's getenv."""
    names = [key for key in ("getenv", "get_env") if key in commands]
    if not names:
        return
    written = commands[names[0]]
    value = getenv_value(macros.placed(written))
    if value is None:
        draft.lost.append(
            f"{where}: {names[0]} = {shown(written, 80)} (names or patterns the spec's getenv cannot hold: "
            "letters, digits, _ and at most two *, one at the end)"
        )
    elif value:
        job["getenv"] = value
    for key in names:
        del commands[key]


class Numbers:
    """Integer and decimal submit values, with their macros written out; a value that is not a
    number (a queue variable, `1.5` GPUs) is reported with its line instead of crashing init."""

    def __init__(
        self, draft: Draft, commands: dict[str, str], lines: dict[str, int], macros: Macros, parsed: SubmitFile
    ) -> None:
        self.draft, self.commands, self.lines, self.macros, self.parsed = draft, commands, lines, macros, parsed

    def lost(self, key: str, why: str) -> None:
        value = self.commands.pop(key)
        self.draft.lost.append(f"{self.parsed.where(self.lines[key])}: {key} = {value} ({why})")

    def integer(self, key: str) -> int | None:
        found = self._number(key, r"[0-9]{1,9}", "a whole number")
        return None if found is None else int(found)

    def decimal(self, key: str) -> float | None:
        found = self._number(key, r"[0-9]{1,6}(\.[0-9]{1,6})?", "a number")
        return None if found is None else float(found)

    def _number(self, key: str, shape: str, what: str) -> str | None:
        """The value, its macros written out, when it has the shape; else reported with its line."""
        text = self.macros.placed(self.commands[key]).strip()
        if re.fullmatch(shape, text):
            del self.commands[key]
            return text
        self.lost(key, f"not {what} the spec can hold; write the number")
        return None

    def text(self, key: str) -> str:
        return self.macros.placed(self.commands.pop(key))


class Macros:
    """$(name) in the submit file's values, as the spec writes them: HTCondor's process and cluster
    numbers and the queue's variables become placeholders, the file's own macros their values,
    `$(name:default)` its default where the file does not define it. Each macro is expanded once
    (memoised), a cycle stays as written, and no expansion grows past MAX_EXPANDED characters: a
    few hundred bytes of nested macros cannot make init run for minutes. `$ENV(...)` and the other
    function macros are never evaluated (they read this machine, not the file)."""

    MAX_EXPANDED = 64 * 1024
    MAX_DEPTH = 100

    def __init__(self, commands: dict[str, str], queue: list[str]) -> None:
        self.commands, self.queue = commands, queue
        self.used: set[str] = set()
        self.unknown: set[str] = set()
        self._done: dict[str, str] = {}
        self._busy: set[str] = set()

    def without_queue(self) -> None:
        """The queue's variables are no longer placeholders (the queue statement was not carried)."""
        self.queue = []
        self._done.clear()

    def placed(self, text: str) -> str:
        out, total = [], 0
        position = 0
        for match in MACRO.finditer(text):
            if text[match.start() - 1 : match.start()] == "$":  # $$(Name): the schedd's, at match time
                continue
            out.append(text[position : match.start()])
            value = self._value(match.group(1), match.group(2), match.group(0))
            total += len(value) + match.start() - position
            if total > self.MAX_EXPANDED:
                self.unknown.add(f"{shown(match.group(0), 40)} (its expansion is over {self.MAX_EXPANDED} characters)")
                return text
            out.append(value)
            position = match.end()
        out.append(text[position:])
        return "".join(out)

    def _value(self, name: str, default: str | None, written: str) -> str:
        key = name.lower()
        if key in self.queue:
            return f"{{{key}}}"
        if key in BUILT_IN_MACROS:
            return BUILT_IN_MACROS[key]
        if key == "dollar":
            return "$"
        if key == "jobid":
            return "{cluster}.{process}"
        if key == "step" and not self.queue:  # queue N: Step is the process's number
            return "{process}"
        if key in EMPTY_MACROS and key not in self.commands:
            return ""
        if key in self._done:
            return self._done[key]
        if key in self.commands and len(self._busy) >= self.MAX_DEPTH:
            self.unknown.add(f"{shown(written, 60)} (macros nested over {self.MAX_DEPTH} deep)")
            return written
        if key in self.commands and key not in self._busy:
            self.used.add(key)
            self._busy.add(key)
            try:
                value = self.placed(self.commands[key])
            finally:
                self._busy.discard(key)
            self._done[key] = value
            return value
        if default is not None and (key not in self.commands or _names_itself(key, self.commands[key])):
            # `requirements = (X) && $(requirements:True)`: a command naming itself reads its earlier
            # value, and the file has none: the default.
            return self.placed(default) if "$(" in default else default
        self.unknown.add(shown(written, 60))
        return "" if default is None else written  # what condor_submit makes of a macro it has no value for

    def own_defaults(self, key: str, text: str) -> str:
        """`$(key:default)` inside key's own value as its default (the file gives key no earlier
        value); every other macro as written."""
        return MACRO.sub(lambda m: m.group(2) if m.group(1).lower() == key and m.group(2) else m.group(0), text)

    def without_elsewhere(self, text: str, found: list[str]) -> str:
        """The value without its `$ENV(...)`, other function macros and `$$(...)` (appended to
        `found` as written): like a macro condor_submit has no value for, each is left out."""
        out, position = [], 0
        for match in FUNCTION_MACRO.finditer(text):
            if match.start() < position:
                continue
            end = text.find(")", match.end())
            end = len(text) if end < 0 else end + 1
            found.append(text[match.start() : end])
            out.append(text[position : match.start()])
            position = end
        out.append(text[position:])
        return "".join(out)


def _names_itself(key: str, value: str) -> bool:
    return any(match.group(1).lower() == key for match in MACRO.finditer(value))


class Moved:
    """Paths of the submit file, rebased to the project root; one that leads out of it is reported."""

    def __init__(self, draft: Draft, parsed: SubmitFile, places: Places) -> None:
        self.draft, self.parsed, self.places = draft, parsed, places

    def path(self, path: str, line: int, key: str) -> str | None:
        rebased = self.places.rebased(path, contents=key == "transfer_input_files")
        if rebased is None:
            self.draft.lost.append(
                f"{self.parsed.where(line)}: {key} {shown(path, 120)} (outside the project: "
                "copy it in, or fetch it by URL)"
            )
        elif self.places.through_a_link(rebased):
            self.draft.lost.append(
                f"{self.parsed.where(line)}: {key} {shown(path, 120)} (reached through a symbolic link, which "
                "init never follows: name the file itself)"
            )
            return None
        return rebased
