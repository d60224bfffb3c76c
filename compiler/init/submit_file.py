"""An HTCondor submit file read as data: commands, attributes and the queue statement, with lines.

HTCondor's own parser (`htcondor2.Submit`) executes while it reads: `include command : CMD`,
`include : CMD |` and their variants run a command, and `include : PATH` reads any file into the
macros (REFERENCE.md, December 2026). A submit file someone sent is never handed to it. This reader
understands the submit language's shape (comments, `\\` continuations, `NAME = value`,
`+Attr`/`MY.Attr`, `NAME @=TAG ... @TAG` blocks, one `queue` statement with an inline table,
`if`/`elif`/`else`/`endif` decided where the file itself decides them: Branches) and refuses, with
its `file:line`, what it would have to execute or include to read: every `include`, and a
conditional whose branch depends on the command line or the machine the file is submitted from. Macros are not expanded here (init.from_submit does it, bounded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import UsageError
from ..core.foreign import ForeignFileError, read_text, shown

MAX_SUBMIT_BYTES = 4 * 1024 * 1024  # the largest submit file init reads (real ones are a few KB)
MAX_QUEUE_ROWS = 100_000  # an inline queue table's rows, as sweep_list allows a list's lines
# What one file may ask init to carry into the spec. Real submit files hold tens of commands of a few
# hundred characters; past these bounds writing the spec (a YAML dump) would run for minutes.
MAX_COMMANDS = 2_000  # commands and +attributes
MAX_VALUE_CHARS = 64 * 1024  # one command, its name and value (a `@=` block's whole body)
MAX_VALUES_CHARS = 256 * 1024  # every command together
MAX_LIST_ITEMS = 2_000  # comma-separated entries in one value (transfer_input_files)
MAX_QUEUE_BLOCKS = 1_000  # queue statements whose commands are kept (to make one sweep of them)
MAX_REFUSED_SHOWN = 20  # refused lines listed; the rest are counted
# `include`, in any letter case, as the first word of a logical line (HTCondor's keyword), whatever
# follows it: `include : f`, `include command : c`, `include ifexist : f`, `include command into f : c`.
INCLUDE = re.compile(r"include\b", re.IGNORECASE)
CONDITIONAL = re.compile(r"(if|elif|else|endif|error|warning)\b", re.IGNORECASE)
COMMAND = re.compile(r"(\+|my\.)?([A-Za-z_][A-Za-z0-9_.]*)\s*(@?=)\s*(.*)", re.IGNORECASE | re.DOTALL)
QUEUE = re.compile(r"queue\b\s*(.*)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Value:
    text: str
    line: int  # 1-based line of the source where the command starts


@dataclass
class SubmitFile:
    """What a submit file says. `commands` are keyed by lower-cased name (HTCondor's names are case
    blind; the last assignment wins, as in HTCondor); `attributes` keep their case (+Name, MY.Name)."""

    shown: str  # the file's name as messages show it
    commands: dict[str, Value] = field(default_factory=dict)
    attributes: dict[str, Value] = field(default_factory=dict)
    queue: str | None = None  # the queue statement's arguments ("" for a bare `queue`)
    queue_line: int = 0
    queue_items: list[str] | None = None  # the lines of an inline `from (...)`/`in (...)` table
    queue_items_line: int = 0  # the line of the table's first item
    extra_queues: list[int] = field(default_factory=list)  # lines of further queue statements
    # Each queue statement's arguments and the commands in force there: a file of `arguments = ...`
    # `queue` blocks is one sweep when nothing else differs between them.
    queued: list[tuple[str, dict[str, Value]]] = field(default_factory=list)
    after_queue: list[str] = field(default_factory=list)  # `file:line: ...` for commands no queue statement reads
    assumed: list[str] = field(default_factory=list)  # `file:line: why` for conditionals decided on an assumption

    def where(self, line: int) -> str:
        return f"{self.shown}:{line}"


def read_submit(path: Path, shown_name: str) -> SubmitFile:
    try:
        text = read_text(path, MAX_SUBMIT_BYTES, what="a submit file")
    except ForeignFileError as error:
        raise UsageError(f"{error.at(shown_name)}: {error}") from error
    return parse_submit(text, shown_name)


def parse_submit(text: str, shown_name: str) -> SubmitFile:
    """The submit file's commands; raises UsageError listing every include and conditional line."""
    result = SubmitFile(shown=shown_name)
    refused: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index, carried, last_queue = 0, 0, 0
    first: tuple[dict[str, Value], dict[str, Value]] = ({}, {})
    branches = Branches()
    while index < len(lines):
        start = index + 1
        logical, index = _logical_line(lines, index)
        stripped = logical.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if INCLUDE.match(stripped):
            refused.append(
                f"{shown(shown_name)}:{start}: an `include` line: init never runs or reads what a submit "
                "file includes; paste the included text into the file, or move it in without it"
            )
            continue
        if CONDITIONAL.match(stripped) and not COMMAND.fullmatch(stripped):
            why = branches.read(stripped, result.commands)
            if why.startswith(ASSUMED):
                result.assumed.append(f"{shown(shown_name)}:{start}: `{shown(stripped, 60)}`: {why}")
            elif why:
                refused.append(f"{shown(shown_name)}:{start}: `{shown(stripped.split()[0], 20)}`: {why}")
            continue
        if not branches.active:  # a branch condor_submit does not take
            continue
        queue = QUEUE.fullmatch(stripped)
        if queue and not COMMAND.fullmatch(stripped):
            if result.queue is None:
                first = (dict(result.commands), dict(result.attributes))
            if len(result.queued) < MAX_QUEUE_BLOCKS:
                result.queued.append((queue.group(1).strip(), dict(result.commands)))
            last_queue = start
            if result.queue is not None:
                result.extra_queues.append(start)
                index = _skip_table(lines, index, queue.group(1))
                continue
            result.queue, result.queue_line = queue.group(1).strip(), start
            index = _queue_table(result, lines, index, refused)
            continue
        command = COMMAND.fullmatch(stripped)
        if command is None:
            refused.append(
                f"{shown(shown_name)}:{start}: not a submit command (`NAME = value`): {shown(repr(stripped), 60)}"
            )
            continue
        prefix, name, operator, value = command.groups()
        if operator == "@=":
            value, index = _block(lines, index, value.strip(), shown_name, start, refused)
        carried += len(name) + len(value)
        over = _over(
            len(result.commands) + len(result.attributes) + 1, len(name) + len(value), carried, value.count(",") + 1
        )
        if over:
            refused.append(f"{shown(shown_name)}:{start}: {over}; init reads no further")
            break
        target = result.attributes if prefix else result.commands
        target[name if prefix else name.lower()] = Value(value.strip(), start)
    if result.queue is not None:
        # condor_submit makes each job from the commands above its queue statement: the spec is the
        # first's job; a command after the last queue statement is read by none.
        for key, found in [*result.commands.items(), *result.attributes.items()]:
            if found.line > last_queue:
                result.after_queue.append(
                    f"{shown(shown_name)}:{found.line}: {shown(key, 40)} = {shown(found.text, 60)} "
                    "(after the last queue statement: condor_submit queues no job with it)"
                )
        result.commands, result.attributes = first
    if branches.open:
        refused.append(f"{shown(shown_name)}: an `if` is never closed by `endif`")
    if refused:
        more = len(refused) - MAX_REFUSED_SHOWN
        raise UsageError(
            "\n".join(
                refused[:MAX_REFUSED_SHOWN]
                + ([f"{shown(shown_name)}: {more:,} more lines refused as the ones above"] if more > 0 else [])
            )
        )
    return result


class Branches:
    """`if` / `elif` / `else` / `endif`, decided as condor_submit decides them where the answer is in
    the file: `[!] defined NAME` (true when the file has given NAME a value that is not empty above
    the line: config.cpp, CIFT_IFDEF) and a literal true, false or number. A NAME the file does not
    set is undefined, as a plain `condor_submit job.sub` has it (`condor_submit NAME=1` would define
    it): decided so, and said with its line (ASSUMED). Anything else (`version`, an expression)
    comes from the machine it is submitted on: refused, with the line."""

    def __init__(self) -> None:
        self.frames: list[tuple[bool, bool]] = []  # (this branch taken, some branch of the if taken)

    @property
    def active(self) -> bool:
        return all(taken for taken, _ in self.frames)

    @property
    def open(self) -> bool:
        return bool(self.frames)

    def read(self, line: str, commands: dict[str, Value]) -> str:
        """Follow the line; '' or why it is refused."""
        keyword, condition = [*re.split(r"[\s:]+", line, maxsplit=1), ""][:2]
        keyword = keyword.lower()
        if keyword in ("error", "warning"):
            if not self.active:
                return ""
            return "an `error`/`warning` statement (condor_submit prints it, and stops at `error`); remove it"
        if keyword == "if":
            outer = self.active
            value, why = _decided(condition, commands) if outer else (False, "")
            self.frames.append((outer and value, value))
            return why
        if not self.frames:
            return f"`{keyword}` without an `if`"
        _, done = self.frames.pop()
        outer = self.active
        if keyword == "endif":
            return ""
        if keyword == "else":
            self.frames.append((outer and not done, True))
            return ""
        value, why = (False, "") if done or not outer else _decided(condition, commands)
        self.frames.append((outer and not done and value, done or value))
        return why


ASSUMED = "the file does not set it above"
# Names condor_submit defines for every job (htcondor2.Submit, probed: `if defined Process` is true),
# and names this machine's configuration defines (OpSys, IsLinux...), which only the pool can answer.
JOB_MACROS = frozenset({"process", "procid", "cluster", "clusterid", "step", "row", "itemindex", "jobid"})
JOB_MACROS |= frozenset({"request_cpus", "request_memory"})
MACHINE_MACROS = frozenset(
    {"islinux", "iswindows", "ismacos", "opsys", "arch", "opsysmajorver", "opsysver", "opsysandver", "spool"}
)
UNDECIDED = (
    "init decides a conditional only on a macro the file sets above it, or a literal; this one depends on "
    "how or where the file is submitted: keep the branch you use"
)


def _decided(condition: str, commands: dict[str, Value]) -> tuple[bool, str]:
    text = condition.strip()
    negated = text.startswith("!")
    text = text.lstrip("!").strip()
    words = text.split()
    if text.lower() in ("true", "yes", "false", "no"):
        value = text.lower() in ("true", "yes")
    elif re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        value = float(text) != 0
    elif len(words) == 2 and words[0].lower() == "defined" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", words[1]):
        name = words[1].lower()
        if name in JOB_MACROS and name not in commands:
            return not negated, ""  # condor_submit defines it for every job
        if name in MACHINE_MACROS and name not in commands:
            return False, UNDECIDED
        if name not in commands:
            return negated, (
                f"{ASSUMED}: read as a plain `condor_submit` reads it, with {shown(words[1], 40)} undefined "
                f"(`condor_submit {shown(words[1], 40)}=...` would take the other branch)"
            )
        value = commands[name].text.strip() != ""
    else:
        return False, UNDECIDED
    return value != negated, ""


def _over(commands: int, size: int, carried: int, items: int) -> str:
    """Why a command passes what init carries from one file ("": it does not)."""
    if commands > MAX_COMMANDS:
        return f"over {MAX_COMMANDS:,} commands (a submit file holds tens)"
    if size > MAX_VALUE_CHARS:
        return f"a command of {size:,} characters (init carries up to {MAX_VALUE_CHARS // 1024} KiB in one)"
    if carried > MAX_VALUES_CHARS:
        return f"the commands so far hold over {MAX_VALUES_CHARS // 1024} KiB (a submit file holds a few KiB)"
    if items > MAX_LIST_ITEMS:
        return f"a list of {items:,} entries (init carries up to {MAX_LIST_ITEMS:,}); name a directory instead"
    return ""


def _logical_line(lines: list[str], index: int) -> tuple[str, int]:
    """A line and every line a trailing backslash joins to it (HTCondor joins before it reads the
    keyword, so `inc\\` + `lude : x` is an include)."""
    text = lines[index]
    index += 1
    while text.endswith("\\") and index < len(lines):
        text = text[:-1] + lines[index]
        index += 1
    return text.removesuffix("\\"), index


def _queue_table(result: SubmitFile, lines: list[str], index: int, refused: list[str]) -> int:
    """An inline table: `from (` or `in (` with the items on the following lines up to `)`; or on the
    same line, `in (a b c)`."""
    arguments = result.queue or ""
    opened = re.search(r"\b(?:from|in)\s*\(\s*(.*)$", arguments, re.IGNORECASE | re.DOTALL)
    if opened is None:
        return index
    rest = opened.group(1)
    result.queue = arguments[: opened.start(1)].rstrip().rstrip("(").rstrip()
    result.queue_items_line = result.queue_line if rest.strip() else index + 1
    if ")" in rest:
        result.queue_items = [rest[: rest.index(")")]]
        return index
    items = [rest] if rest.strip() else []
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.strip().startswith(")"):
            result.queue_items = items
            return index
        if len(items) >= MAX_QUEUE_ROWS:
            refused.append(
                f"{shown(result.shown)}:{result.queue_line}: the queue table has over {MAX_QUEUE_ROWS} "
                "rows; write them to a file and queue `from` it"
            )
            return len(lines)
        items.append(line)
    refused.append(f"{shown(result.shown)}:{result.queue_line}: the queue table's `(` is never closed")
    return index


def _skip_table(lines: list[str], index: int, arguments: str) -> int:
    opened = re.search(r"\b(?:from|in)\s*\(([^)]*)$", arguments, re.IGNORECASE)
    if opened is None:
        return index
    while index < len(lines) and not lines[index].strip().startswith(")"):
        index += 1
    return index + 1


def _block(lines: list[str], index: int, tag: str, shown_name: str, start: int, refused: list[str]) -> tuple[str, int]:
    """`NAME @=TAG` ... `@TAG`: a value of several lines."""
    body: list[str] = []
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.strip() == f"@{tag}":
            return "\n".join(body), index
        body.append(line)
    refused.append(f"{shown(shown_name)}:{start}: `@={shown(tag, 20)}` is never closed by `@{shown(tag, 20)}`")
    return "\n".join(body), index
