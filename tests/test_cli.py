"""The command line as a user meets it: --help speaks to users, every command has help, --version."""

from __future__ import annotations

from pathlib import Path

import pytest

import pixi_htc
from pixi_htc import cli
from tests.conftest import run_cli

COMMANDS = ("build", "check", "validate", "schema", "init", "submit", "status", "explain", "results")


def test_help_is_for_users(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "thin layer" not in result.stdout and "module" not in result.stdout  # no developer docstring
    assert "pixi-htc init --from" in result.stdout and "exit codes:" in result.stdout
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(tmp_path: Path, command: str) -> None:
    result = run_cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith(f"usage: pixi-htc {command}")
    subparsers = next(a for a in cli._parser()._actions if a.dest == "command")
    assert subparsers.choices[command] is not None
    assert any(choice.dest == command and choice.help for choice in subparsers._choices_actions)


def test_version_is_the_package_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"pixi-htc {pixi_htc.__version__}"
