"""Every bad spec: exit 2, one `file:line:col: error: key.path: message` per problem, build/ untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli, tree_bytes
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
        ("alias-bomb", b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
         + b"".join(b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n" % ((n,) * 2 + (p,) * 10)
                    for p, n in zip(b"abcdefgh", b"bcdefghi")), "expands to more than 100000 nodes"),
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
