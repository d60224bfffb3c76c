"""Every bad spec: exit 2, one `file:line:col: error: key.path: message` per problem, build/ untouched."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pixi_htc.core.errors import SpecError
from pixi_htc.spec.loader import load_spec, to_plain
from pixi_htc.spec.validate import validate
from tests.conftest import DEFAULT_SPEC, run_cli, tree_bytes
from tests.invalid_cases import CASES


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose build/ is current, so a failing build can be seen to change nothing."""
    root = tmp_path_factory.mktemp("project")
    (root / "specs").mkdir()
    from tests.conftest import DEFAULT_SPEC

    (root / "specs" / "project.yaml").write_bytes(DEFAULT_SPEC.read_bytes())
    assert run_cli("build", cwd=root).returncode == 0
    return root


def _build_bad(root: Path, data: bytes) -> tuple[int, str]:
    spec = root / "specs" / "bad.yaml"
    spec.write_bytes(data)
    before = tree_bytes(root / "build")
    result = run_cli("build", "specs/bad.yaml", cwd=root)
    assert tree_bytes(root / "build") == before, "a failed build changed build/"
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def test_there_are_at_least_30_distinct_cases() -> None:
    assert len({name for name, _, _ in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_spec(built_project: Path, name: str, text: str, expected: list[str]) -> None:
    code, stderr = _build_bad(built_project, text.encode())
    assert code == 2, stderr
    for fragment in expected:
        assert fragment in stderr, f"{name}: {fragment!r} not in:\n{stderr}"
    error_lines = [line for line in stderr.splitlines() if ": error: " in line]
    assert error_lines and all(line.startswith("specs/bad.yaml:") for line in error_lines)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("not-utf8", b"schema_version: 1\nname: d\xe9mo\n", "specs/bad.yaml:2:8: error: the spec is not UTF-8"),
        ("nul-byte", b"schema_version: 1\n\x00\n", "specs/bad.yaml:2:1: error: the spec contains a NUL"),
        ("huge", b"schema_version: 1\n" + b"# padding\n" * 120_000, "larger than 1024 KiB"),
        (
            "alias-bomb",
            b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + b"".join(
                b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n" % ((n,) * 2 + (p,) * 10)
                for p, n in zip(b"abcdefgh", b"bcdefghi")
            ),
            "expands to more than 100000 nodes",
        ),
        ("deep-nesting", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "specs/bad.yaml:"),
    ],
)
def test_unreadable_spec(built_project: Path, name: str, data: bytes, expected: str) -> None:
    code, stderr = _build_bad(built_project, data)
    assert code == 2, stderr
    assert expected in stderr


def test_missing_spec_file(built_project: Path) -> None:
    result = run_cli("build", "specs/nope.yaml", cwd=built_project)
    assert result.returncode == 2
    assert "specs/nope.yaml:1:1: error: cannot read the spec" in result.stderr


def test_all_errors_reported_at_once(built_project: Path) -> None:
    code, stderr = _build_bad(built_project, dict(CASES_BY_NAME)["many-errors"].encode())
    assert code == 2
    assert "3 error(s); nothing was written." in stderr


def test_validate_command_reports_the_same(built_project: Path) -> None:
    (built_project / "specs" / "bad.yaml").write_text("schema_version: 1\nname: Demo\nenvironments: {a: {}}\n")
    result = run_cli("validate", "specs/bad.yaml", cwd=built_project)
    assert result.returncode == 2
    assert "specs/bad.yaml:2:7: error: name:" in result.stderr


CASES_BY_NAME = [(name, text) for name, text, _ in CASES]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    return [prefix] + [p for key, child in children for p in _paths(child, (*prefix, key))]


def _damage(document: Any, path: tuple[Any, ...], value: Any) -> None:
    """Replace (or, given DELETE, remove) the value at `path`, if earlier damage left the path there."""
    *steps, last = path
    parent = document
    for step in steps:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(parent, dict):
        if value is DELETE:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent) and value is not DELETE:
        parent[last] = value


DELETE = object()
DEFAULT_DOCUMENT = to_plain(YAML(typ="rt").load(DEFAULT_SPEC.read_text()))
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=8),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(["a", "cuda", "gpus", "Bad_Key"]), st.integers(0, 2), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(
    damage=st.lists(
        st.tuples(st.sampled_from(_paths(DEFAULT_DOCUMENT)[1:]), st.one_of(st.just(DELETE), junk)),
        min_size=1,
        max_size=3,
    )
)
def test_any_damage_to_the_default_spec_is_reported_never_crashes(
    tmp_path_factory: pytest.TempPathFactory, damage: list[tuple[tuple[Any, ...], Any]]
) -> None:
    """Break the default spec in up to three places at once: validation either accepts it or reports
    located diagnostics, whatever it sets aside on the way; it never raises anything else."""
    document = copy.deepcopy(DEFAULT_DOCUMENT)
    for path, value in damage:
        _damage(document, path, value)
    spec = tmp_path_factory.mktemp("damaged") / "project.yaml"
    with spec.open("w", encoding="utf-8") as handle:
        YAML().dump(document, handle)
    try:
        validate(load_spec(spec, "project.yaml"))
    except SpecError as error:
        assert error.diagnostics
        assert all(d.line >= 1 and d.column >= 1 and d.message for d in error.diagnostics)
