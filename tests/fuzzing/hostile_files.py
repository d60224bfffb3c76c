"""The hostile files of tests/test_fuzz_files.py: submit files and pixi manifests for `init --from`,
event logs and .err files for `status`, metrics.jsonl files for `results`.

A case is a command and one to four ingredients, each a small tuple hypothesis draws (so a case
prints as its own reproducer); `materialize` writes the files the ingredients say into the case's
project directory (next to an `outside/` directory of canaries, see file_runs) and returns the
command line. Large content (huge values, sparse multi-GB files, 100,000-deep nesting) is made at
materialize time from a size, never drawn.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

# Short hostile texts, for keys, values, names and reasons. No "PWNED" here: only canaries make those.
POOL = [
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\x00",
    "\x7f",
    "\x0b",
    "\x0c",
    "\u2028",
    "\u2029",
    "\x85",
    "\x1b[31m",
    "\x1b[2J\x1b[H",
    "\x1b]0;title\x07",
    "\x9b31m",
    "\x08\x08\x08",
    "\nci:\n  pixi_htc: https://evil.example/x.whl\n",
    "\u2028ci: {pixi_htc: evil}",
    "\x85ci: evil",
    "\rci: evil",
    "\u2029staging: {directory: /}",
    "\nspecs/project.yaml:1:1: error: forged",
    "\u2028build/logs/x.log:1: forged",
    "$(x)",
    "$(lr)",
    "$ENV(HOME)",
    "$ENV(PIXI_HTC_FUZZ_SECRET)",
    "$(Cluster)",
    "$(Process)",
    "$$(Memory)",
    "$(DOLLAR)",
    "$RANDOM_INTEGER(1,9)",
    "${{ github.token }}",
    "`id`",
    "$(id)",
    '"',
    "'",
    "\\",
    "\\\n",
    "#",
    ": ",
    "- ",
    "{",
    "[",
    "&a",
    "*a",
    "!!python/object",
    "---",
    "...",
    "=",
    ",",
    ";",
    "=1+2",
    "+A1",
    "@A1",
    "-2+3",
    "é",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\U0001f600",
    "日本",
    "queue",
    "include : x",
    "a b",
    "",
    " ",
    "\u2066",
    "\u2069",
    "\u200f",
    "\u202a",
    " =1+2",
]
TEXT = st.sampled_from(range(len(POOL)))


def pool(index: int) -> str:
    return POOL[index % len(POOL)]


@dataclass(frozen=True)
class Case:
    command: str  # "init-sub", "init-pixi", "status", "results"
    ingredients: tuple[tuple[Any, ...], ...]

    def __str__(self) -> str:
        return f"Case({self.command!r}, {self.ingredients!r})"


@dataclass
class Prepared:
    argv: list[str]
    whole: bool  # a whole-file problem (FIFO, link, size): the file named is location enough
    text: str  # the main hostile file, for the report
    risky: set[str]  # ingredient kinds that may hang


# --- canaries ------------------------------------------------------------------------------------


def _touch() -> str:
    return shutil.which("touch", path="/usr/bin:/bin") or "/usr/bin/touch"


def canary_commands(outside: Path) -> list[str]:
    return [
        f"touch {outside}/PWNED-path",
        f"{_touch()} {outside}/PWNED-abs",
        f"sh -c 'touch {outside}/PWNED-sh'",
        "echo executable = PWNED_STANDIN",
        f"cat {outside}/secret.sub",
    ]


def canary_files(outside: Path) -> list[str]:
    return [
        f"{outside}/secret.sub",
        "../outside/secret.sub",
        f"{outside}/fifo",
        "/etc/hostname",
        f"{outside}/missing.sub",
        "job.sub",
    ]


# --- (a) submit files into init --from job.sub ----------------------------------------------------

BASE_SUB = [
    "universe = container",
    "container_image = docker://python:3.12",
    "executable = train.sh",
    "arguments = \"--lr $(lr) --epochs 3 'a b'\"",
    "transfer_input_files = data.tar.gz, train.sh",
    "transfer_output_files = out.txt, metrics.jsonl",
    'transfer_output_remaps = "out.txt = results/out_$(Cluster)_$(Process).txt"',
    "request_cpus = 1",
    "request_gpus = 1",
    "request_memory = 2GB",
    "request_disk = 1GB",
    "log = logs/job_$(Cluster)_$(Process).log",
    "output = logs/job_$(Cluster)_$(Process).out",
    "error = logs/job_$(Cluster)_$(Process).err",
    '+ProjectName = "lab"',
    "max_retries = 3",
    "environment = \"A=1 B='x y'\"",
    "checkpoint_exit_code = 85",
    "gpus_minimum_capability = 7.0",
]
BASE_QUEUE = "queue lr in (0.1, 0.2)"
INCLUDE_FORMS = [
    "include : {file}",
    "include command : {cmd}",
    "include : {cmd} |",
    "include command into {into} : {cmd}",
    "include ifexist : {file}",
    "include ifexist command : {cmd}",
    "if true\ninclude command : {cmd}\nendif",
    "if defined nothing\nelse\ninclude : {cmd} |\nendif",
    "incl\\\nude command : {cmd}",
    "include \\\ncommand : {cmd}",
    "include command \\\n: {cmd}",
    "InClUdE CoMmAnD : {cmd}",
    "   \tinclude   command   :   {cmd}",
    "include:{file}",
    "include command:{cmd}",
    "INCLUDE : {file}",
    "if $(x)\nelif true\ninclude command : {cmd}\nendif",
    "cmdmacro = {cmd}\ninclude : $(cmdmacro) |",
    "include command : $ENV(SHELL_CMD)",
    "if version >= 8.0\n  include : {cmd} |\nendif",
    "include command into $(x) : {cmd}",
    "include ifexist command into {into} : {cmd}",
    "#x\\\ninclude command : {cmd}",
    "include : {cmd} |\\\n",
    "include\t:\t{file}",
]
MACRO_FORMS = [
    "rec",
    "mutual",
    "exponential",
    "env-home",
    "env-secret",
    "default",
    "functions",
    "queue-number",
    "chain",
    "unbalanced",
]
NUMBER_KEYS = [
    "request_cpus",
    "request_gpus",
    "max_retries",
    "checkpoint_exit_code",
    "gpus_minimum_capability",
    "gpus_minimum_memory",
    "request_memory",
    "request_disk",
    "gpus_minimum_runtime",
    "want_ospool",
    "stream_output",
]
NUMBERS = [
    "1.5",
    "$(n)",
    "abc",
    "",
    "-1",
    "1e9",
    "99999999999999999999999",
    "0x10",
    "TRUE",
    " 2 ",
    "\uff12",
    "1_000",
    "\u0663",
    "nan",
    "inf",
    "1/0",
    "2GB",
    "-0",
    "1 2",
    "$(lr)",
    "$(r)",
    "1e999",
    "0.0000001",
    "9" * 400,
    "+3",
    "1,5",
]
QUEUES = [
    "queue",
    "queue 0",
    "queue 3",
    "queue 1000000000000",
    "queue -1",
    "queue x",
    "queue lr in ()",
    "queue lr in (a b\tc)",
    "queue lr,bs from (\n0.1 64\n0.2 128\n)",
    "queue lr from list.txt",
    "queue lr from /etc/passwd",
    "queue lr from ../outside/secret.txt",
    "queue lr from {touch} {outside}/PWNED-q |",
    "queue lr from seq 1 3 |",
    "queue matching files *.txt",
    "queue lr matching (*.sub)",
    "queue 2 lr in (1, 2)",
    "queue lr in (1, 2)\nqueue 5",
    "queue lr in (1,2)\nexecutable = other",
    "queue lr, bs in (1, 2)",
    "queue lr from (\n1\n",
    "queue $(x)",
    "queue lr in ($(y))",
    "queue lr from [1:3] (\na\nb\nc\n)",
    "queue lr in (a\u2028ci: x, b)",
    "queue x\x1b from (1)",
    "queue lr from (\n0.1\n0.1\n)",
    "queue lr,bs from (\n1,2\n3\n)",
    "queue executable in (a, b)",
    "queue lr in (1) lr",
    "queue\\\n lr in (1)",
    "QUEUE Lr IN (1, 2)",
    "queue lr from {outside}/fifo",
    "queue lr from (\n\x00\n)",
    "queue in (1)",
]
HUGE_FORMS = ["long-value", "long-key", "many-lines", "long-in-list", "product-table", "many-macros"]
IF_FORMS = [
    "if false\n{line}\nendif",
    "if ! defined X\n{line}\nelse\n{line}\nendif",
    "error : {secret}",
    "warning : $(x)",
    "if $(x)\n{line}\nendif",
    "{line}\nendif",
    "if true\n{line}",
    "elif true\n{line}",
    "if version > 8.0\n{line}\nelif true\n{line}\nendif",
]
LAYOUTS = ["crlf", "cr", "no-final-newline", "bom", "tabs", "nul-end", "utf16", "latin1"]
SPECIALS = ["fifo", "link-secret", "link-devzero", "sparse", "directory", "link-inside", "specs-link", "table-link"]

_line = st.integers(0, len(BASE_SUB) - 1)
submit_ingredient = st.one_of(
    st.tuples(
        st.just("include"),
        st.integers(0, len(INCLUDE_FORMS) - 1),
        st.integers(0, 4),
        st.integers(0, 5),
        st.integers(0, 30),
    ),
    st.tuples(st.just("macro"), st.sampled_from(MACRO_FORMS), _line, st.integers(0, 64)),
    st.tuples(st.just("number"), st.sampled_from(NUMBER_KEYS), st.integers(0, len(NUMBERS) - 1)),
    st.tuples(st.just("text"), _line, st.sampled_from(["key", "value", "name", "end"]), st.integers(0, 40), TEXT),
    st.tuples(st.just("attr"), st.sampled_from(["plus", "my", "command", "singularity", "plus-value"]), TEXT, TEXT),
    st.tuples(st.just("huge"), st.sampled_from(HUGE_FORMS), st.sampled_from([10_000, 300_000, 3_000_000])),
    st.tuples(st.just("binary"), st.binary(min_size=1, max_size=12), st.integers(0, 30)),
    st.tuples(st.just("queue"), st.integers(0, len(QUEUES) - 1)),
    st.tuples(st.just("if"), st.integers(0, len(IF_FORMS) - 1), _line),
    st.tuples(st.just("continuation"), _line, st.integers(0, 40)),
    st.tuples(st.just("heredoc"), TEXT),
    st.tuples(st.just("layout"), st.sampled_from(LAYOUTS)),
    st.tuples(st.just("name"), TEXT),
    st.tuples(st.just("special"), st.sampled_from(SPECIALS)),
)


@st.composite
def submit_cases(draw: st.DrawFn) -> Case:
    return Case("init-sub", tuple(draw(st.lists(submit_ingredient, min_size=1, max_size=3))))


def _insert(text: str, position: int, piece: str) -> str:
    position = min(position, len(text))
    return text[:position] + piece + text[position:]


def submit_text(ingredients: tuple[tuple[Any, ...], ...], outside: Path) -> tuple[bytes, str]:
    """The submit file's bytes and its file name."""
    lines = list(BASE_SUB)
    queue = BASE_QUEUE
    extra: list[str] = []  # inserted before the queue statement, at drawn positions
    name = "job"
    layout: list[str] = []
    binaries: list[tuple[bytes, int]] = []
    cmds, files = canary_commands(outside), canary_files(outside)
    for ing in ingredients:
        kind = ing[0]
        if kind == "include":
            _, form, target, into, position = ing
            text = INCLUDE_FORMS[form].format(
                cmd=cmds[target % len(cmds)],
                file=files[target % len(files)],
                into=(
                    f"{outside}/PWNED-into",
                    "cache.sub",
                    "specs/project.yaml",
                    "../outside/target.csv",
                    f"{outside}/secret.sub",
                    "/dev/null",
                )[into],
            )
            lines.insert(position % (len(lines) + 1), text)
        elif kind == "macro":
            _, form, line, n = ing
            lines.extend(_macro(form, lines, line, n))
        elif kind == "number":
            _, key, value = ing
            lines = [entry for entry in lines if not entry.lower().startswith(key + " ")]
            lines.append(f"{key} = {NUMBERS[value]}")
            if NUMBERS[value] in ("$(n)",):
                lines.insert(0, "n = 4")
            if NUMBERS[value] == "$(r)":
                queue = "queue r in (1, 2)"
        elif kind == "text":
            _, line, where, position, text_index = ing
            text = pool(text_index)
            entry = lines[line % len(lines)]
            key, _, value = entry.partition(" = ")
            if where == "key":
                lines[line % len(lines)] = f"{_insert(key, position, text)} = {value}"
            elif where == "value":
                lines[line % len(lines)] = f"{key} = {_insert(value, position, text)}"
            elif where == "name":
                files_line = (
                    "executable",
                    "transfer_input_files",
                    "transfer_output_files",
                    "log",
                    "error",
                    "container_image",
                )[position % 6]
                lines = [
                    f"{e} {text}x.txt"
                    if e.startswith(files_line + " ") and "," not in e
                    else (e.replace(",", f", {text}y.txt,", 1) if e.startswith(files_line + " ") else e)
                    for e in lines
                ]
            else:
                lines.append(text)
        elif kind == "attr":
            _, form, a, b = ing
            key, value = f"Attr{pool(a)}", pool(b)
            lines.append(
                {
                    "plus": f'+{key} = "{value}"',
                    "my": f"MY.{key} = {value}",
                    "command": f"{key} = {value}",
                    "singularity": f'+SingularityImage = "{value}img.sif"',
                    "plus-value": f"+Tag = {value}",
                }[form]
            )
        elif kind == "huge":
            _, form, size = ing
            lines.extend(_huge(form, size))
            if form == "product-table":
                queue = _product_table(size)
        elif kind == "binary":
            binaries.append((ing[1], ing[2]))
        elif kind == "queue":
            queue = QUEUES[ing[1]].format(touch=_touch(), outside=outside)
        elif kind == "if":
            _, form, line = ing
            entry = lines[line % len(lines)]
            lines[line % len(lines)] = IF_FORMS[form].format(line=entry, secret="$(secret)")
        elif kind == "continuation":
            _, line, position = ing
            entry = lines[line % len(lines)]
            lines[line % len(lines)] = _insert(entry, position, "\\\n")
        elif kind == "heredoc":
            lines.append(f"arguments @=end\n  --x {pool(ing[1])} y\n@end")
        elif kind == "layout":
            layout.append(ing[1])
        elif kind == "name":
            name = f"job{pool(ing[1])}".replace("/", "_").replace("\x00", "0") or "job"
    text = "\n".join([*lines, *extra, queue]) + "\n"
    if "crlf" in layout:
        text = text.replace("\n", "\r\n")
    if "cr" in layout:
        text = text.replace("\n", "\r")
    if "no-final-newline" in layout:
        text = text.rstrip("\r\n")
    if "tabs" in layout:
        text = text.replace(" = ", "\t=\t")
    if "nul-end" in layout:
        text += "\x00"
    data = text.encode("utf-8")
    if "bom" in layout:
        data = b"\xef\xbb\xbf" + data
    if "utf16" in layout:
        data = text.encode("utf-16")
    if "latin1" in layout:
        data = data.replace(b"2GB", "2GB \xe9".encode("latin-1"), 1)
    for blob, position in binaries:
        at = position * max(len(data), 1) // 31
        data = data[:at] + blob + data[at:]
    return data, name


def _macro(form: str, lines: list[str], line: int, n: int) -> list[str]:
    target = lines[line % len(lines)].partition(" = ")[0]
    if form == "rec":
        return ["rec = a$(rec)b", f"{target} = $(rec)"]
    if form == "mutual":
        return ["ma = x$(mb)", "mb = y$(ma)", f"{target} = $(ma)"]
    if form == "exponential":
        depth = 20 + n % 45
        return [
            "m0 = xxxxxxxxxxxxxxxx",
            *(f"m{i} = $(m{i - 1})$(m{i - 1})$(m{i - 1})" for i in range(1, depth)),
            f"{target} = $(m{depth - 1})",
            f"arguments = $(m{depth - 1}) $(m{depth - 1})",
        ]
    if form == "env-home":
        return [f"{target} = $ENV(HOME)/x", "transfer_input_files = $ENV(HOME)/.ssh/id_rsa"]
    if form == "env-secret":
        return [f"{target} = $ENV(PIXI_HTC_FUZZ_SECRET)", '+Tag = "$ENV(PIXI_HTC_FUZZ_SECRET)"']
    if form == "default":
        return [f"{target} = $(undefined:default value) $(lr:0.5) $(x:$(y:z))", "request_cpus = $(ncpu:2)"]
    if form == "functions":
        return [
            f"{target} = $RANDOM_INTEGER(1,9) $CHOICE(1, a, b) $INT(x) $Fp(executable) $(DOLLAR) $$(Memory) "
            "$(FULL_HOSTNAME) $(CONDOR_HOST) $(LOCAL_DIR) $(Cluster:$(Process)) $REAL(y) $SUBSTR(a,1)",
            "executable = $Fnx(arguments)",
        ]
    if form == "queue-number":
        return ["request_cpus = $(lr)", "request_gpus = $(lr)", "max_retries = $(lr)", "request_memory = $(lr)GB"]
    if form == "chain":
        count = 200 + n * 30
        return [*(f"c{i} = $(c{i + 1})x" for i in range(count)), f"c{count} = end", f"{target} = $(c0)"]
    return [f"{target} = $(", f"{target}2 = $()", "x = $(x", "y = $(y:", f"z = $({'(' * 50})"]


def _huge(form: str, size: int) -> list[str]:
    if form == "long-value":
        return [f"arguments = {'A' * size}"]
    if form == "long-key":
        return [f"{'k' * size} = 1", f"+{'K' * size} = 1"]
    if form == "many-lines":
        return [f"key{i} = value{i}" for i in range(size // 20)]
    if form == "long-in-list":
        return [f"transfer_input_files = {', '.join(f'f{i}' for i in range(size // 8))}"]
    if form == "many-macros":
        return [f"m{i} = $(m{(i + 1) % (size // 40)})" for i in range(size // 40)] + ["arguments = $(m0)"]
    return []


def _product_table(size: int) -> str:
    """An inline table whose rows are each a new value of every variable: its product is rows**vars."""
    variables = 8
    rows = max(3, min(size // 1000, 3000))
    body = "\n".join(" ".join(f"v{r}_{c}" for c in range(variables)) for r in range(rows))
    return f"queue {', '.join(f'x{c}' for c in range(variables))} from (\n{body}\n)"


# --- (b) pixi manifests into init --from pixi.toml -------------------------------------------------

BASE_PIXI: dict[str, Any] = {
    "workspace": {
        "name": "demo",
        "version": "0.1.0",
        "description": "a demo",
        "channels": ["conda-forge"],
        "platforms": ["linux-64", "osx-arm64"],
        "license": "MIT",
    },
    "dependencies": {"python": ">=3.12", "numpy": {"version": ">=2", "channel": "conda-forge"}},
    "pypi-dependencies": {"requests": "*"},
    "system-requirements": {"libc": "2.28"},
    "target": {"linux-64": {"dependencies": {"cuda-version": "12.*"}, "activation": {"scripts": ["a.sh"]}}},
    "activation": {"env": {"A": "1"}},
    "feature": {
        "gpu": {
            "system-requirements": {"cuda": "12"},
            "dependencies": {"pytorch-gpu": "*"},
            "tasks": {"train": {"cmd": "python t.py", "depends-on": ["prep"]}},
        },
        "cpu": {"dependencies": {"pytorch-cpu": "*"}, "platforms": ["linux-64"]},
    },
    "environments": {"gpu": ["gpu"], "cpu": {"features": ["cpu"], "solve-group": "s"}},
    "tasks": {"prep": "python prep.py", "lint": {"cmd": ["ruff", "check"], "env": {"X": "1"}}},
    "pypi-options": {"index-url": "https://pypi.org/simple"},
}
VALUE_KINDS = [
    "text",
    "int",
    "huge-int",
    "float",
    "nan",
    "inf",
    "bool",
    "list",
    "mixed-list",
    "table",
    "empty-table",
    "empty-list",
    "date",
    "list-of-tables",
    "nested-list",
]


def _sites(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _sites(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _sites(value, (*path, index))
    return out


PIXI_SITES = _sites(BASE_PIXI)
_site = st.integers(0, len(PIXI_SITES) - 1)
pixi_ingredient = st.one_of(
    st.tuples(st.just("replace"), _site, st.sampled_from(VALUE_KINDS), TEXT),
    st.tuples(st.just("rename"), _site, TEXT),
    st.tuples(st.just("add"), _site, TEXT, st.sampled_from(VALUE_KINDS)),
    st.tuples(
        st.just("deep"),
        _site,
        st.sampled_from(["array", "table", "mixed", "dotted"]),
        st.sampled_from([50, 1000, 50_000]),
    ),
    st.tuples(st.just("wide"), _site, st.sampled_from([1000, 50_000])),
    st.tuples(st.just("layout"), st.sampled_from(["bom", "crlf", "nul", "latin1", "utf16", "long-line"])),
    st.tuples(st.just("pyproject"), st.booleans()),
    st.tuples(st.just("dirname"), TEXT),
    st.tuples(
        st.just("special"),
        st.sampled_from(["fifo", "link-secret", "link-devzero", "sparse", "directory", "specs-link"]),
    ),
)


@st.composite
def pixi_cases(draw: st.DrawFn) -> Case:
    return Case("init-pixi", tuple(draw(st.lists(pixi_ingredient, min_size=1, max_size=3))))


class Raw(str):
    """TOML text written as is (deep nesting made at materialize time)."""


def _value(kind: str, text: str) -> Any:
    import datetime

    return {
        "text": text,
        "int": -1,
        "huge-int": 2**63 - 1,
        "float": 1.5,
        "nan": float("nan"),
        "inf": float("-inf"),
        "bool": True,
        "list": [text, text],
        "mixed-list": [1, text, {"a": text}, [True]],
        "table": {text or "k": text},
        "empty-table": {},
        "empty-list": [],
        "date": datetime.datetime(1979, 5, 27, 7, 32),
        "list-of-tables": [{"name": text}, {"platform": 5}],
        "nested-list": [[text], [[1]]],
    }[kind]


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _deep(form: str, depth: int) -> Raw:
    if form == "array":
        return Raw("[" * depth + "]" * depth)
    if form == "table":
        return Raw("{a = " * depth + "1" + "}" * depth)
    if form == "mixed":
        return Raw("[{a = " * (depth // 2) + "1" + "}]" * (depth // 2))
    return Raw("dotted")  # a dotted key of `depth` parts, below


def pixi_doc(ingredients: tuple[tuple[Any, ...], ...]) -> tuple[dict[str, Any], list[str], list[str]]:
    """The manifest as data, raw TOML lines to append, and layout flags."""
    import copy

    doc = copy.deepcopy(BASE_PIXI)
    raw_lines: list[str] = []
    flags: list[str] = []
    for ing in ingredients:
        kind = ing[0]
        if kind in ("replace", "rename", "add", "deep", "wide"):
            path = PIXI_SITES[ing[1] % len(PIXI_SITES)]
            try:
                parent: Any = _get(doc, path[:-1]) if path else None
            except (KeyError, IndexError, TypeError):
                continue
            if kind == "replace" and path:
                parent[path[-1]] = _value(ing[2], pool(ing[3]))
            elif kind == "replace":
                raw_lines.append(f"{_key(pool(ing[3]))} = {_toml(_value(ing[2], pool(ing[3])))}")
            elif kind == "rename" and path and isinstance(parent, dict) and path[-1] in parent:
                value = parent.pop(path[-1])
                parent[f"{path[-1]}{pool(ing[2])}"] = value
            elif kind == "add":
                try:
                    target = _get(doc, path)
                except (KeyError, IndexError, TypeError):
                    continue
                if isinstance(target, dict):
                    target[pool(ing[2]) + "k"] = _value(ing[3], pool(ing[2]))
                elif isinstance(target, list):
                    target.append(_value(ing[3], pool(ing[2])))
            elif kind == "deep":
                if ing[2] == "dotted":
                    raw_lines.append(f"[{'.'.join(['a'] * ing[3])}]\nx = 1")
                elif path:
                    parent[path[-1]] = _deep(ing[2], ing[3])
            elif kind == "wide" and path:
                parent[path[-1]] = {f"k{i}": i for i in range(ing[2])}
        elif kind == "layout":
            flags.append(ing[1])
        elif kind == "pyproject":
            flags.append("pyproject" if ing[1] else "pyproject-bare")
    return doc, raw_lines, flags


def _key(key: Any) -> str:
    return _string(str(key))


def _string(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code < 0xE000:
            out.append("\\ufffd")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml(value: Any) -> str:
    import datetime

    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if value != value
            else ("inf" if value > 0 else "-inf")
            if value in (float("inf"), float("-inf"))
            else repr(value)
        )
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return _string(str(value))


def pixi_text(ingredients: tuple[tuple[Any, ...], ...]) -> tuple[bytes, str]:
    """The manifest's bytes and its file name (pixi.toml or pyproject.toml)."""
    doc, raw_lines, flags = pixi_doc(ingredients)
    body = [f"{_key(k)} = {_toml(v)}" for k, v in doc.items()]
    name = "pixi.toml"
    if "pyproject" in flags or "pyproject-bare" in flags:
        name = "pyproject.toml"
        head = ['[project]\nname = "demo"'] if "pyproject" in flags else []
        # Each top-level entry under tool.pixi, as dotted keys (a TOML table can only be opened once).
        body = [*head, "[tool.pixi]", *body]
    text = "\n".join([*body, *raw_lines]) + "\n"
    if "crlf" in flags:
        text = text.replace("\n", "\r\n")
    if "nul" in flags:
        text += "# \x00\n"
    if "long-line" in flags:
        text += f"# {'x' * 3_000_000}\n"
    data = text.encode("utf-8")
    if "bom" in flags:
        data = b"\xef\xbb\xbf" + data
    if "latin1" in flags:
        data += "# caf\xe9\n".encode("latin-1")
    if "utf16" in flags:
        data = text.encode("utf-16")
    return data, name


# --- whole-file specials ---------------------------------------------------------------------------


def special_file(path: Path, form: str, outside: Path, data: bytes, secret: str) -> None:
    """Make `path` (the file the command reads) a FIFO, a link, a sparse multi-GB file...; `data` is
    the content it would have had."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if form == "fifo":
        os.mkfifo(path)
    elif form == "link-secret":
        path.symlink_to(outside / secret)
    elif form == "link-devzero":
        path.symlink_to("/dev/zero")
    elif form == "link-urandom":
        path.symlink_to("/dev/urandom")
    elif form == "sparse":
        with open(path, "wb") as handle:
            handle.write(data)
            handle.truncate(8 << 30)
    elif form == "directory":
        path.mkdir()
    elif form == "link-inside":
        real = path.with_name("real-" + path.name)
        real.write_bytes(data)
        path.symlink_to(real.name)
    else:
        path.write_bytes(data)


# --- (c) event logs and .err files into status ------------------------------------------------------

LOGS = [
    "mnist-sweep_4242_2.log",
    "mnist-sweep_4242_0.log",
    "mnist-gpu-docker_4300_0.log",
    "mnist-gpu-pixi-pack_4301_0.log",
    "mnist-sweep_4242_3.log",
]
HOLD_CODES = [
    (34, 102),
    (34, 104),
    (13, 2),
    (12, 1),
    (35, 0),
    (46, 0),
    (3, 0),
    (26, 0),
    (None, None),
    (-1, -1),
    (2**70, 0),
]
EVENT_CODES = [
    "000",
    "001",
    "003",
    "004",
    "005",
    "006",
    "007",
    "009",
    "010",
    "011",
    "012",
    "013",
    "021",
    "028",
    "999",
    "0x1",
    "-01",
]
REASON_FORMS = ["plain", "newline-split", "long", "forged", "memory", "transfer"]
DAMAGES = [
    "truncate",
    "no-dots",
    "garbage-line",
    "bad-header",
    "nul",
    "invalid-utf8",
    "dup-header",
    "only-header",
    "empty",
    "whitespace",
    "crlf",
    "bom",
]
LOG_SPECIALS = ["fifo", "link-devzero", "link-secret", "sparse", "directory", "logs-dir-link", "link-urandom"]
ERR_FORMS = [
    "hostile-lines",
    "long-line",
    "many-lines",
    "binary",
    "fifo",
    "link-devzero",
    "link-secret",
    "sparse",
    "directory",
    "link-urandom",
    "crlf-only",
    "no-newline",
]
NUMBER_FORMS = [
    "huge-cluster-name",
    "huge-proc-name",
    "unicode-digits",
    "zero-cluster",
    "huge-cluster-header",
    "negative-header",
    "other-proc-header",
    "leading-zeros",
]
STATUS_OPTIONS = [
    [],
    ["--cluster", "4241"],
    ["--job", "mnist-sweep"],
    ["--cluster", "99999999999999999999"],
    ["--job", "mnist-gpu-docker"],
    ["--cluster", "0"],
]
status_ingredient = st.one_of(
    st.tuples(
        st.just("hold"),
        st.integers(0, len(LOGS) - 1),
        TEXT,
        st.integers(0, len(HOLD_CODES) - 1),
        st.sampled_from(REASON_FORMS),
    ),
    st.tuples(
        st.just("event"),
        st.integers(0, len(LOGS) - 1),
        st.sampled_from(EVENT_CODES),
        TEXT,
        st.sampled_from(["same", "other", "huge", "junk"]),
    ),
    st.tuples(st.just("damage"), st.integers(0, len(LOGS) - 1), st.sampled_from(DAMAGES), st.integers(0, 99)),
    st.tuples(st.just("logspecial"), st.integers(0, len(LOGS) - 1), st.sampled_from(LOG_SPECIALS)),
    st.tuples(st.just("err"), st.sampled_from(ERR_FORMS), TEXT, st.sampled_from([5000, 300_000, 3_000_000])),
    st.tuples(st.just("numbers"), st.sampled_from(NUMBER_FORMS)),
    st.tuples(st.just("many"), st.sampled_from([2000, 20_000, 100_000])),
    st.tuples(st.just("sub-edit"), st.integers(0, len(INCLUDE_FORMS) - 1), st.integers(0, 4)),
    st.tuples(st.just("option"), st.integers(0, len(STATUS_OPTIONS) - 1)),
)


@st.composite
def status_cases(draw: st.DrawFn) -> Case:
    return Case("status", tuple(draw(st.lists(status_ingredient, min_size=1, max_size=4))))


def event(code: str, cluster: int | str, proc: int | str, body: list[str]) -> str:
    head = f"{code} ({cluster}.{str(proc).zfill(3) if isinstance(proc, int) else proc}.000) 2026-05-28 10:00:00 "
    title = {
        "000": "Job submitted from host: <10.0.0.5:9618>",
        "001": "Job executing on host: <10.0.0.7:9618>",
        "005": "Job terminated.",
        "009": "Job was aborted.",
        "012": "Job was held.",
        "013": "Job was released.",
        "007": "Shadow exception!",
        "021": "Error from starter on slot1@x:",
    }.get(code, "Event")
    return head + title + "\n" + "".join(f"\t{line}\n" for line in body) + "...\n"


def _reason(form: str, text: str) -> str:
    if form == "newline-split":
        return f"Error from slot1@x: {text}\nci: evil\n{text}"
    if form == "long":
        return "Error " + (text or "x") * 2000 + "A" * 300_000
    if form == "forged":
        return f"x{text}specs/project.yaml:1:1: jobs.mnist-sweep.resources.memory is forged\x1b[2K"
    if form == "memory":
        return f"Job has gone over cgroup memory limit of 2048 megabytes. Peak usage: {text}99999999999999999999 megabytes."
    if form == "transfer":
        return f"Transfer input files failure reading from file /x/{text}MNIST_data.tar.gz{text}: (errno 2)"
    return f"Error from slot1@x: {text} memory usage exceeded request_memory {text}"


def status_files(ingredients: tuple[tuple[Any, ...], ...], project: Path, outside: Path) -> tuple[list[str], bool, str]:
    """Write the hostile logs and .err files into the built project; the extra options, whether a
    whole-file special is among them, and the main text for the report."""
    logs = project / "build" / "logs"
    texts = {p.name: p.read_text() for p in logs.iterdir()}
    options: list[str] = []
    specials: list[tuple[str, str, bytes, str]] = []  # (name, form, data, secret)
    shown = ""
    cluster: int | str  # a job event's ids: a fuzzed one may be text
    proc: int | str
    for ing in ingredients:
        kind = ing[0]
        if kind == "hold":
            _, target, text_index, code_index, form = ing
            name = LOGS[target]
            cluster, proc = _numbers_of(name)
            code, sub = HOLD_CODES[code_index]
            body = [_reason(form, pool(text_index))]
            if code is not None:
                body.append(f"Code {code} Subcode {sub}")
            texts[name] = texts.get(name, "") + event("012", cluster, proc, body)
            shown = body[0][:300]
        elif kind == "event":
            _, target, code, text_index, who = ing
            name = LOGS[target]
            cluster, proc = _numbers_of(name)
            if who == "other":
                cluster, proc = cluster, proc + 7
            elif who == "huge":
                cluster, proc = 10**30, 10**20
            elif who == "junk":
                cluster, proc = f"{cluster}{pool(text_index)}", "0x"
            text = pool(text_index)
            body = {
                "005": [f"(1) Normal termination (return value {text}1)", f"{text}  -  MemoryUsage of job (MB)"],
                "009": [f"Reason: {text}removed by {text}"],
                "007": [f"{text}message"],
                "021": [f"    Error: {text}", f"    Code {text}"],
            }.get(code, [f"{text}", f"{text}  -  x"])
            texts[name] = texts.get(name, "") + event(code, cluster, proc, body)
        elif kind == "damage":
            _, target, form, position = ing
            name = LOGS[target]
            texts[name] = _damage(texts.get(name, ""), form, position)
        elif kind == "logspecial":
            _, target, form = ing
            specials.append((LOGS[target], form, texts.get(LOGS[target], "").encode(), "secret.log"))
        elif kind == "err":
            _, form, text_index, size = ing
            name = "mnist-gpu-docker_4300_0.err"
            text = pool(text_index)
            if form in ("fifo", "link-devzero", "link-secret", "sparse", "directory", "link-urandom"):
                specials.append((name, form, texts.get(name, "").encode(), "secret.txt"))
            elif form == "hostile-lines":
                texts[name] = f"Traceback\n{text}x\x1b[31mred\r\nci: x\u2028forged\x85next\nlast {text}\n"
            elif form == "long-line":
                texts[name] = (text + "L") * (size // max(len(text) + 1, 1)) + "\n"
            elif form == "many-lines":
                texts[name] = "".join(f"line {i} {text}\n" for i in range(size // 10))
            elif form == "binary":
                texts[name] = "\x00\xff" * 10 + text  # written as bytes below
            elif form == "crlf-only":
                texts[name] = "\r" * 1000 + text
            else:
                texts[name] = f"no newline {text}"
        elif kind == "numbers":
            _numbers(ing[1], texts)
        elif kind == "many":
            count = ing[1]
            texts["mnist-sweep_4242_1.log"] = texts["mnist-sweep_4242_1.log"] + "".join(
                event("006" if i % 2 else "004", 4242, 1, [f"{i}  -  MemoryUsage of job (MB)"]) for i in range(count)
            )
        elif kind == "sub-edit":
            _, form, target = ing
            sub = project / "build" / "htcondor" / "mnist-sweep.sub"
            cmds, files = canary_commands(outside), canary_files(outside)
            line = INCLUDE_FORMS[form].format(cmd=cmds[target], file=files[target], into=f"{outside}/PWNED-into")
            sub.write_text(line + "\n" + sub.read_text().replace("log = ", "log = ../../outside/x\n#", 1))
        elif kind == "option":
            options = list(STATUS_OPTIONS[ing[1]])
    for name, text in texts.items():
        path = logs / name
        if path.is_symlink() or path.is_dir():
            continue
        path.write_bytes(text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    for name, form, data, secret in specials:
        if form == "logs-dir-link":
            target = outside / "logs"
            if not target.exists():
                shutil.move(logs, target)  # a rename: a sparse file in it is not copied
                (target / name).unlink(missing_ok=True)
                (target / name).write_text((outside / "secret.log").read_text())
                logs.symlink_to(target)
            continue
        if logs.is_symlink():
            continue
        special_file(logs / name, form, outside, data, secret)
    return (
        options,
        bool(specials),
        shown or "\n".join(f"{k}: {v[:200]!r}" for k, v in texts.items() if k.endswith(".err"))[:400],
    )


def _numbers_of(name: str) -> tuple[int, int]:
    stem = name.rsplit(".", 1)[0]
    _, cluster, proc = stem.rsplit("_", 2)
    return int(cluster), int(proc)


def _damage(text: str, form: str, position: int) -> str:
    at = len(text) * position // 100
    if form == "truncate":
        return text[:at]
    if form == "no-dots":
        return text.replace("...\n", "", 1 + position % 3)
    if form == "garbage-line":
        return text[:at] + "\ngarbage \x1b[31m line\n" + text[at:]
    if form == "bad-header":
        return text.replace("(4", "(x4", 1).replace(".000.000)", ".abc.000)", 1)
    if form == "nul":
        return text[:at] + "\x00" * 10 + text[at:]
    if form == "invalid-utf8":
        return text[:at] + "\udcff\udcfe" + text[at:]
    if form == "dup-header":
        head = text.split("\n", 1)[0]
        return text[:at] + head + "\n" + text[at:]
    if form == "only-header":
        return text.split("\n", 1)[0]
    if form == "empty":
        return ""
    if form == "whitespace":
        return " \n\t\n"
    if form == "crlf":
        return text.replace("\n", "\r\n")
    return "\ufeff" + text


def _numbers(form: str, texts: dict[str, str]) -> None:
    base = texts["mnist-sweep_4242_0.log"]
    if form == "huge-cluster-name":
        texts["mnist-sweep_99999999999999999999999_0.log"] = base
    elif form == "huge-proc-name":
        texts["mnist-sweep_4242_99999999999999999999.log"] = base
    elif form == "unicode-digits":
        texts["mnist-sweep_\u0664\u0662\u0664\u0663_\u0660.log"] = base
        texts["mnist-sweep_\uff14\uff12\uff14\uff15_\uff10.log"] = base
    elif form == "zero-cluster":
        texts["mnist-sweep_0_0.log"] = base.replace("4242.", "0.")
    elif form == "huge-cluster-header":
        texts["mnist-sweep_4242_0.log"] = base.replace("(4242.", "(99999999999999999999999.")
    elif form == "negative-header":
        texts["mnist-sweep_4242_0.log"] = base.replace("(4242.000", "(-4242.-01")
    elif form == "other-proc-header":
        texts["mnist-sweep_4242_0.log"] = base.replace("(4242.000", "(4242.999")
    else:
        texts["mnist-sweep_0004242_0000.log"] = base


# --- (c) metrics.jsonl into results ---------------------------------------------------------------

RECORD = {
    "epoch": 1,
    "accuracy": 0.9,
    "test_loss": 0.3,
    "train_loss": 0.4,
    "seconds": 12.5,
    "samples_per_second": 4800.0,
}
FIELDS = ["epoch", "accuracy", "test_loss", "train_loss", "seconds", "samples_per_second"]
JSON_VALUES = [
    '"abc"',
    "null",
    "[]",
    "{}",
    "true",
    "1e308",
    "1e999",
    "NaN",
    "-Infinity",
    "Infinity",
    "1" + "0" * 400,
    "-0",
    '"=1+2"',
    '"\\u001b[31m"',
    "[1, 2]",
    '{"a": 1}',
    "-1e308",
    "0.1",
    '"\\ud800"',
    "2",
    "-5",
    '"12.5"',
    "false",
]
LINE_FORMS = [
    "not-json",
    "binary",
    "nul",
    "lone-surrogate-raw",
    "array",
    "string",
    "number",
    "empty-object",
    "duplicate-keys",
    "trailing-garbage",
    "cr-inside",
    "u2028-raw",
]
RESULTS_SPECIALS = ["fifo", "link-devzero", "link-secret", "sparse", "directory", "link-urandom"]
LINK_FORMS = ["csv-link", "plots-dir-link", "png-link", "outputs-dir-link", "csv-dangling"]
METRICS = ["accuracy", "test_loss", "seconds", "epochs", "samples_per_second", "custom", "train_loss"]
_proc = st.sampled_from([0, 1, 3])
results_ingredient = st.one_of(
    st.tuples(st.just("value"), _proc, st.integers(0, len(FIELDS) - 1), st.integers(0, len(JSON_VALUES) - 1)),
    st.tuples(st.just("key"), _proc, TEXT, st.integers(0, len(JSON_VALUES) - 1)),
    st.tuples(
        st.just("deep"), _proc, st.sampled_from(["array", "object", "value"]), st.sampled_from([100, 5000, 100_000])
    ),
    st.tuples(st.just("line"), _proc, st.sampled_from(LINE_FORMS), st.integers(0, 3)),
    st.tuples(
        st.just("layout"), _proc, st.sampled_from(["crlf", "no-final-newline", "bom", "empty", "whitespace", "latin1"])
    ),
    st.tuples(
        st.just("huge"),
        _proc,
        st.sampled_from(["long-line", "many-lines", "long-key"]),
        st.sampled_from([10_000, 1_000_000, 5_000_000]),
    ),
    st.tuples(st.just("special"), _proc, st.sampled_from(RESULTS_SPECIALS)),
    st.tuples(st.just("links"), st.sampled_from(LINK_FORMS)),
    st.tuples(st.just("metric"), st.integers(0, len(METRICS) - 1)),
    st.tuples(st.just("sub-edit"), st.integers(0, len(INCLUDE_FORMS) - 1), st.integers(0, 4)),
)


@st.composite
def results_cases(draw: st.DrawFn) -> Case:
    return Case("results", tuple(draw(st.lists(results_ingredient, min_size=1, max_size=4))))


def metrics_path(project: Path, proc: int) -> Path:
    return project / "build" / "outputs" / f"mnist-sweep_4242_{proc}_metrics.jsonl"


def results_files(
    ingredients: tuple[tuple[Any, ...], ...], project: Path, outside: Path
) -> tuple[list[str], bool, str]:
    lines: dict[int, list[bytes]] = {
        proc: [json.dumps({**RECORD, "epoch": e, "accuracy": 0.8 + proc / 100 + e / 1000}).encode() for e in (1, 2, 3)]
        for proc in (0, 1, 3)
    }
    layouts: dict[int, list[str]] = {0: [], 1: [], 3: []}
    specials: list[tuple[int, str]] = []
    options: list[str] = ["--no-plots"]
    metric = "accuracy"
    links: list[str] = []
    for ing in ingredients:
        kind = ing[0]
        if kind == "value":
            _, proc, field, value = ing
            record = dict(RECORD)
            record.pop(FIELDS[field])
            text = json.dumps(record)[:-1] + f', "{FIELDS[field]}": {JSON_VALUES[value]}}}'
            lines[proc].append(text.encode("utf-8", "surrogatepass"))
        elif kind == "key":
            _, proc, text_index, value = ing
            key = json.dumps("m" + pool(text_index) + "x")
            lines[proc].append(f'{{"epoch": 4, "accuracy": 0.5, {key}: {JSON_VALUES[value]}}}'.encode())
            if pool(text_index).isprintable():
                metric = json.loads(key)
        elif kind == "deep":
            _, proc, form, depth = ing
            nested = {
                "array": "[" * depth + "]" * depth,
                "object": '{"a":' * depth + "1" + "}" * depth,
                "value": "[" * depth + "1" + "]" * depth,
            }[form]
            line = (
                nested
                if form == "array"
                else f'{{"epoch": 5, "accuracy": {nested}}}'
                if form == "value"
                else f'{{"epoch": 5, "x": {nested}}}'
            )
            lines[proc].append(line.encode())
        elif kind == "line":
            _, proc, form, position = ing
            junk = {
                "not-json": b"not json \x1b[31m",
                "binary": b"\xff\xfe\x00\x01",
                "nul": b'{"epoch": 1}\x00',
                "lone-surrogate-raw": b'{"epoch": 6, "m\xed\xa0\x80": 1}',
                "array": b"[1, 2]",
                "string": b'"x"',
                "number": b"7",
                "empty-object": b"{}",
                "duplicate-keys": b'{"epoch": 1, "epoch": 2, "accuracy": 1}',
                "trailing-garbage": b'{"epoch": 1} x',
                "cr-inside": b'{"epoch": 7,\r "accuracy": 0.1}',
                "u2028-raw": '{"epoch": 8, "accuracy": 0.2, "n\u2028ote": "a\u2028b"}'.encode(),
            }[form]
            lines[proc].insert(position % (len(lines[proc]) + 1), junk)
        elif kind == "layout":
            layouts[ing[1]].append(ing[2])
        elif kind == "huge":
            _, proc, form, size = ing
            if form == "long-line":
                lines[proc].append(json.dumps({**RECORD, "epoch": 9, "note": "x" * size}).encode())
            elif form == "many-lines":
                lines[proc] += [json.dumps({**RECORD, "epoch": 10 + i}).encode() for i in range(size // 100)]
            else:
                lines[proc].append(json.dumps({"epoch": 11, "k" * size: 1.0}).encode())
        elif kind == "special":
            specials.append((ing[1], ing[2]))
        elif kind == "links":
            links.append(ing[1])
        elif kind == "metric":
            metric = METRICS[ing[1]]
            if metric == "custom":
                metric = "m" + pool(0) + "x"
        elif kind == "sub-edit":
            _, form, target = ing
            sub = project / "build" / "htcondor" / "mnist-sweep.sub"
            cmds, files = canary_commands(outside), canary_files(outside)
            line = INCLUDE_FORMS[form].format(cmd=cmds[target], file=files[target], into=f"{outside}/PWNED-into")
            sub.write_text(
                line + "\n" + sub.read_text().replace("metrics.jsonl = outputs/", "metrics.jsonl = ../../outside/", 1)
            )
    outputs = project / "build" / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    shown = ""
    for proc, body in lines.items():
        data = b"\n".join(body) + b"\n"
        flags = layouts[proc]
        if "crlf" in flags:
            data = data.replace(b"\n", b"\r\n")
        if "no-final-newline" in flags:
            data = data.rstrip(b"\r\n")
        if "bom" in flags:
            data = b"\xef\xbb\xbf" + data
        if "empty" in flags:
            data = b""
        if "whitespace" in flags:
            data = b" \n\t\n"
        if "latin1" in flags:
            data += '{"epoch": 12, "caf\xe9": 1}\n'.encode("latin-1")
        metrics_path(project, proc).write_bytes(data)
        if len(data) > len(shown):
            shown = data[:400].decode("utf-8", "replace")
    for proc, form in specials:
        path = metrics_path(project, proc)
        if path.is_symlink() or not path.is_file():  # a second special for one process: the first stands
            continue
        special_file(path, form, outside, path.read_bytes(), "secret.jsonl")
    plots = False
    for form in links:
        if form == "csv-link":
            (outputs / "mnist-sweep_4242_results.csv").unlink(missing_ok=True)
            (outputs / "mnist-sweep_4242_results.csv").symlink_to(outside / "target.csv")
        elif form == "csv-dangling":
            (outputs / "mnist-sweep_4242_results.csv").unlink(missing_ok=True)
            (outputs / "mnist-sweep_4242_results.csv").symlink_to(outside / "new.csv")
        elif form == "plots-dir-link":
            plots = True
            if not (outputs / "plots").exists():
                (outputs / "plots").symlink_to(outside / "plots")
        elif form == "png-link":
            plots = True
            (outputs / "plots").mkdir(exist_ok=True)
            for name in ("mnist-sweep_curves.png", f"mnist-sweep_{metric}_by_lr.png"):
                target = outputs / "plots" / name
                if not target.exists() and not target.is_symlink():
                    target.symlink_to(outside / "target.png")
        elif form == "outputs-dir-link" and not outputs.is_symlink():
            moved = outside / "outputs"
            if not moved.exists():
                shutil.move(outputs, moved)
                outputs.symlink_to(moved)
    if plots:
        options = []
    return [*options, "--metric", metric], bool(specials or links), shown
