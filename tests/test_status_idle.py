"""`status` says why an idle HTCondor process waits, as preflight counts slots (#23): the collector is
faked with the machine ads of tests/fixtures/machine_ads (condor_status -long format); the idle process
is mnist-sweep's 4242.3 in tests/fixtures/status/logs (HTCondor's event log format)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pixi_htc.follow.status import collect, render, status
from pixi_htc.schedulers import SCHEDULERS
from pixi_htc.schedulers.htcondor import HTCondor, matching
from tests import test_status
from tests.conftest import run_cli

ADS = Path(__file__).parent / "fixtures" / "machine_ads"
# The project test_status.py builds, with its event logs, and its compile.
built = test_status.built
compiled_at = test_status.compiled_at
NO_COLLECTOR = "no collector answered (Unable to determine collector host.)"


class FakeCollector:
    """The pool's slot ads, parsed from condor_status -long text; counts how often it is asked."""

    def __init__(self, text: str | None) -> None:
        self.ads = None if text is None else matching.parse_slots(text)
        self.asked = 0

    def __call__(self):
        self.asked += 1
        return (self.ads, "fixture ads") if self.ads is not None else (None, NO_COLLECTOR)


def ads(*names: str) -> str:
    return "\n".join((ADS / f"{name}.ads").read_text() for name in names)


def report_lines(compiled, spec, pool: FakeCollector, **options) -> list[str]:
    schedulers = {**SCHEDULERS, "htcondor": HTCondor(schedd=lambda clusters: None, slots=pool)}
    return list(render(collect(compiled, spec, schedulers=schedulers, **options)))


def test_an_idle_process_says_how_many_slots_match(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    collector = FakeCollector(ads("chtc-gpu-lab", "chtc-cpu"))
    lines = report_lines(compiled, spec, collector)
    sweep = lines.index(next(line for line in lines if line.startswith("mnist-sweep: cluster 4242")))
    # Under the job, after its processes (4242.3 is the idle one): the two GPU Lab slots, not the CPU one.
    assert any(line.split()[:2] == ["4242.3", "idle"] for line in lines[sweep:])
    assert (
        "  idle: 2 of 3 slots (fixture ads) match its requirements and GPU constraints; it waits for one of them"
        in lines[sweep:]
    )
    # Only jobs with an idle process are explained, and the collector is asked once for all of them.
    assert sum(line.lstrip().startswith("idle:") for line in lines) == 1 and collector.asked == 1


def test_no_slot_with_the_cuda_floor_names_the_environment_at_its_line(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every GPU's driver runs CUDA 11.8 only: gpus_minimum_runtime = 12.0 (the environment's cuda)
    excludes them all, and the finding is at environments.gpu.cuda, as preflight says it."""
    compiled, spec = compiled_at(built, monkeypatch)
    old_drivers = ads("chtc-gpu-lab").replace("MaxSupportedVersion = 120", "MaxSupportedVersion = 110")
    lines = report_lines(compiled, spec, FakeCollector(old_drivers))
    assert "  idle: 0 of 2 slots (fixture ads) match its requirements and GPU constraints" in lines
    line, column = spec.locate(("environments", "gpu", "cuda"))
    [finding] = [text for text in lines if text.startswith(f"specs/project.yaml:{line}:{column}: ")]
    assert finding.startswith(f"specs/project.yaml:{line}:{column}: environments.gpu.cuda: no slot of the 2 ")
    assert "gpus_minimum_runtime = 12.0" in finding and "the job would stay idle" in finding


def test_without_a_collector_it_says_so_once(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    collector = FakeCollector(None)
    out: list[str] = []
    schedulers = {**SCHEDULERS, "htcondor": HTCondor(schedd=lambda clusters: None, slots=collector)}
    status(
        compiled,
        spec,
        job_name=None,
        watch=True,
        schedulers=schedulers,
        out=out.append,
        sleep=lambda s: None,
        max_rounds=3,
    )
    # Three --watch rounds, one question to the pool, and the answer said once a round, at the end.
    assert collector.asked == 1
    assert out.count(f"idle processes not explained: {NO_COLLECTOR}") == 3
    assert not any(line.lstrip().startswith("idle:") for line in out)


def test_offline_and_no_schedd_ask_no_collector(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, spec = compiled_at(built, monkeypatch)
    collector = FakeCollector(ads("chtc-gpu-lab"))
    for options in ({"collector": False}, {"live": False}):
        lines = report_lines(compiled, spec, collector, **options)
        assert not any("idle:" in line or "not explained" in line for line in lines)
    assert collector.asked == 0


def test_the_cli_says_once_that_no_collector_answered(built: Path) -> None:
    """Here no HTCondor pool is configured: status says so on one line, with no traceback of its own
    (the failed job's .err in the fixtures has one, which status quotes)."""
    result = run_cli("status", cwd=built, env={"CONDOR_CONFIG": "/dev/null"})
    assert result.returncode == 0 and not result.stderr
    [note] = [line for line in result.stdout.splitlines() if "idle processes not explained" in line]
    assert note.startswith("idle processes not explained: no collector answered")
    offline = run_cli("status", "--offline", cwd=built, env={"CONDOR_CONFIG": "/dev/null"})
    assert offline.returncode == 0 and "not explained" not in offline.stdout


def test_a_collector_that_does_not_answer_is_waited_for_a_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTCondor's own query timeout is 60 s: the query is left behind after `timeout`."""
    htcondor2 = pytest.importorskip("htcondor2")

    class Silent:
        def query(self, *args: object) -> list:
            time.sleep(30)
            return []

    monkeypatch.setattr(htcondor2, "Collector", Silent)
    started = time.monotonic()
    slots, why = matching.collector_slots(0.3)
    assert slots is None and why == "no collector answered within 0.3 s"
    assert time.monotonic() - started < 3
