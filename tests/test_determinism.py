"""Same spec, same bytes: whatever the directory, hash seed, locale or clock."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import DEFAULT_SPEC, run_cli, tree_bytes


def test_two_builds_in_different_places_and_seeds_are_byte_identical(tmp_path: Path) -> None:
    trees = []
    for name, env in [
        ("first/deeper/place", {"PYTHONHASHSEED": "1", "LC_ALL": "C", "TZ": "UTC"}),
        ("second", {"PYTHONHASHSEED": "4242", "LC_ALL": "C.UTF-8", "TZ": "Pacific/Kiritimati"}),
    ]:
        root = tmp_path / name
        (root / "specs").mkdir(parents=True)
        shutil.copy(DEFAULT_SPEC, root / "specs" / "project.yaml")
        result = run_cli("build", cwd=root, env=env)
        assert result.returncode == 0, result.stderr
        trees.append(tree_bytes(root))
    assert trees[0] == trees[1]
    for path, data in trees[0].items():
        text = data.decode("utf-8", "replace")
        assert str(tmp_path) not in text, f"{path} holds an absolute path"


def test_spec_order_does_not_change_the_output(tmp_path: Path) -> None:
    text = DEFAULT_SPEC.read_text()
    cpu = text[text.index("  cpu:\n") : text.index("  gpu:\n")]
    gpu = text[text.index("  gpu:\n") : text.index("\ntasks:")]
    reordered = text.replace(cpu + gpu, gpu + "\n" + cpu.rstrip("\n"))
    assert reordered != text
    outputs = []
    for name, spec_text in [("a", text), ("b", reordered)]:
        root = tmp_path / name
        (root / "specs").mkdir(parents=True)
        (root / "specs" / "project.yaml").write_text(spec_text)
        assert run_cli("build", cwd=root).returncode == 0
        outputs.append((root / "build" / "pixi.toml").read_text().split("\n", 2)[2])  # past the hash header
    assert outputs[0] == outputs[1]
