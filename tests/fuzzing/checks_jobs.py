"""The checks on the submit files and the scripts: each .sub read by htcondor2, each job script run in
the sandbox as HTCondor would start it, and the wrappers (submit.sh, interact.sh, lock.sh, pack.sh)."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
from collections import Counter
from typing import Any

import htcondor2

from tests.conftest import shellcheck
from tests.fuzzing.builds import Build, Clean, _twin_file
from tests.fuzzing.consumers import (
    COMMAND_ATTRIBUTES,
    MACRO,
    PLACEHOLDER,
    PREDEFINED_MACROS,
    _argument,
    classad,
    condor_argv,
)
from tests.fuzzing.sandbox import Harness, JobRun, Record, _pwned, _write_exe, execute, records
from tests.fuzzing.specs import SCHEMA, harmless


def _statements(text: str) -> tuple[list[str], list[str], list[str]]:
    """A submit file as HTCondor reads it: (the commands, queue statements, rows of the queue table),
    asserting that nothing follows the queue statement and no line continues onto the next."""
    commands: list[str] = []
    queues: list[str] = []
    rows: list[str] = []
    in_table = False
    for raw in text.split("\n"):
        line = raw.strip()
        if in_table:
            if line == ")":
                in_table = False
            else:
                rows.append(line)
            continue
        if not line or line.startswith("#"):
            continue
        assert not line.endswith("\\"), f"line continuation in a submit file: {raw!r}"
        if re.match(r"(?i)queue\b", line):
            queues.append(line)
            in_table = line.endswith("(")
            continue
        assert not queues, f"a statement after the queue statement: {raw!r}"
        match = re.match(r"([+A-Za-z_][A-Za-z0-9_.]*)\s*=", line)
        assert match, f"not a submit command: {raw!r}"
        name = match.group(1).lower()
        commands.append("my." + name[1:] if name.startswith("+") else name)
    assert not in_table, "queue table not closed"
    return commands, queues, rows


def _queue_variables(sub: Any) -> list[str]:
    qargs = re.sub(r"^\s*[0-9]+\s+", "", sub.getQArgs())  # queue N v from (...): N processes a row (count)
    return [v.strip() for v in re.split(r"(?i)\s+from\s", qargs)[0].split(",")] if "(" in qargs else []


def submit_view(sub: Any) -> Any:
    """The submit description decoded: arguments and environment split as HTCondor splits them,
    +attributes and expressions as ClassAds, everything else as written; the queue variables' count
    and the table."""
    view = {}
    for key, value in sub.items():
        k = key.lower()
        if k in ("arguments", "environment"):
            view[k] = condor_argv(value)
        elif k in ("requirements", "on_exit_hold", "periodic_release", "max_retries"):
            classad(value)  # must parse; compared as written, since a spec's expression is code
            view[k] = value
        elif k.startswith("my."):
            view[k] = classad(value)
        else:
            view[k] = value
    rows = [sorted(dict(r).values()) for r in sub.itemdata()] if _queue_variables(sub) else []
    return [view, len(_queue_variables(sub)), rows]


def check_submit(b: Build, job: str, text: str, twin: Build | None, clean: Clean) -> None:
    body = b.doc["jobs"][job]
    sub = htcondor2.Submit(text)
    keys = {k.lower() for k in sub.keys()}
    commands, queues, table = _statements(text)
    assert len(queues) == 1, f"{job}.sub: {len(queues)} queue statements: {queues}"
    assert len(commands) == len(set(commands)), f"{job}.sub sets {Counter(commands).most_common(1)[0][0]} twice"
    assert not {"my." + a for a in COMMAND_ATTRIBUTES} & keys, (
        f"{job}.sub: an attribute replaces a submit command's: {sorted({'my.' + a for a in COMMAND_ATTRIBUTES} & keys)}"
    )
    own = {"my." + str(name).lower() for name in (body.get("attributes") or {})}
    assert keys <= clean.submit_keys | own, (
        f"{job}.sub: commands no clean build writes: {sorted(keys - clean.submit_keys - own)}"
    )
    # requirements only where a clause needs it (the CUDA floor is gpus_minimum_runtime, not a clause)
    assert {"universe", "executable", "arguments", "log", "output", "error"} <= keys, f"{job}.sub: {sorted(keys)}"
    assert sub["executable"] == f"htcondor/{job}.sh"
    variables = _queue_variables(sub)
    sweep = body.get("sweep") or {}
    assert len(variables) == len(sweep), f"{job}.sub: queue {sub.getQArgs()!r} for sweep {list(sweep)}"
    assert not {v.lower() for v in variables} & (keys | PREDEFINED_MACROS | clean.submit_keys), (
        f"{job}.sub: queue variables {variables} name submit commands or predefined macros"
    )
    allowed = {"cluster", "process"} | {v.lower() for v in variables}
    for key, value in sub.items():
        rest = MACRO.sub(lambda m: "" if m.group(1).lower() in allowed else m.group(0), value)
        assert "$" not in rest, f"{job}.sub: {key} = {value!r} holds a macro the compiler did not write"
    rows = [dict(r) for r in sub.itemdata()] if variables else []
    assert len(rows) == len(table) == (math.prod(len(v) for v in sweep.values()) if sweep else 0)
    for row in rows:
        assert all("$" not in v for v in row.values()), f"{job}.sub: a macro in the queue table: {row}"
    if sweep:
        sweep_meanings(sweep, variables, rows)
    view = submit_view(sub)
    assert len(view[0]["arguments"]) == 2 + len(sweep), f"{job}.sub: arguments {view[0]['arguments']}"
    if twin is not None:
        other = submit_view(htcondor2.Submit(twin.normal(_twin_file(b, twin, f"build/htcondor/{job}.sub"))))
        assert harmless(view) == harmless(other), (
            f"{job}.sub decodes to other content than the twin's:\n{view}\n{other}"
        )


def sweep_meanings(
    sweep: dict[str, list[Any]], variables: list[str], rows: list[dict[str, str]]
) -> list[dict[str, str]] | None:
    """Per queue-table row, the sweep variables' values it stands for, after asserting that the table
    is the sweep's product under some reading of its columns (None where two readings disagree)."""
    names = list(sweep)
    values = {n: [_argument(v) for v in sweep[n]] for n in names}
    readings = []
    table = Counter(tuple(row[m] for m in variables) for row in rows)
    for order in itertools.islice(itertools.permutations(names), 720):
        mapping = dict(zip(variables, order))
        if table == Counter(itertools.product(*(values[mapping[m]] for m in variables))):
            readings.append(mapping)
            if len(readings) > 1:
                break
    assert readings, f"the queue table is not the product of the sweep: {rows} for {sweep}"
    if len(readings) > 1:
        return None
    return [{readings[0][m]: row[m] for m in variables} for row in rows]


def job_runs(b: Build, job: str) -> list[JobRun]:
    """The job's runs as HTCondor would start them: for the first and last row of its queue table."""
    body = b.doc["jobs"][job]
    sub = htcondor2.Submit(b.files[f"build/htcondor/{job}.sub"])
    variables = _queue_variables(sub)
    rows = [dict(r) for r in sub.itemdata()] if variables else [{}]
    runtime = body.get("runtime")
    # The archive lands in the sandbox under the name the .sub fetches it by (the staged, content-named
    # copy, environment.sh, or the spec's own).
    archive = sub["transfer_input_files"].split(",")[0].strip().rsplit("/", 1)[-1] if runtime == "pixi-pack" else None
    runs = []
    for index in sorted({0, len(rows) - 1}):
        macros = {"cluster": "101", "process": "7", **{k.lower(): v for k, v in rows[index].items()}}
        argv = condor_argv(MACRO.sub(lambda m: macros[m.group(1).lower()], sub["arguments"]))
        inputs = tuple(str(i).rsplit("/", 1)[-1] for i in body.get("inputs") or [])
        runs.append(
            JobRun(
                script=b.normal(f"build/htcondor/{job}.sh"),
                argv=tuple(argv),
                inputs=inputs,
                archive=archive,
                program=_argument((body.get("command") or [""])[0]),
            )
        )
    return runs


def expected_payloads(b: Build, job: str) -> list[tuple[str, ...] | None]:
    """Per run of job_runs, the payload's argv the README promises: each command item as one
    argument, {cluster}, {process} and {<sweep variable>} replaced (None where unknowable)."""
    body = b.doc["jobs"][job]
    sub = htcondor2.Submit(b.files[f"build/htcondor/{job}.sub"])
    variables = _queue_variables(sub)
    rows = [dict(r) for r in sub.itemdata()] if variables else [{}]
    meanings = sweep_meanings(body.get("sweep") or {}, variables, rows) if variables else [{}]
    out: list[tuple[str, ...] | None] = []
    for index in sorted({0, len(rows) - 1}):
        if meanings is None:
            out.append(None)
            continue
        meaning = {"cluster": "101", "process": "7", **meanings[index]}
        out.append(
            tuple(
                PLACEHOLDER.sub(lambda m: meaning.get(m.group(1), m.group(0)), _argument(item))
                for item in body["command"]
            )
        )
    return out


def check_scripts(b: Build, twin: Build | None, harness: Harness, clean: Clean) -> None:
    for path in b.files:
        if not path.endswith(".sh"):
            continue
        result = subprocess.run(["bash", "-n", str(b.root / path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path}: bash -n: {result.stderr}"
        if not harness.once("shellcheck", b.normal(path)):
            lint = shellcheck(b.root / path)
            codes = sorted(set(re.findall(r"SC\d+ \(\w+\)", lint.stdout)))
            assert lint.returncode == 0, f"{path}: shellcheck {', '.join(codes)}:\n{lint.stdout}"
            harness.passed_now("shellcheck", b.normal(path))
    for job in b.jobs():
        runs, payloads = job_runs(b, job), expected_payloads(b, job)
        twin_runs = (
            job_runs(twin, _twin_file(b, twin, f"build/htcondor/{job}.sub")[len("build/htcondor/") : -4])
            if twin is not None
            else [None] * len(runs)
        )
        for run, payload, other in zip(runs, payloads, twin_runs):
            code, log, stood_in, stderr = execute(harness, run)
            where = f"{job}.sh {' '.join(run.argv)}: exit {code}, calls {log}\n{stderr}"
            assert not [r for r in log if r[0] == "NOTFOUND"], f"a command no stand-in knows ran: {where}"
            assert {name for name, _ in log} <= clean.commands | {run.program}, (
                f"commands clean builds never run: {where}"
            )
            if payload is not None and stood_in:
                assert log and log[-1] == (payload[0], payload[1:]), f"the payload did not get {list(payload)}: {where}"
                assert log.count(log[-1]) == 1 and code == 0, where
            if other is not None:
                other_code, other_log, _, _other_err = execute(harness, other)
                assert (code, harmless(log)) == (other_code, harmless(other_log)), (
                    f"{job}.sh ran other commands than the twin's:\n{where}\ntwin: exit {other_code}, {other_log}"
                )
    run_wrappers(b, harness)


def run_wrappers(b: Build, harness: Harness) -> None:
    """submit.sh and interact.sh for each job and for names that are no job; lock.sh; pack.sh."""
    jobs = b.jobs()
    pack = b.doc.get("pack") or {}
    defaults = SCHEMA["properties"]["pack"]["properties"]
    env_name = pack.get("environment", defaults["environment"]["default"])
    platform = pack.get("platform", defaults["platform"]["default"])
    scripts = sorted(
        p
        for p in b.files
        if p in ("build/lock.sh", "build/pack.sh", "build/htcondor/submit.sh", "build/htcondor/interact.sh")
    )
    key = (*(b.normal(p) for p in scripts), json.dumps(jobs), str(env_name), str(platform))
    if harness.once("wrappers", *key):
        return
    work = harness.root / "wrappers"
    shutil.rmtree(work, ignore_errors=True)
    for path in scripts:
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        _write_exe(work / path, b.files[path])
    (work / "build" / "pixi.lock").write_text("")
    calls = work / "calls"

    def run(path: str, *args: str) -> tuple[int, list[Record], str]:
        calls.unlink(missing_ok=True)
        result = subprocess.run(
            [str(work / path), *args], cwd=work, env=harness.env(calls, work), capture_output=True, timeout=60
        )
        return result.returncode, records(calls), result.stderr.decode("utf-8", "replace")[-2000:]

    for wrapper, flags in (("submit.sh", ()), ("interact.sh", ("-interactive",))):
        path = f"build/htcondor/{wrapper}"
        if path not in b.files:
            continue
        for job in jobs:
            code, log, err = run(path, job)
            assert code == 0 and [r for r in log if r[0] not in ("dirname", "mkdir")] == [
                ("condor_submit", (*flags, f"htcondor/{job}.sub"))
            ], f"{wrapper} {job}: exit {code}, {log}\n{err}"
        for bogus in ("no-such-job-zz", "*", "", f"{jobs[0]}|x" if jobs else "x"):
            code, log, err = run(path, bogus)
            assert code == 2 and not [r for r in log if r[0] == "condor_submit"], (
                f"{wrapper} {bogus!r}: exit {code}, {log}"
            )
    code, log, err = run("build/lock.sh", "--check")
    assert code == 0 and [r for r in log if r[0] != "dirname"] == [("pixi", ("lock", "--check"))], (
        f"lock.sh: {log}\n{err}"
    )
    code, log, err = run("build/pack.sh")
    if "_CONDOR_JOB_AD" in b.files["build/pack.sh"]:  # CHTC: outside a job it packs and says how to stage
        assert code == 0 and not [r for r in log if r[0] == "cp"], f"pack.sh: exit {code}, {log}\n{err}"
    elif "\nstaging=" in b.files["build/pack.sh"]:  # packs, then finds no staging directory here: a failure, said so
        assert code == 1 and "is not here" in err, f"pack.sh: exit {code}\n{err}"
    else:
        assert code == 0, f"pack.sh: exit {code}\n{err}"
    assert {r[0] for r in log} <= {"dirname", "pixi-pack", "sha256sum", "shasum", "cp", "pwd"}, f"pack.sh: {log}"
    packs = [r[1] for r in log if r[0] == "pixi-pack"]
    assert len(packs) == 2 and all(
        any(a[i : i + 2] == ("--environment", env_name) for i in range(len(a)))
        and any(a[i : i + 2] == ("--platform", platform) for i in range(len(a)))
        for a in packs
    ), f"pack.sh: {log}"
    assert not _pwned(work), f"an injected command ran: {_pwned(work)}"
    harness.passed_now("wrappers", *key)
