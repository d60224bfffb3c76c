"""Fuzz: hostile files from other people into the commands that read them.

  init --from job.sub     submit files: `include` in every spelling (`include : f`, `include command :
                          cmd`, `include : cmd |`, `include command into f : cmd`, `include ifexist`,
                          inside if/elif/else/endif, the keyword split by a `\\` continuation, mixed
                          case, a command taken from a macro or $ENV), recursive, mutual, exponential
                          and 10,000-long chains of macros, $ENV(HOME) and a secret variable,
                          $(name:default), HTCondor's $FUNCTIONS, numbers that are not integers (1.5,
                          $(n), a queue variable, full-width and Arabic-Indic digits, 400 nines), line
                          breaks, U+2028, U+0085, ESC... in keys, values, file names and the .sub's own
                          name, huge values, keys, line counts and inline tables (an 8-variable table
                          whose product is rows**8), raw bytes, UTF-16, CRLF/CR, BOM, heredoc values,
                          queue statements of every shape (counts, in/from/matching, `from cmd |`, a
                          file outside the project, a second queue), and the file as a FIFO, a link to a
                          secret or /dev/zero, an 8 GB sparse file, a directory; specs/ as a link out of
                          the project, the queue table's path taken by a link
  init --from pixi.toml   pixi manifests (and pyproject.toml [tool.pixi]): every key of a realistic
                          manifest given another type (text, numbers, nan/inf, booleans, dates, lists,
                          tables), renamed or joined by a key with hostile text (line separators in
                          keys and names), arrays/tables nested 50,000 deep, 50,000-key tables, a
                          50,000-part dotted table, BOM/CRLF/NUL/latin-1/UTF-16, a 3 MB line; the
                          manifest as a FIFO, link, sparse file; specs/ as a link
  status                  the built default project with HTCondor's event logs (the fixtures' text
                          format, tests/fixtures/status) made hostile: holds whose reasons hold ESC,
                          CR, line breaks, forged `file:line:` text, 300 KB, absurd codes; events of
                          every type with junk, huge or other processes' ids; damaged logs (cut, no
                          `...`, garbage, NUL, invalid UTF-8, BOM, CRLF, empty); 100,000-event logs;
                          logs named with huge or non-ASCII digits; .err files with control
                          characters, 3 MB lines, 300,000 lines, binary; logs and .err files as FIFOs,
                          links to /dev/zero, /dev/urandom or a secret outside the project, 8 GB
                          sparse files, directories, a logs/ that links out; an edited
                          build/htcondor/*.sub with include lines
  results                 metrics.jsonl made hostile: "seconds": "abc", null, lists, tables, NaN,
                          Infinity, 1e999, 400-digit integers, formula text; metric names with control
                          characters and line separators; JSON nested 100,000 deep; junk, binary, NUL,
                          lone surrogates, duplicate keys, CRLF, BOM, latin-1, 5 MB lines, 50,000 lines;
                          the file as a FIFO, a link to /dev/zero or a secret, a sparse file, a
                          directory; the CSV, the plots and outputs/ as links out of the project; an
                          edited build/htcondor/*.sub

Every command runs forked from this process (tests/fuzzing/file_runs.py): in the case's project
directory, PATH holding only stand-ins that record any call, bounded in time (PIXI_HTC_FUZZ_TIMEOUT,
default 8 s), address space and file size. The rule for every case: no crash (exit 70, a traceback,
a signal), no hang, no command run (the stand-ins' log, PWNED files from the canary commands), no
change outside the project (a snapshot of everything else under the fuzz root), no secret (a file
outside the project, an environment variable, HOME's path) in an output, no raw control character
or line separator and no uncut 4,000-character line on the terminal. A rejection must say where
(exit 2, `file:LINE`; a whole-file problem names the file) and write nothing. A spec init writes
must parse (ruamel), keep its header comment intact (one comment line per item the terminal lists
as not carried over) and hold only the keys init writes (no `ci:` or `staging:` from a comment);
the results CSV has no raw control character and no formula cell, and Infinity is never best.

Failures are collected, not raised at once: each command's test runs all its examples, then fails
listing each kind of failure with its smallest case (a reproducer: the Case's ingredients; the
materialized files are in PIXI_HTC_FUZZ_REPRO, default fuzz-files-repro/ in pytest's base temporary
directory). PIXI_HTC_FUZZ_FILE_EXAMPLES (default 15) sets the examples per command (the explicit
ones come on top); PIXI_HTC_FUZZ_SEED replaces the derandomized run by a seeded one. A case with a
hang-prone ingredient that already hung is skipped (counted). The counts are printed in the terminal
summary and written to PIXI_HTC_FUZZ_FILE_STATS (default fuzz-files-stats.json in pytest's base
temporary directory).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from ruamel.yaml import YAML

from tests.conftest import DEFAULT_SPEC, REPO
from tests.fuzzing import hostile_files as hf
from tests.fuzzing.file_runs import (
    LOCATION,
    NAMES_FILE,
    USAGE,
    Outcome,
    Sandbox,
    Tally,
    common_failures,
    crash_kind,
    make_sandbox,
    new_files,
    run_cli,
    snapshot,
    traceback_summary,
    tree,
)
from tests.fuzzing.hostile_files import Case, Prepared
from tests.fuzzing.specs import RAW_CONTROL

EXAMPLES = int(os.environ.get("PIXI_HTC_FUZZ_FILE_EXAMPLES", "15"))
SEED = os.environ.get("PIXI_HTC_FUZZ_SEED")
TALLY = Tally()
COMMANDS = {
    "init-sub": "init --from job.sub",
    "init-pixi": "init --from pixi.toml",
    "status": "status",
    "results": "results",
}
SCHEMA = json.loads((REPO / "schema" / "project.schema.json").read_text())
DEFS = SCHEMA["$defs"]
INIT_TOP = {
    "init-sub": {"schema_version", "name", "source", "site", "jobs"},
    "init-pixi": {
        "schema_version",
        "name",
        "source",
        "version",
        "description",
        "workspace",
        "environments",
        "tasks",
        "container",
    },
}
TASK_KEYS = {"cmd", "description", "depends_on", "cwd", "env", "inputs", "outputs", "args", "environment"}
HEADER = ("# yaml-language-server: $schema=", "# Written by `pixi-htc init` from ", "# `pixi-htc schema` describes")
HANG_PRONE = {
    "fifo",
    "link-devzero",
    "link-urandom",
    "sparse",
    "exponential",
    "chain",
    "many-macros",
    "product-table",
    "logs-dir-link",
}


# --- materializing and judging one case ---------------------------------------------------------


def _link(path: Path, target: Path) -> None:
    if not path.exists() and not path.is_symlink():
        path.symlink_to(target)


def prepare(case: Case, project: Path, outside: Path) -> Prepared:
    kinds = {str(i[1]) for i in case.ingredients if len(i) > 1 and isinstance(i[1], str)} | {
        str(i[2]) for i in case.ingredients if len(i) > 2 and isinstance(i[2], str)
    }
    risky = kinds & HANG_PRONE
    if case.command == "init-sub":
        data, stem = hf.submit_text(case.ingredients, outside)
        name = f"{stem}.sub"
        specials = [i[1] for i in case.ingredients if i[0] == "special"]
        path = project / name
        path.write_bytes(data)
        whole = False
        for form in specials:
            whole = True
            if form == "specs-link":
                _link(project / "specs", outside / "specs")
            elif form == "table-link":
                (project / "specs").mkdir(exist_ok=True)
                from pixi_htc.init.draft import slug

                link = project / "specs" / f"{slug(stem)}.queue.txt"
                if not link.exists():
                    link.symlink_to(outside / "target.csv")
            else:
                hf.special_file(path, form, outside, data, "secret.sub")
        return Prepared(["init", "--from", name], whole, data[:600].decode("utf-8", "replace"), risky)
    if case.command == "init-pixi":
        data, name = hf.pixi_text(case.ingredients)
        folder = project
        for ing in case.ingredients:
            if ing[0] == "dirname":
                folder = project / f"repo{hf.pool(ing[1])}".replace("/", "_").replace("\x00", "0")
                folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        whole = False
        for ing in case.ingredients:
            if ing[0] == "special" and ing[1] == "specs-link":
                _link(project / "specs", outside / "specs")
                whole = True
            elif ing[0] == "special":
                hf.special_file(path, ing[1], outside, data, "secret.txt")
                whole = True
        whole |= any(i[0] == "layout" and i[1] in ("utf16", "latin1", "nul") for i in case.ingredients)
        return Prepared(
            ["init", "--from", os.path.relpath(path, project)], whole, data[:600].decode("utf-8", "replace"), risky
        )
    if case.command == "status":
        options, whole, text = hf.status_files(case.ingredients, project, outside)
        return Prepared(["status", "--no-schedd", *options], whole, text, risky)
    options, whole, text = hf.results_files(case.ingredients, project, outside)
    return Prepared(["results", *options], whole, text, risky)


def _written(project: Path, before: set[str]) -> dict[str, str]:
    out = {}
    for rel in new_files(project, before):
        path = project / rel
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:  # a prefix: a case's file may be an 8 GB sparse one
                out[rel] = handle.read(4 << 20).decode("utf-8", "replace")
    for rel in ("build/outputs",):  # results writes here: files it rewrote through a link are outside
        folder = project / rel
        if folder.is_dir() and not folder.is_symlink():
            for path in folder.rglob("*.csv"):
                if path.is_file():  # a dangling link nothing was written through is no CSV
                    out.setdefault(str(path.relative_to(project)), path.read_text(errors="replace"))
    return out


def check_spec(command: str, project: Path, outcome: Outcome) -> list[str]:
    """The spec init wrote: parses, header intact, only the keys init writes."""
    path = project / "specs" / "project.yaml"
    if not path.is_file():
        return ["init said it wrote the spec, but there is none"]
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    failures = []
    said = [line for line in outcome.stderr.split("\n") if line]
    lost = [line for line in said if line.startswith("not carried over: ")]
    # After the items, what build would refuse in the spec init wrote: a heading, then one indented
    # line a problem (cli.py, init/checked.py).
    rest = said[len(lost) :]
    if said[: len(lost)] != lost or (
        rest
        and not (
            rest[0].endswith(" does not build yet; what build says (fix it in the spec):")
            and len(rest) > 1
            and all(line.startswith("  ") and not line.startswith("   ") for line in rest[1:])
        )
    ):
        failures.append("a stderr line that is not a `not carried over:` item or a build problem (a line break)")
    lines = text.split("\n")
    expected = 3 + (1 + len(lost) if lost else 0)
    header = lines[:expected]
    if not all(line.startswith("#") for line in header) or (len(lines) > expected and lines[expected].startswith("#")):
        failures.append(f"the spec's header is not {expected} comment lines (a line break in a comment)")
    elif not all(line.startswith(start) for line, start in zip(header, HEADER)):
        failures.append("the spec's header lines changed")
    if any(RAW_CONTROL.search(line) or "\r" in line for line in header):
        failures.append("a raw control character or line separator in the spec's comments")
    if "\r" in text or "\x85" in text:
        failures.append("a raw CR or U+0085 in the spec")
    try:
        doc = YAML(typ="rt").load(text)
    except Exception as error:
        return [*failures, f"the spec does not parse: {type(error).__name__}"]
    if not isinstance(doc, dict):
        return [*failures, "the spec is not a mapping"]
    extra = set(doc) - INIT_TOP[command]
    if extra:
        failures.append(f"a key init does not write is live in the spec: {sorted(map(str, extra))[0][:40]!r}")
    jobs = doc.get("jobs") or {}
    if command == "init-sub" and (not isinstance(jobs, dict) or len(jobs) != 1):
        failures.append("the spec does not hold exactly one job")
    job_keys = set(DEFS["job"]["properties"])
    for job in jobs.values() if isinstance(jobs, dict) else ():
        if isinstance(job, dict) and set(job) - job_keys:
            failures.append(f"a job key init does not write: {sorted(map(str, set(job) - job_keys))[0][:40]!r}")
    ws = doc.get("workspace")
    if isinstance(ws, dict) and set(ws) - set(SCHEMA["properties"]["workspace"]["properties"]):
        failures.append("a workspace key init does not write")
    envs = doc.get("environments")
    for env in envs.values() if isinstance(envs, dict) else ():
        if isinstance(env, dict) and set(env) - set(DEFS["environment"]["properties"]):
            failures.append("an environment key init does not write")
    tasks = doc.get("tasks")
    for task in tasks.values() if isinstance(tasks, dict) else ():
        if isinstance(task, dict) and set(task) - TASK_KEYS:
            failures.append("a task key init does not write")
    return failures


def check_results(project: Path, outcome: Outcome, written: dict[str, str]) -> list[str]:
    failures = []
    for rel, text in written.items():
        if not rel.endswith(".csv"):
            continue
        if RAW_CONTROL.search(text.replace("\r\n", "\n")):
            failures.append("a raw control character in the results CSV")
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                if cell.lstrip()[:1] in ("=", "+", "-", "@") and not _number(cell):
                    failures.append(f"a formula cell in the results CSV ({cell[:1]}...)")
                    break
    best = re.search(r"best by .*? = (\S+)$", outcome.stdout, re.M)
    if best and best.group(1).lower().lstrip("+-") in ("inf", "infinity", "nan"):
        failures.append(f"{best.group(1)} ranked best")
    return failures


def _number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


class Runner:
    def __init__(self, sandbox: Sandbox, repro: Path) -> None:
        self.sandbox, self.repro = sandbox, repro
        self.hung: dict[str, set[str]] = {}

    def run(self, case: Case) -> None:
        command = case.command
        TALLY.add(command, "tried")
        started = time.monotonic()
        project, outside = self.sandbox.new_case(built=not command.startswith("init"))
        try:
            prepared = prepare(case, project, outside)
            if prepared.risky & self.hung.get(command, set()):
                TALLY.add(command, "skipped (an ingredient that already hung)")
                return
            before_tree = tree(project)
            before = snapshot(self.sandbox, project)
            outcome = run_cli(self.sandbox, prepared.argv, project)
            TALLY.timed(command, outcome.seconds, str(case))
            written = _written(project, before_tree)
            failures = common_failures(self.sandbox, project, before, outcome, "\n".join(written.values()))
            crash = crash_kind(outcome)
            detail = ""
            if crash:
                TALLY.add(command, "hung" if outcome.rc is None else "crashed")
                if outcome.rc is None:
                    self.hung.setdefault(command, set()).update(prepared.risky)
                else:
                    detail = self._traceback(case)
                    crash = f"{crash}: {detail}" if detail else crash
                failures.insert(0, crash)
            elif outcome.rc == 2 or outcome.rc == 1:
                located = LOCATION.search(outcome.output) or (prepared.whole and NAMES_FILE.search(outcome.output))
                if command.startswith("init"):
                    left = [f for f in new_files(project, before_tree) if f not in ("specs",)]
                    if left:
                        failures.append(f"a refused init left {left[0][:60]!r} behind")
                if USAGE.search(outcome.output) and not failures:
                    TALLY.add(command, "refused the command line")
                elif not located:
                    failures.append(f"rejected without a location: {_first_message(outcome)}")
                elif not failures:
                    TALLY.add(command, "rejected with a location")
            elif outcome.rc == 0:
                if command.startswith("init"):
                    failures += check_spec(command, project, outcome)
                    expected = re.compile(r"specs(/(project\.yaml|project\.schema\.json|[^/]+\.queue\.txt))?$")
                    odd = [f for f in new_files(project, before_tree) if not expected.match(f)]
                    if odd:
                        failures.append(f"init wrote an unexpected file {odd[0][:60]!r}")
                if command == "results":
                    failures += check_results(project, outcome, written)
                if not failures:
                    TALLY.add(command, "accepted intact")
            if failures:
                TALLY.add(command, "failed")
                for failure in dict.fromkeys(failures):
                    TALLY.fail(
                        command,
                        _kind(failure),
                        str(case),
                        len(str(case)) + len(prepared.text),
                        f"exit {outcome.rc}; argv {prepared.argv}; output: {outcome.output[:300]!r}",
                    )
                self._keep(case, project, prepared, outcome)
        finally:
            shutil.rmtree(project.parent, ignore_errors=True)
            TALLY.timed(command + " (whole case)", time.monotonic() - started, str(case))

    def _traceback(self, case: Case) -> str:
        """The crash again with --debug, for where it happened."""
        project, outside = self.sandbox.new_case(built=not case.command.startswith("init"))
        try:
            prepared = prepare(case, project, outside)
            outcome = run_cli(self.sandbox, ["--debug", *prepared.argv], project)
            self.sandbox.calls.write_text("")
            return traceback_summary(outcome.stderr)
        finally:
            shutil.rmtree(project.parent, ignore_errors=True)

    def _keep(self, case: Case, project: Path, prepared: Prepared, outcome: Outcome) -> None:
        """The reproducer's files (small ones) and the outcome, in the repro directory."""
        target = self.repro / f"{case.command}-{self.sandbox.counter}"
        target.mkdir(parents=True, exist_ok=True)
        (target / "case.txt").write_text(
            f"{case}\nargv: {prepared.argv}\nexit: {outcome.rc}\n--- stdout\n"
            f"{outcome.stdout[:20000]!r}\n--- stderr\n{outcome.stderr[:20000]!r}\n"
        )
        for rel in new_files(project, set()):
            path = project / rel
            if (
                path.is_file()
                and not path.is_symlink()
                and path.stat().st_size < 256 << 10
                and (rel.endswith((".sub", ".toml", ".yaml", ".jsonl", ".err")) or "logs/" in rel)
            ):
                dest = target / "files" / rel.encode("unicode_escape").decode()
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)


def _first_message(outcome: Outcome) -> str:
    text = outcome.stderr.strip() or outcome.stdout.strip()
    return re.sub(r"\d+", "N", text.split("\n")[0][:100]) if text else "(no message)"


def _kind(failure: str) -> str:
    """Failures that differ only in numbers or quoted text count as one kind."""
    return (
        re.sub(r"'[^']*'", "'...'", failure)[:200]
        if failure.startswith(("rejected without", "a refused"))
        else failure[:200]
    )


# --- fixtures, summary, stats --------------------------------------------------------------------


class _Summary:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not TALLY.counts:
            return
        terminalreporter.write_sep("-", "pixi-htc fuzz: hostile files")
        for command, counts in TALLY.counts.items():
            line = ", ".join(
                f"{name}: {counts.get(name, 0)}"
                for name in (
                    "tried",
                    "rejected with a location",
                    "accepted intact",
                    "failed",
                    "crashed",
                    "hung",
                    "skipped (an ingredient that already hung)",
                )
            )
            terminalreporter.write_line(f"{COMMANDS[command]}: {line}")
            for kind, entry in sorted(TALLY.failures.get(command, {}).items(), key=lambda kv: -kv[1]["count"]):
                terminalreporter.write_line(f"  {entry['count']} x {kind}")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Runner]:
    if not request.config.pluginmanager.has_plugin("pixi-htc-fuzz-files-summary"):
        request.config.pluginmanager.register(_Summary(), "pixi-htc-fuzz-files-summary")
    for module in (
        "pixi_htc.cli",
        "pixi_htc.init",
        "pixi_htc.follow.status",
        "pixi_htc.follow.results",
        "pixi_htc.follow.explain",
        "pixi_htc.schedulers.submit",
    ):
        __import__(module)  # imported once here, so that no forked child writes bytecode
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot

        import pixi_htc.follow.plots  # noqa: F401
    except ImportError:
        pass
    sandbox = make_sandbox(tmp_path_factory.mktemp("fuzz-files"))
    template = sandbox.root / "template"
    (template / "specs").mkdir(parents=True)
    shutil.copy(DEFAULT_SPEC, template / "specs" / "project.yaml")
    built = run_cli(sandbox, ["build"], template, timeout=120)
    assert built.rc == 0, built.output
    (template / "build" / "logs").mkdir()
    for file in (Path(__file__).parent / "fixtures" / "status" / "logs").iterdir():
        shutil.copy(file, template / "build" / "logs" / file.name)
    (template / ".tmp").mkdir(exist_ok=True)
    sandbox.calls.write_text("")
    sandbox.template = template
    repro = Path(os.environ.get("PIXI_HTC_FUZZ_REPRO", tmp_path_factory.getbasetemp() / "fuzz-files-repro"))
    shutil.rmtree(repro, ignore_errors=True)
    yield Runner(sandbox, repro)
    stats = Path(os.environ.get("PIXI_HTC_FUZZ_FILE_STATS", tmp_path_factory.getbasetemp() / "fuzz-files-stats.json"))
    stats.write_text(
        json.dumps(
            {
                "examples": EXAMPLES,
                "counts": {COMMANDS[c]: v for c, v in TALLY.counts.items()},
                "failures": {COMMANDS[c]: v for c, v in TALLY.failures.items()},
                "seconds": TALLY.seconds,
                "slowest": TALLY.slowest,
                "reproducers": str(repro),
            },
            indent=2,
            default=str,
        )
    )


fuzz_settings = settings(
    max_examples=EXAMPLES,
    derandomize=SEED is None,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)


def _seeded(test: Any) -> Any:
    return seed(int(SEED))(test) if SEED is not None else test


def _assert_clean(command: str) -> None:
    found = TALLY.failures.get(command, {})
    if found:
        report = "\n".join(
            f"{entry['count']} x {kind}\n    smallest: {entry['case']}\n    {entry['detail'][:400]}"
            for kind, entry in found.items()
        )
        pytest.fail(f"{COMMANDS[command]}: {len(found)} kind(s) of failure\n{report}", pytrace=False)


def _sub(*ingredients: tuple[Any, ...]) -> Case:
    return Case("init-sub", ingredients)


def _pixi(*ingredients: tuple[Any, ...]) -> Case:
    return Case("init-pixi", ingredients)


def _status(*ingredients: tuple[Any, ...]) -> Case:
    return Case("status", ingredients)


def _results(*ingredients: tuple[Any, ...]) -> Case:
    return Case("results", ingredients)


_INC = {form: i for i, form in enumerate(hf.INCLUDE_FORMS)}
_NUM = {value: i for i, value in enumerate(hf.NUMBERS)}
_POOL = {text: i for i, text in enumerate(hf.POOL)}
_Q = {q: i for i, q in enumerate(hf.QUEUES)}


# --- the tests ---------------------------------------------------------------------------------


def test_the_canaries_bite(runner: Runner) -> None:
    """The checks are not vacuous: a stand-in that runs, a write outside, a secret and a raw ESC on
    the terminal are each caught."""
    sandbox = runner.sandbox
    project, outside = sandbox.new_case()
    before = snapshot(sandbox, project)
    (outside / "target.csv").write_text("overwritten\n")
    os.system(f"PATH={sandbox.bin} sh -c 'touch x' >/dev/null")  # the stand-in records the call
    outcome = Outcome(rc=0, stdout=f"\x1b[31m leak7d1e {'x' * 5000}\n", stderr="", seconds=0)
    failures = common_failures(sandbox, project, before, outcome)
    assert any(f.startswith("a command ran") for f in failures), failures
    assert any(f.startswith("wrote outside the project") for f in failures), failures
    assert any("file outside the project reached the terminal" in f for f in failures), failures
    assert any("raw control character" in f for f in failures), failures
    assert any("not cut" in f for f in failures), failures
    shutil.rmtree(project.parent)
    assert crash_kind(Outcome(rc=None, stdout="", stderr="", seconds=9)) and crash_kind(
        Outcome(rc=70, stdout="", stderr="", seconds=0)
    )


def test_a_clean_submit_file_and_manifest_are_accepted_intact(runner: Runner) -> None:
    before = {c: dict(TALLY.counts.get(c, {})) for c in COMMANDS}
    runner.run(_sub(("layout", "tabs")))
    runner.run(_pixi(("pyproject", False)))
    runner.run(_status(("option", 0)))
    runner.run(_results(("metric", 0)))
    for command in COMMANDS:
        gained = TALLY.counts[command].get("accepted intact", 0) - before[command].get("accepted intact", 0)
        assert gained == 1, (command, TALLY.failures.get(command))


@_seeded
@fuzz_settings
@given(case=hf.submit_cases())
def _submit(case: Case) -> None:
    RUNNER[0].run(case)


RUNNER: list[Runner] = []
# The holes issue 19 names, always tried.
_SUBMIT_EXAMPLES = [
    *(_sub(("include", i, 0, 0, 3)) for i in range(len(hf.INCLUDE_FORMS))),
    _sub(("include", _INC["include : {file}"], 0, 0, 3)),
    _sub(("include", _INC["include command into {into} : {cmd}"], 1, 0, 0)),
    _sub(("number", "request_cpus", _NUM["$(n)"])),
    _sub(("number", "request_gpus", _NUM["1.5"])),
    _sub(("number", "max_retries", _NUM["$(r)"])),
    _sub(("macro", "queue-number", 0, 0)),
    _sub(("macro", "exponential", 3, 44)),
    _sub(("macro", "rec", 3, 0)),
    _sub(("macro", "env-secret", 2, 0)),
    _sub(("macro", "default", 3, 0)),
    _sub(("macro", "chain", 3, 64)),
    _sub(("attr", "command", _POOL["\nci:\n  pixi_htc: https://evil.example/x.whl\n"], 0)),
    _sub(("attr", "command", _POOL["\u2028ci: {pixi_htc: evil}"], 0)),
    _sub(("attr", "plus", _POOL["\x85ci: evil"], 0)),
    _sub(("name", _POOL["\nci:\n  pixi_htc: https://evil.example/x.whl\n"])),
    _sub(("name", _POOL["\u2028ci: {pixi_htc: evil}"])),
    _sub(("name", _POOL["\x1b[31m"])),
    _sub(("huge", "product-table", 3_000_000)),
    _sub(("huge", "long-value", 3_000_000)),
    _sub(("queue", _Q["queue lr from {touch} {outside}/PWNED-q |"])),
    _sub(("queue", _Q["queue lr from ../outside/secret.txt"])),
    _sub(("special", "fifo")),
    _sub(("special", "link-devzero")),
    _sub(("special", "sparse")),
    _sub(("special", "link-secret")),
    _sub(("special", "specs-link")),
    _sub(("binary", b"\xff\xfe\x00", 9)),
]
for _case in _SUBMIT_EXAMPLES:
    _submit = example(case=_case)(_submit)


def test_hostile_submit_files_into_init(runner: Runner) -> None:
    RUNNER[:] = [runner]
    _submit()
    _assert_clean("init-sub")


@_seeded
@fuzz_settings
@given(case=hf.pixi_cases())
def _pixi_fuzz(case: Case) -> None:
    RUNNER[0].run(case)


_WS = hf.PIXI_SITES.index(("workspace",))
_TASKS = hf.PIXI_SITES.index(("tasks",))
_FEATURE = hf.PIXI_SITES.index(("feature",))
_ENVS = hf.PIXI_SITES.index(("environments",))
_PIXI_EXAMPLES = [
    _pixi(("replace", _WS, "text", 0)),
    _pixi(("replace", _TASKS, "list", 0)),
    _pixi(("replace", _FEATURE, "list", 0)),
    _pixi(("replace", _ENVS, "text", 0)),
    _pixi(("replace", hf.PIXI_SITES.index(("workspace", "platforms")), "text", 0)),
    _pixi(("replace", hf.PIXI_SITES.index(("target", "linux-64")), "int", 0)),
    _pixi(("deep", hf.PIXI_SITES.index(("dependencies", "python")), "array", 50_000)),
    _pixi(("deep", hf.PIXI_SITES.index(("tasks", "prep")), "table", 50_000)),
    _pixi(("add", 0, _POOL["\nci:\n  pixi_htc: https://evil.example/x.whl\n"], "int")),
    _pixi(("add", 0, _POOL["\u2028ci: {pixi_htc: evil}"], "int")),
    _pixi(("add", hf.PIXI_SITES.index(("workspace",)), _POOL["\x85ci: evil"], "text")),
    _pixi(("add", hf.PIXI_SITES.index(("feature", "gpu")), _POOL["\rci: evil"], "text")),
    _pixi(("rename", hf.PIXI_SITES.index(("feature", "gpu")), _POOL["\u2028ci: {pixi_htc: evil}"])),
    _pixi(("rename", hf.PIXI_SITES.index(("tasks", "prep")), _POOL["\x1b[31m"])),
    _pixi(("special", "fifo")),
    _pixi(("special", "specs-link")),
    _pixi(("special", "sparse")),
]
for _case in _PIXI_EXAMPLES:
    _pixi_fuzz = example(case=_case)(_pixi_fuzz)


def test_hostile_manifests_into_init(runner: Runner) -> None:
    RUNNER[:] = [runner]
    _pixi_fuzz()
    _assert_clean("init-pixi")


@_seeded
@fuzz_settings
@given(case=hf.status_cases())
def _status_fuzz(case: Case) -> None:
    RUNNER[0].run(case)


_STATUS_EXAMPLES = [
    _status(("hold", 0, _POOL["\x1b[2J\x1b[H"], 0, "plain")),
    _status(("hold", 0, _POOL["\u2028"], 0, "newline-split")),
    _status(("hold", 0, _POOL["\r"], 0, "forged")),
    _status(("hold", 2, 0, 2, "long")),
    _status(("damage", 0, "truncate", 50)),
    _status(("damage", 1, "invalid-utf8", 30)),
    _status(("err", "fifo", 0, 5000)),
    _status(("err", "link-devzero", 0, 5000)),
    _status(("err", "sparse", 0, 5000)),
    _status(("err", "link-secret", 0, 5000)),
    _status(("err", "hostile-lines", _POOL["\x1b[31m"], 5000)),
    _status(("err", "long-line", 0, 3_000_000)),
    _status(("logspecial", 0, "fifo")),
    _status(("logspecial", 0, "link-devzero")),
    _status(("logspecial", 1, "sparse")),
    _status(("logspecial", 1, "link-secret")),
    _status(("logspecial", 1, "logs-dir-link")),
    _status(("many", 100_000)),
    _status(("sub-edit", 1, 0)),
    _status(("numbers", "unicode-digits")),
]
for _case in _STATUS_EXAMPLES:
    _status_fuzz = example(case=_case)(_status_fuzz)


def test_hostile_event_logs_and_err_files_into_status(runner: Runner) -> None:
    RUNNER[:] = [runner]
    _status_fuzz()
    _assert_clean("status")


@_seeded
@fuzz_settings
@given(case=hf.results_cases())
def _results_fuzz(case: Case) -> None:
    RUNNER[0].run(case)


_V = {v: i for i, v in enumerate(hf.JSON_VALUES)}
_RESULTS_EXAMPLES = [
    _results(("value", 0, 4, _V['"abc"'])),
    _results(("value", 0, 4, _V["null"])),
    _results(("value", 0, 4, _V["[]"])),
    _results(("value", 1, 1, _V["Infinity"])),
    _results(("value", 1, 0, _V["1" + "0" * 400])),
    _results(("deep", 0, "array", 100_000)),
    _results(("deep", 0, "object", 100_000)),
    _results(("key", 0, _POOL["\x1b[31m"], 0)),
    _results(("key", 0, _POOL["\u2028"], 0)),
    _results(("value", 0, 1, _V['"=1+2"'])),
    _results(("line", 0, "lone-surrogate-raw", 1)),
    _results(("value", 3, 2, _V['"\\ud800"'])),
    _results(("special", 0, "fifo")),
    _results(("special", 0, "link-devzero")),
    _results(("special", 0, "sparse")),
    _results(("special", 0, "link-secret")),
    _results(("links", "csv-link")),
    _results(("links", "png-link")),
    _results(("links", "plots-dir-link")),
    _results(("sub-edit", 1, 0)),
]
for _case in _RESULTS_EXAMPLES:
    _results_fuzz = example(case=_case)(_results_fuzz)


def test_hostile_metrics_into_results(runner: Runner) -> None:
    RUNNER[:] = [runner]
    _results_fuzz()
    _assert_clean("results")
