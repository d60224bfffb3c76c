"""The specs: the default and extended bases, the sites a mutation can hit, the hostile pool, and the
Op/Case strategies that put hostile text or values there (with a harmless twin of each case)."""

from __future__ import annotations

import copy
import functools
import io
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

from pixi_htc.core.errors import SpecError
from pixi_htc.pipeline import compile as pipeline
from tests.conftest import DEFAULT_SPEC, REPO
from tests.fuzzing.consumers import _same

SCHEMA = json.loads((REPO / "schema" / "project.schema.json").read_text())


def _load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _dump(doc: Any, allow_unicode: bool = True) -> str:
    """The document as YAML, non-ASCII text as is; escaped where ruamel cannot write it back as is
    (it writes U+0085 raw into a single-quoted scalar, where it reads as a line break)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = allow_unicode
    yaml.width = 1 << 20
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    text = buffer.getvalue()
    return text if not allow_unicode or _same(_load(text), doc) else _dump(doc, allow_unicode=False)


DEFAULT_DOC: dict[str, Any] = _load(DEFAULT_SPEC.read_text())

# Besides the schema's examples: a CPU job with its own image, numbers and the built-in placeholders
# in its command, and URLs among its inputs; a task table; branches; job attributes of each type.
EXTRAS: list[tuple[tuple[str, ...], Any]] = [
    (
        ("jobs", "cpu-check"),
        {
            "runtime": "container",
            "environment": "cpu",
            "image": "oras://ghcr.io/pixi-htc/cpu:latest",
            "command": [
                "python",
                "-c",
                "print('hi')",
                "--seed",
                "{process}",
                "--tag",
                "run-{cluster}-{process}",
                3,
                0.25,
            ],
            "inputs": ["src", "osdf:///chtc/staging/alice/data.tar.gz", "https://example.org/x/y.tgz"],
            "outputs": ["out.txt"],
            "resources": {"cpus": 2, "gpus": 0, "memory": "1GB", "disk": "3GB"},
        },
    ),
    (
        ("tasks", "check"),
        {"cmd": "python -c 'import sys; print(sys.argv)' \"a b\"", "description": "Print", "depends_on": ["train"]},
    ),
    (("ci",), {"branches": ["main", "release/v1"]}),
    (("jobs", "mnist-gpu-docker", "attributes"), {"LabTag": "hello world", "Rank2": 3, "IsTest": True}),
]


# Keys the extended base leaves out: a sweep_from's rows are a file's lines, which no spec holds
# (tests/test_sweep_from.py puts hostile lines in lists; its file key is a path like source's).
LEFT_OUT = {"sweep_from"}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _schema_examples(
    node: dict[str, Any], schema: dict[str, Any], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, first example) for every optional key the spec leaves out, recursively."""
    schema = _resolve(schema)
    for alternative in schema.get("anyOf", []):
        if "properties" in _resolve(alternative):
            schema = _resolve(alternative)
    properties = schema.get("properties", {})
    for name, sub in properties.items():
        resolved = _resolve(sub)
        if name in node:
            if isinstance(node[name], dict):
                yield from _schema_examples(node[name], sub, (*path, name))
        elif "examples" in sub or "examples" in resolved:
            yield (*path, name), copy.deepcopy((sub.get("examples") or resolved["examples"])[0])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and not properties:
        for key, value in node.items():
            if isinstance(value, dict):
                yield from _schema_examples(value, extra, (*path, key))


def _put(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for step in path[:-1]:
        doc = doc.setdefault(step, {})
    if isinstance(value, dict) and isinstance(doc.get(path[-1]), dict):
        doc[path[-1]].update(value)
    else:
        doc[path[-1]] = value


def _compiles(doc: dict[str, Any]) -> bool:
    with tempfile.TemporaryDirectory() as root:
        spec = Path(root, "specs", "project.yaml")
        spec.parent.mkdir()
        spec.write_text(_dump(doc), encoding="utf-8")
        try:
            pipeline.compile_spec(spec, Path(root, "build"))
        except SpecError:
            return False
    return True


@functools.cache
def bases() -> dict[str, dict[str, Any]]:
    """The default spec, and the default spec with every extra and schema example that keeps it
    valid (so the keys it leaves out are fuzzed too; follows the schema as it grows)."""
    extended = copy.deepcopy(DEFAULT_DOC)
    for path, value in EXTRAS:
        trial = copy.deepcopy(extended)
        _put(trial, path, value)
        if _compiles(trial):
            extended = trial
    for path, value in list(_schema_examples(extended, SCHEMA, ())):
        if path[-1] in LEFT_OUT:
            continue
        trial = copy.deepcopy(extended)
        _put(trial, path, value)
        if _compiles(trial):
            extended = trial
    return {"default": DEFAULT_DOC, "extended": extended}


@functools.cache
def sites(base: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Every key and every value (scalars, lists, mappings) of a base, in document order."""
    out: list[tuple[str, tuple[Any, ...]]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if path:
            out.append(("value", path))
        if isinstance(node, dict):
            for key, value in node.items():
                out.append(("key", (*path, key)))
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, index))

    walk(bases()[base], ())
    return out


# A raw control character, or a Unicode line or paragraph separator, in any generated file.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _schemas_at(path: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The schema alternatives that describe the value at `path`."""
    current = [SCHEMA]
    for step in path:
        following = []
        for schema in current:
            for option in [_resolve(schema), *(_resolve(o) for o in _resolve(schema).get("anyOf", []))]:
                if isinstance(step, int) and isinstance(option.get("items"), dict):
                    following.append(option["items"])
                elif not isinstance(step, int) and step in option.get("properties", {}):
                    following.append(option["properties"][step])
                elif not isinstance(step, int) and isinstance(option.get("additionalProperties"), dict):
                    following.append(option["additionalProperties"])
        current = following
    return [o for s_ in current for o in [_resolve(s_), *(_resolve(a) for a in _resolve(s_).get("anyOf", []))]]


def _free_text(schema: dict[str, Any]) -> bool:
    """A string the schema takes nearly any text for: no pattern, or a pattern that only excludes."""
    pattern = schema.get("pattern")
    return schema.get("type") == "string" and "enum" not in schema and (pattern is None or pattern.startswith("^[^"))


@functools.cache
def free_sites(base: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Value sites, and lists, whose schema takes free text: where hostile text is accepted, and so
    reaches the outputs (half the sites are drawn from these)."""
    out = []
    for target, path in sites(base):
        if target != "value":
            continue
        options = _schemas_at(path)
        if any(_free_text(o) for o in options) or any(
            isinstance(o.get("items"), dict) and any(_free_text(i) for i in _schemas_at((*path, 0))) for o in options
        ):
            out.append((target, path))
    return out or sites(base)


POOL = [
    "\n",
    "\r",
    "\t",
    "\x00",
    "\x7f",
    "\u2028",
    "\u2029",
    "\x85",
    "\x1b[31m",
    "\x0b",
    '"',
    "'",
    "\\",
    "\\\n",
    "$(touch PWNED)",
    "`touch PWNED`",
    "${{ github.token }}",
    "${{ secrets.GITHUB_TOKEN }}",
    "$(Cluster)",
    "$(Process)",
    "$$(x)",
    "$ENV(HOME)",
    "$RANDOM_INTEGER(1,9)",
    "$(executable)",
    "queue 100",
    "\nqueue 100\n",
    "\ntouch PWNED\n",
    "; touch PWNED",
    "&& touch PWNED",
    "| touch PWNED",
    "$HOME",
    "${PATH}",
    "]]\n[evil]\n",
    "= 1\n",
    '"""',
    "'''",
    "#",
    "{x}",
    "{{ 7*7 }}",
    "{% if 1 %}",
    "%post",
    "\n%post\n",
    "-rf",
    "--",
    "a,b",
    "*",
    "?",
    "~",
    "..",
    "../..",
    "/etc/passwd",
    " ",
    "",
    ": ",
    "- ",
    "&a",
    "*a",
    "!!python/object",
    "---",
    "@=end",
    "\\$",
    '""',
    "''",
    ") || (true",
    "Requirements",
    "requirements",
    "executable",
    "Cmd",
    "Environment",
    "WantGPULab",
    "cluster",
    "process",
    "PATH",
    "BASH_ENV",
    "IFS",
    "LD_PRELOAD",
    "a=b",
    "%",
    "@",
    ":",
    "x y",
    "-",
    ".",
    "\nspecs/project.yaml:1:1: error: forged",
    "\nFROM scratch\n",
    "\nRUN touch PWNED\n",
    "\u00e9",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\u00a0",
    "\u65e5\u672c",
    "\U0001f600",
]
LONG = ["a" * 64, "a" * 201, "x" * 501, "A" * 5000, "y" * 200_000]

_printable = [t for t in POOL if not RAW_CONTROL.search(t) and "\n" not in t and "\t" not in t]
_atoms = st.one_of(st.sampled_from(POOL), st.sampled_from(LONG), st.text(max_size=6))
# Weighted towards text a schema may let through (printable), where it reaches the outputs.
hostile_text = st.one_of(
    st.sampled_from(_printable),
    st.sampled_from(_printable),
    st.sampled_from(POOL),
    st.lists(st.sampled_from(_printable), min_size=2, max_size=3).map("".join),
    st.lists(_atoms, min_size=1, max_size=3).map("".join),
)
_scalars = st.one_of(
    st.integers(-2, 2), st.sampled_from([85, 255, 256, 2**31, 2**63, 10**30]), st.floats(), st.booleans(), st.none()
)
other_values = st.one_of(
    _scalars,
    st.lists(st.one_of(hostile_text, _scalars), max_size=3),
    st.dictionaries(hostile_text, st.one_of(hostile_text, _scalars), max_size=2),
)

_DIGEST = re.compile(r"[0-9a-f]{12,}")
_SAFE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-")


def _safe_chars(text: str) -> str:
    return "".join(c if c in _SAFE_CHARS else "x" for c in text)


def harmless(value: Any) -> Any:
    """The same value with every character that could mean something written 'x': same shape,
    same lengths (but for hex digests). Mappings become sorted (key, value) pairs, so that keys
    cannot merge."""
    if isinstance(value, str):
        # Digests of generated content (the image tag) differ with any content: set them aside.
        return _DIGEST.sub("<digest>", _safe_chars(value))
    if isinstance(value, (list, tuple)):
        return [harmless(v) for v in value]
    if isinstance(value, dict):
        return sorted(([harmless(k), harmless(v)] for k, v in value.items()), key=repr)
    return value


@dataclass(frozen=True)
class Op:
    """One mutation. target 'key' renames the key at `path`; target 'value' changes the value there:
    'replace' (by text or, for a key, by a non-string), 'insert' (text at `at`, clamped), 'set' (any
    value), 'append' (to a list), 'add_key' (to a mapping, with a copy of its first value)."""

    target: str
    path: tuple[Any, ...]
    action: str
    text: Any
    at: int = 0


@dataclass(frozen=True)
class Case:
    base: str
    ops: tuple[Op, ...]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _apply(doc: Any, op: Op, twin: bool) -> bool:
    """Apply one op in place (to the twin: with its text made harmless); False where its site is gone
    (an earlier op renamed it) or a new key would collide."""

    # The twin's text: the same characters made safe (not the comparison's digest placeholder, which
    # would put '<digest>' into the twin's spec where the hostile one has 64 hex characters).
    def twin_text(value: Any) -> Any:
        return _safe_chars(value) if isinstance(value, str) else harmless(value)

    text = twin_text(op.text) if twin and not isinstance(op.text, dict) else op.text
    if twin and isinstance(op.text, dict):
        text = {twin_text(k): twin_text(v) for k, v in op.text.items()}
        if len(text) != len(op.text):
            return False
    parent = doc
    for step in op.path[:-1]:
        if (isinstance(parent, dict) and step in parent) or (
            isinstance(parent, list) and isinstance(step, int) and 0 <= step < len(parent)
        ):
            parent = parent[step]
        else:
            return False
    last = op.path[-1]
    if isinstance(parent, dict):
        if last not in parent:
            return False
    elif not (isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent)):
        return False
    if op.target == "key":
        if not isinstance(parent, dict):
            return False
        if op.action == "insert":
            old = _as_text(last)
            at = op.at % (len(old) + 1)
            new = old[:at] + text + old[at:]
        else:
            new = text
        if new != last and new in parent:
            return False
        items = [(new if k == last else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return True
    old = parent[last]
    if op.action in ("replace", "set"):
        parent[last] = text
    elif op.action == "insert" and not isinstance(old, (dict, list)):
        old_text = _as_text(old)
        at = op.at % (len(old_text) + 1)
        parent[last] = old_text[:at] + text + old_text[at:]
    elif op.action == "append" and isinstance(old, list):
        old.append(text)
    elif op.action == "add_key" and isinstance(old, dict):
        if text in old:
            return False
        old[text] = copy.deepcopy(next(iter(old.values()))) if old else "x"
    else:
        return False
    return True


def build(case: Case) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The mutated document, and its harmless twin (None where the two diverge in shape)."""
    mutated = copy.deepcopy(bases()[case.base])
    twin: dict[str, Any] | None = copy.deepcopy(bases()[case.base])
    for op in case.ops:
        applied = _apply(mutated, op, twin=False)
        if twin is not None and _apply(twin, op, twin=True) != applied:
            twin = None
    return mutated, twin


@st.composite
def ops(draw: st.DrawFn, base: str) -> Op:
    target, path = draw(st.one_of(st.sampled_from(sites(base)), st.sampled_from(free_sites(base))))
    node: Any = bases()[base]
    for step in path:
        node = node[step]
    if target == "key":
        action = draw(st.sampled_from(["insert", "replace", "set"]))
        if action == "set":
            return Op(target, path, "replace", draw(st.one_of(st.integers(-1, 2), st.booleans(), st.none())))
        return Op(target, path, action, draw(hostile_text), draw(st.integers(0, 1 << 16)))
    if isinstance(node, list):
        action = draw(st.sampled_from(["append", "set", "append_value"]))
        if action == "append_value":
            return Op(target, path, "append", draw(_scalars))
        return Op(target, path, action, draw(hostile_text if action == "append" else other_values))
    if isinstance(node, dict):
        action = draw(st.sampled_from(["add_key", "set"]))
        return Op(target, path, action, draw(hostile_text if action == "add_key" else other_values))
    action = draw(st.sampled_from(["insert", "replace", "set"]))
    if action == "set":
        return Op(target, path, action, draw(other_values))
    return Op(target, path, action, draw(hostile_text), draw(st.integers(0, 1 << 16)))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    base = draw(st.sampled_from(["default", "extended"]))
    return Case(base, tuple(draw(st.lists(ops(base), min_size=1, max_size=3))))
