"""The pipeline's DAGMan node status file, build/htcondor/pipeline.dag.status (#24): what DAGMan says
of the DAG and of each node, read as foreign data.

The DAG asks for it (`NODE_STATUS_FILE htcondor/pipeline.dag.status 30`, pipeline.dag.j2); DAGMan
rewrites it at most every 30 seconds while nodes change, and a last time when the DAG ends. Its
format is upstream's Dag::DumpNodeStatus (src/condor_dagman/dag.cpp in htcondor/htcondor): New
ClassAds, one per block of lines from `[` to `]`, each attribute on a line of its own, two spaces in,
`Name = value;` where value is an integer or a string as ClassAdUnParser writes it, some followed by
a `/* ... */` comment (the state's name, the time in words), and DagFiles a list of strings over
several lines. First a DagStatus ad (DagStatus, NodesTotal, NodesDone, NodesFailed, NodesFutile, ...,
Timestamp), then a NodeStatus ad per node (Node, NodeStatus, StatusDetails, RetryCount,
JobProcsQueued, JobProcsHeld), last a StatusEnd ad (EndTime, NextUpdate: 0 once the DAG is done).
DAGMan writes it whole into `<file>.tmp` and renames that into place, so a file without its StatusEnd
ad was cut, or written by something else.

Every line is first held to that shape (no nesting, no expression, no operator: a hostile file cannot
take the ClassAd parser anywhere deep), and only then parsed with classad2. The file is read only as a
regular file reached without a link, up to STATUS_LIMIT bytes, lines of at most LINE_LIMIT characters; anything else is a StatusFileError
naming the file and the line.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core import foreign
from ..findings import refusal

# 32 MiB: a node's ad is about 200 bytes, so room for over a hundred thousand nodes with long details.
STATUS_LIMIT = 32 * foreign.MiB
LINE_LIMIT = 64 * 1024  # DAGMan's longest line is a node's name or details: a line longer is not one it wrote
DETAIL_CHARS = 300  # characters kept of a node's StatusDetails (DAGMan's messages are one short line)
# Node::status_t in src/condor_dagman/node.h (its values are the file's, "must stay the same").
NODE_STATES = ("not ready", "ready", "pre script", "submitted", "post script", "done", "error", "futile")
DONE, ERROR, FUTILE = 5, 6, 7
COMMENT = r"(?: /\*(?:[^*]|\*(?!/))*\*/)?"
STRING = r'"(?:[^"\\]|\\.)*"'
ATTRIBUTE = re.compile(rf"  ([A-Za-z][A-Za-z0-9_]*) = (-?[0-9]{{1,19}}|{STRING});{COMMENT}")
LIST_OPEN = re.compile(r"  ([A-Za-z][A-Za-z0-9_]*) = \{")
LIST_ITEM = re.compile(rf"    {STRING},?|")
LIST_CLOSE = re.compile(r"  \};")
NOT_READ = "DAGMan writes its node status file as a regular file, so it is not read"


class StatusFileError(Exception):
    """A status file that is not one DAGMan wrote; the message names the file (and the line)."""


@dataclass(frozen=True)
class NodeState:
    name: str
    state: int  # an index of NODE_STATES
    details: str  # DAGMan's StatusDetails, shown() already
    retries: int  # RetryCount: the retries DAGMan has made of it
    queued: int  # JobProcsQueued
    held: int  # JobProcsHeld
    line: int

    @property
    def state_name(self) -> str:
        return NODE_STATES[self.state]


@dataclass(frozen=True)
class DagState:
    state: int  # DagStatus, an index of NODE_STATES
    note: str  # what the comment after it says: success, failed, aborted, removed, held (shown())
    dag_files: tuple[str, ...]
    written: int  # Timestamp, seconds since the epoch
    finished: bool  # NextUpdate = 0: DAGMan writes it no more
    nodes: tuple[NodeState, ...]


def read_status(path: Path, shown: str, *, within: Path | None = None) -> DagState | None:
    """The status file, or None when there is none (the DAG has not run yet)."""
    name = foreign.shown(shown)
    try:
        foreign.link_inside(path, within)
        size = path.lstat().st_size
    except FileNotFoundError:
        return None
    except (foreign.ForeignFileError, OSError):
        size = 0  # read_bytes says what is wrong, in its words
    if size > STATUS_LIMIT:
        raise StatusFileError(f"{name}: the file is {size:,} bytes, over the {STATUS_LIMIT:,} pixi-htc reads; not read")
    try:
        read = foreign.read_bytes(path, STATUS_LIMIT, within=within, missing_ok=True)
    except foreign.ForeignFileError as error:
        raise StatusFileError(f"{name}: {refusal(error)}; {NOT_READ}") from error
    if read is None:
        return None
    if read.cut:
        line = read.data.count(b"\n", 0, STATUS_LIMIT) + 1
        raise StatusFileError(f"{name}:{line}: the file grew over the {STATUS_LIMIT:,} bytes pixi-htc reads; not read")
    try:
        text = read.data.decode("ascii")  # ClassAdUnParser escapes every other byte
    except UnicodeDecodeError as error:
        line = read.data.count(b"\n", 0, error.start) + 1
        raise StatusFileError(f"{name}:{line}: a byte that is not ASCII; DAGMan did not write this file") from error
    return parse(text, name)


def parse(text: str, name: str) -> DagState:
    """The ads of a status file's text; `name` (shown already) is what messages call it."""
    blocks = _blocks(text, name)
    ads = _parse_ads(text, blocks, name)
    if not ads:
        raise StatusFileError(f"{name}:1: no ClassAd in it; DAGMan writes a DagStatus ad first")
    kinds = [ad.get("Type") for ad in ads]
    if kinds[0] != "DagStatus":
        raise StatusFileError(f"{name}:{blocks[0][0]}: the first ad is not the DagStatus ad DAGMan writes first")
    if kinds[-1] != "StatusEnd" or len(ads) < 2:
        raise StatusFileError(
            f"{name}:{text.count(chr(10)) + 1}: the file ends without DAGMan's StatusEnd ad: it was cut "
            "(DAGMan renames a whole file into place)"
        )
    head, end = ads[0], ads[-1]
    nodes: dict[str, NodeState] = {}
    for (line, _), ad in zip(blocks[1:-1], ads[1:-1]):
        if ad.get("Type") != "NodeStatus":
            raise StatusFileError(f"{name}:{line}: between the DagStatus and StatusEnd ads only NodeStatus ads belong")
        node = NodeState(
            name=_string(ad, "Node", name, line),
            state=_number(ad, "NodeStatus", name, line, most=len(NODE_STATES) - 1),
            details=foreign.shown(ad.get("StatusDetails", ""), DETAIL_CHARS),
            retries=_number(ad, "RetryCount", name, line),
            queued=_number(ad, "JobProcsQueued", name, line, default=0),
            held=_number(ad, "JobProcsHeld", name, line, default=0),
            line=line,
        )
        if node.name in nodes:
            raise StatusFileError(
                f"{name}:{line}: node {foreign.shown(node.name)} again (first at line {nodes[node.name].line})"
            )
        nodes[node.name] = node
    files = head.get("DagFiles", [])
    if not isinstance(files, list) or not all(isinstance(file, str) for file in files):
        raise StatusFileError(f"{name}:{blocks[0][0]}: DagFiles is not a list of file names")
    return DagState(
        state=_number(head, "DagStatus", name, blocks[0][0], most=len(NODE_STATES) - 1),
        note=_note(text, blocks[0]),
        dag_files=tuple(files),
        written=_number(head, "Timestamp", name, blocks[0][0], default=0),
        finished=_number(end, "NextUpdate", name, blocks[-1][0], default=1) == 0,
        nodes=tuple(nodes.values()),
    )


def _blocks(text: str, name: str) -> list[tuple[int, int]]:
    """(first line, last line) of each ad, after every line is held to the shape DAGMan writes."""
    blocks: list[tuple[int, int]] = []
    start = 0  # the line of the open `[`, 0 outside an ad
    in_list = False
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > LINE_LIMIT:
            raise StatusFileError(
                f"{name}:{number}: the line is {len(line):,} characters, over the {LINE_LIMIT:,} pixi-htc reads; not read"
            )
        if not start:
            if line == "[":
                start = number
            elif line.strip():
                raise StatusFileError(f"{name}:{number}: {_quoted(line)} stands outside an ad ([ ... ])")
        elif in_list:
            if LIST_CLOSE.fullmatch(line):
                in_list = False
            elif not LIST_ITEM.fullmatch(line):
                raise StatusFileError(f"{name}:{number}: {_quoted(line)} is not a file name of the list")
        elif line == "]":
            blocks.append((start, number))
            start = 0
        elif LIST_OPEN.fullmatch(line):
            in_list = True
        elif not ATTRIBUTE.fullmatch(line):
            raise StatusFileError(
                f"{name}:{number}: {_quoted(line)} is not an attribute as DAGMan writes one (  Name = value;)"
            )
    if start:
        raise StatusFileError(f"{name}:{start}: the ad opened here is never closed: the file was cut")
    return blocks


def _parse_ads(text: str, blocks: list[tuple[int, int]], name: str) -> list[dict[str, Any]]:
    import classad2

    lines = text.split("\n")
    ads = []
    for first, last in blocks:
        source = "\n".join(lines[first - 1 : last])
        try:
            parsed = list(classad2.parseAds(source, classad2.ParserType.New))
        except Exception as error:  # classad2 raises ValueError on what it cannot read
            raise StatusFileError(
                f"{name}:{first}: the ad cannot be read as a ClassAd ({foreign.shown(error)})"
            ) from error
        if len(parsed) != 1:
            raise StatusFileError(f"{name}:{first}: the ad cannot be read as one ClassAd")
        ads.append(_values(parsed[0], lines[first - 1 : last], first, name))
    return ads


def _values(ad: Any, lines: list[str], first: int, name: str) -> dict[str, Any]:
    """The ad's attributes as Python values. ClassAdUnParser writes each byte that is not printable
    ASCII as \\ooo, so a message in Latin-1 (a POST script's) comes back as bytes classad2 cannot
    give as a str: StatusDetails is then kept as DAGMan wrote it (escaped, ASCII); any other such
    string is refused at its line."""
    values: dict[str, Any] = {}
    for key in ad.keys():
        try:
            values[key] = ad.get(key)
        except UnicodeDecodeError:
            number, line = next(
                ((first + index, line) for index, line in enumerate(lines) if line.startswith(f"  {key} = ")),
                (first, ""),
            )
            if key != "StatusDetails":
                raise StatusFileError(f"{name}:{number}: {key} holds bytes that are not UTF-8") from None
            match = ATTRIBUTE.fullmatch(line)
            values[key] = match.group(2)[1:-1] if match else ""  # the string literal, without its quotes
    return values


def _number(ad: Any, key: str, name: str, line: int, *, most: int | None = None, default: int | None = None) -> int:
    value = ad.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (most is not None and value > most):
        limit = f" from 0 to {most}" if most is not None else ""
        raise StatusFileError(f"{name}:{line}: {key} is not a whole number{limit} (it is {foreign.shown(repr(value))})")
    return value


def _string(ad: Any, key: str, name: str, line: int) -> str:
    value = ad.get(key)
    if not isinstance(value, str):
        raise StatusFileError(f"{name}:{line}: the ad has no {key} string")
    return value


def _note(text: str, block: tuple[int, int]) -> str:
    """The word in parentheses DAGMan writes in the comment after DagStatus: success, failed, ..."""
    for line in text.split("\n")[block[0] - 1 : block[1]]:
        match = re.fullmatch(r'  DagStatus = [0-9]+; /\* "[A-Z_ ]+\(([a-z_ ]*)\)" \*/', line)
        if match:
            return foreign.shown(match.group(1))
    return ""


def _quoted(line: str) -> str:
    return repr(foreign.shown(line, 80))


def when(seconds: int) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return f"{seconds} seconds after the epoch"
