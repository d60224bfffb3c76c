"""Fuzz: hostile text in every key and every value of the default spec, every output checked by its
real consumer.

Each example starts from the default spec, or from the same spec with every optional key the schema
has an example for written out (kept where the spec still compiles), picks one to three sites (a key,
a value, a list, a mapping) and puts hostile text there: control characters, quotes, backslashes,
`$(...)`, backticks, `${{ }}`, HTCondor macros and attribute names, `queue` lines, TOML/YAML/
Dockerfile/Apptainer breakers, very long and non-ASCII text; or replaces a whole value by a number,
a boolean, a list or a mapping. ruamel writes the result (valid YAML), the compiler runs in process.

A spec the compiler rejects must say where, on lines of its own: every diagnostic at line and column
>= 1, one `specs/project.yaml:LINE:COL: error: ...` line per diagnostic, no raw control character.
Any other exception is a crash.

A spec it accepts is checked output by output, with the real consumers:
  pixi.toml       tomllib and pixi's manifest schema; name and description as written
  <job>.sub       htcondor2.Submit; exactly one `queue` statement and nothing after it, no line
                  continuation, no attribute set twice, no +Requirements; submit commands within
                  what clean builds emit (and the job's own +attributes); `executable`; no `$` but
                  $(Cluster), $(Process) and the queue line's own variables, which name no submit
                  command; the queue table is the sweep's product; ClassAd expressions parse (classad2)
  *.sh            bash -n and shellcheck; each job .sh run as HTCondor would (the .sub's arguments,
                  macros expanded, for the sweep's first and last row) in a scratch sandbox whose
                  PATH holds only stand-ins that record each call (bash's command_not_found_handle
                  records any other command): the payload must get exactly the spec's arguments, no
                  command outside what clean builds run, no PWNED file; submit.sh/interact.sh,
                  lock.sh and pack.sh run the same way
  workflow        actionlint (with shellcheck), zizmor, check-jsonschema; no `${{ }}` expression a
                  clean build does not write
  Dockerfile      the BuildKit parser (the `dockerfile` package) and hadolint; the description label
  apptainer.def   a port of Apptainer's own section and label parser (pkg/build/types/parser)
  every file      inside build/ or .github/workflows/; header comment intact; no raw control
                  character; the manifest's sha256s
and, where the same spec with only its hostile *text* made harmless (every character outside
[A-Za-z0-9._/-] written 'x', so shape and lengths stay) also compiles, against that twin: the same
files with the same number of lines and comments on the same lines, and the same decoded content
(TOML and workflow trees, submit commands with arguments/environment/ClassAd literals decoded,
Dockerfile instructions with labels decoded, Apptainer sections and labels, and every command each
script ran with its arguments), all compared after the same harmless mapping. An escaping bug shows
up there as a difference, whatever the file.

The expensive consumers (shellcheck, linters, sandbox runs) run once per distinct content (the
spec's sha256 in headers set aside).

PIXI_HTC_FUZZ_EXAMPLES (default 200) sets the number of examples; PIXI_HTC_FUZZ_SEED replaces the
fixed derandomized run by a seeded random one. The counts are printed in the terminal summary and
written to PIXI_HTC_FUZZ_STATS (default: fuzz-stats.json in pytest's base temporary directory).

The generator, the consumers' parsers, the sandbox and the checks live in tests/fuzzing/; this module
runs one case (run_case) and holds the tests.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, seed, settings

from pixi_htc.core.errors import Diagnostic, SpecError
from tests.conftest import REPO
from tests.fuzzing.builds import Clean, compile_doc
from tests.fuzzing.checks import DISPLAY, check_accepted, check_rejection, clean_reference
from tests.fuzzing.checks_jobs import check_submit, job_runs
from tests.fuzzing.sandbox import Harness, JobRun, _pwned, execute, make_harness
from tests.fuzzing.specs import DEFAULT_DOC, Case, Op, build, cases, sites

EXAMPLES = int(os.environ.get("PIXI_HTC_FUZZ_EXAMPLES", "200"))
SEED = os.environ.get("PIXI_HTC_FUZZ_SEED")
STATS: Counter[str] = Counter()
FAILURES: Counter[str] = Counter()


# --- one case -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _tallied() -> Iterator[None]:
    """A check that fails counts as failed, whatever it raised (an error in a check is a failure too)."""
    try:
        yield
    except Exception as failure:
        STATS["failed"] += 1
        kind = "" if isinstance(failure, AssertionError) else f"{type(failure).__name__}: "
        FAILURES[kind + str(failure).split("\n")[0][:160]] += 1
        raise


def run_case(case: Case, harness: Harness, clean: Clean) -> str:
    """'rejected' or 'accepted'; raises on a broken output and on a crash."""
    STATS["tried"] += 1
    mutated, twin_doc = build(case)
    root = Path(tempfile.mkdtemp(dir=harness.root, prefix="case-"))
    try:
        try:
            b = compile_doc(mutated, root / "m")
        except SpecError as error:
            with _tallied():
                check_rejection(error, (root / "m" / "specs" / "project.yaml").read_text(encoding="utf-8"))
            STATS["rejected with a location"] += 1
            return "rejected"
        except AssertionError:
            raise
        except Exception as error:
            STATS["crashed"] += 1
            FAILURES[f"crash: {type(error).__name__}: {str(error)[:120]}"] += 1
            raise
        twin = None
        if twin_doc is None:
            STATS["accepted, no twin"] += 1
        else:
            try:
                twin = compile_doc(twin_doc, root / "t")
            except SpecError:
                STATS["accepted, twin rejected"] += 1
        with _tallied():
            check_accepted(b, twin, harness, clean)
        STATS["accepted with every output intact"] += 1
        return "accepted"
    finally:
        assert not _pwned(root) and not (REPO / "PWNED").exists(), "an injected command ran"
        shutil.rmtree(root, ignore_errors=True)


# --- the tests --------------------------------------------------------------------------------


class _Summary:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not STATS:
            return
        terminalreporter.write_sep("-", "pixi-htc fuzz")
        for name in (
            "tried",
            "rejected with a location",
            "accepted with every output intact",
            "failed",
            "crashed",
            "accepted, twin rejected",
            "accepted, no twin",
        ):
            terminalreporter.write_line(f"{name}: {STATS[name]}")
        for failure, count in FAILURES.most_common():
            terminalreporter.write_line(f"  {count} x {failure}")


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Harness]:
    if not request.config.pluginmanager.has_plugin("pixi-htc-fuzz-summary"):
        request.config.pluginmanager.register(_Summary(), "pixi-htc-fuzz-summary")
    yield make_harness(tmp_path_factory.mktemp("fuzz"))
    stats = Path(os.environ.get("PIXI_HTC_FUZZ_STATS", tmp_path_factory.getbasetemp() / "fuzz-stats.json"))
    stats.write_text(json.dumps({"examples": EXAMPLES, "counts": dict(STATS), "failures": dict(FAILURES)}, indent=2))


@pytest.fixture(scope="module")
def clean(harness: Harness) -> Clean:
    return clean_reference(harness)


@pytest.mark.parametrize("base", ["default", "extended"])
def test_unmutated_spec_passes_every_check(base: str, harness: Harness, clean: Clean) -> None:
    """The oracle itself: each clean base, compared with itself, passes everything."""
    harness.passed.clear()
    assert run_case(Case(base, ()), harness, clean) == "accepted"


def test_extended_base_writes_out_the_optional_keys() -> None:
    assert len(sites("extended")) > 1.5 * len(sites("default")), "the extended base lost the schema's examples"


def test_the_checks_are_not_vacuous(harness: Harness, clean: Clean, tmp_path: Path) -> None:
    """A command spliced into a .sh fails the run; a second queue statement, a foreign macro, an
    attribute that replaces a command and a forged diagnostic fail their checks."""
    b = compile_doc(copy.deepcopy(DEFAULT_DOC), tmp_path)
    run = job_runs(b, "mnist-sweep")[0]
    spliced = run.script.replace('echo "# Run the payload"', 'echo "# Run the payload"\ntouch PWNED')
    assert spliced != run.script
    with pytest.raises(AssertionError, match="injected command ran"):
        execute(harness, JobRun(spliced, run.argv, run.inputs, run.archive, run.program))
    _code, log, stood_in, _ = execute(
        harness, JobRun(run.script.replace("tar -xf", "curl -xf"), run.argv, run.inputs, run.archive, run.program)
    )
    assert ("NOTFOUND", ("curl", "-xf", "MNIST_data.tar.gz")) in log and stood_in
    sub = b.files["build/htcondor/mnist-gpu-docker.sub"]
    for broken, message in (
        (sub + "queue 100\n", "queue statement"),
        (sub.replace("request_cpus = 1", "request_cpus = $(x)"), "macro the compiler did not write"),
        (sub.replace("queue 1", "+Requirements = true\nqueue 1"), "replaces a submit command"),
        (sub.replace("request_cpus = 1", "request_cpus = 1\nrequest_cpus = 2"), "twice"),
    ):
        with pytest.raises(AssertionError, match=message):
            check_submit(b, "mnist-gpu-docker", broken, None, clean)

    class Forged(SpecError):
        def __str__(self) -> str:
            return super().__str__() + f"\n{DISPLAY}:1:1: error: forged"

    with pytest.raises(AssertionError, match="diagnostics on 2 lines"):
        check_rejection(Forged(DISPLAY, [Diagnostic(1, 1, "name", "bad")]), "name: x\n")


SWEEP = ("jobs", "mnist-sweep")
_LR = next((i for i, a in enumerate(DEFAULT_DOC["jobs"]["mnist-sweep"]["command"]) if a == "{lr}"), 0)
fuzz_settings = settings(
    max_examples=EXAMPLES,
    derandomize=SEED is None,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@fuzz_settings
@given(case=cases())
# The holes the issue names, always tried: a sweep variable named like a submit command, a trailing
# newline in a pattern-checked value, a payload program starting with '%', an expression in CI, a
# command substitution in an argument, an Apptainer section in the description.
@example(
    case=Case(
        "default",
        (
            Op("key", (*SWEEP, "sweep", "lr"), "replace", "executable"),
            Op("value", (*SWEEP, "command", _LR), "replace", "{executable}"),
        ),
    )
)
@example(case=Case("default", (Op("value", ("name",), "insert", "\n", 99),)))
@example(case=Case("default", (Op("value", ("jobs", "mnist-gpu-docker", "command", 0), "replace", "%post"),)))
@example(case=Case("extended", (Op("value", ("ci", "branches", 0), "insert", "${{ github.token }}", 99),)))
@example(case=Case("default", (Op("value", ("jobs", "mnist-gpu-docker", "command", 6), "insert", "$(touch PWNED)"),)))
@example(case=Case("default", (Op("value", ("description",), "replace", "%post"),)))
# Found by this test: an attribute that replaces a submit command, a '$' in an argument (shellcheck),
# an expression HTCondor cannot parse.
@example(
    case=Case("extended", (Op("key", ("jobs", "mnist-gpu-docker", "attributes", "LabTag"), "replace", "Requirements"),))
)
@example(case=Case("default", (Op("value", ("jobs", "mnist-gpu-docker", "command", 3), "replace", "$HOME"),)))
@example(case=Case("extended", (Op("value", ("jobs", "mnist-gpu-docker", "on_exit_hold"), "replace", '""\''),)))
def test_hostile_specs_are_rejected_with_a_location_or_compile_to_intact_outputs(
    case: Case, harness: Harness, clean: Clean
) -> None:
    run_case(case, harness, clean)


if SEED is not None:
    test_hostile_specs_are_rejected_with_a_location_or_compile_to_intact_outputs = seed(int(SEED))(
        test_hostile_specs_are_rejected_with_a_location_or_compile_to_intact_outputs
    )
