"""The machinery of tests/test_fuzz_files.py: one run of the CLI on hostile files, bounded, in a
sandbox, and the checks every run gets whatever it was fed.

A run forks this (already imported) process: the child changes into the case's project directory,
gets an environment of its own (PATH holds only recording stand-ins, HOME and a secret variable
are canaries), limits on address space and file size, stdout/stderr on files, and calls
pixi_htc.cli.main as `python -m pixi_htc` would; the parent kills its process group when the
timeout passes (a hang). Forking keeps the imports of the parent (a run costs what the command
costs, not an interpreter start) and lets a hang in C code (a parser, a blocking open) be bounded.

The canaries: every stand-in appends its command line to CALLS and prints `PWNED_STANDIN = 1`;
canary commands in the hostile files `touch` PWNED-* files outside the project (through PATH and
by absolute path); the files outside the project (a secret, link targets, HOME) are snapshotted
before each run and compared after; the secret file's content, the secret variable's value and
HOME's path are markers that must not reach an output.
"""

from __future__ import annotations

import io
import os
import re
import resource
import shutil
import signal
import stat
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from tests.fuzzing.specs import RAW_CONTROL

TIMEOUT = float(os.environ.get("PIXI_HTC_FUZZ_TIMEOUT", "8"))
SECRET_CONTENT = "leak7d1e"  # in the secret files outside the project
SECRET_ENV = "envleak93c1"  # the value of PIXI_HTC_FUZZ_SECRET
HOME_MARK = "homeleak5b2"  # in HOME's path
MARKERS = (SECRET_CONTENT, SECRET_ENV, HOME_MARK, "PWNED_STANDIN")
STAND_INS = (
    "touch",
    "sh",
    "bash",
    "echo",
    "cat",
    "curl",
    "wget",
    "id",
    "seq",
    "ls",
    "python",
    "python3",
    "condor_submit",
    "env",
    "printf",
    "date",
    "hostname",
    "uname",
    "whoami",
    "rm",
    "cp",
    "tar",
    "git",
)
# Bidirectional controls and invisible format characters: text shown in another order, or hidden.
HIDDEN = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
LONG_LINE = 4000  # an output line longer than this echoes a foreign value uncut
LOCATION = re.compile(r"\.(?:sub|toml|log|err|jsonl|txt|yaml)(?:\\[^\s:]*)?:\d+|\bline \d+")
NAMES_FILE = re.compile(r"\.(?:sub|toml|log|err|jsonl|yaml|csv|png|txt)\b|build/\S+|specs/")
USAGE = re.compile(r"pixi-htc: no metric '")  # the command line's own mistake, not the file's


@dataclass
class Outcome:
    rc: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float
    signal: int | None = None
    traceback: str = ""  # from a rerun with --debug, for a crash

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Sandbox:
    """The fuzz root: stand-ins, HOME, the built template project, and one directory per case."""

    root: Path
    bin: Path
    calls: Path
    home: Path
    template: Path | None = None
    counter: int = 0
    as_limit: int = 0

    def env(self, project: Path) -> dict[str, str]:
        tmp = project / ".tmp"
        tmp.mkdir(exist_ok=True)
        env = {
            "PATH": str(self.bin),
            "HOME": str(self.home),
            "PIXI_HTC_FUZZ_SECRET": SECRET_ENV,
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            "TMPDIR": str(tmp),
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": str(self.root / "mpl"),
            "MPLBACKEND": "Agg",
            "SHELL_CMD": f"touch {self.root}/PWNED-env",
        }
        for name in ("CONDOR_CONFIG", "PYTHONPATH"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def new_case(self, built: bool = True) -> tuple[Path, Path]:
        self.counter += 1
        case = self.root / "cases" / str(self.counter)
        project, outside = case / "project", case / "outside"
        outside.mkdir(parents=True)
        if built and self.template is not None:
            shutil.copytree(self.template, project, symlinks=True)
        else:
            project.mkdir()
        write_outside(outside)
        return project, outside


def write_outside(outside: Path) -> None:
    """What lies next to the project: a secret (a submit file, a text, a valid event log and metrics
    file), a FIFO, targets links point at."""
    (outside / "secret.sub").write_text(
        f'executable = {SECRET_CONTENT}\narguments = {SECRET_CONTENT}\n+Secret = "{SECRET_CONTENT}"\n'
    )
    (outside / "secret.txt").write_text(f"{SECRET_CONTENT}\n{SECRET_CONTENT} 2\n")
    (outside / "secret.log").write_text(
        f"000 (4300.000.000) 2026-05-28 09:00:00 Job submitted from host: <{SECRET_CONTENT}>\n...\n"
        f"012 (4300.000.000) 2026-05-28 09:01:00 Job was held.\n\t{SECRET_CONTENT} memory usage exceeded "
        "request_memory\n\tCode 34 Subcode 102\n...\n"
    )
    (outside / "secret.jsonl").write_text(f'{{"epoch": 1, "accuracy": 0.5, "{SECRET_CONTENT}": 1}}\n')
    (outside / "target.csv").write_text("precious\n")
    (outside / "target.png").write_bytes(b"precious")
    (outside / "specs").mkdir()
    (outside / "plots").mkdir()
    os.mkfifo(outside / "fifo")


def make_sandbox(root: Path) -> Sandbox:
    bin_dir, calls, home = root / "bin", root / "calls.log", root / f"home-{HOME_MARK}"
    for d in (bin_dir, home, root / "mpl", root / "cases"):
        d.mkdir(parents=True)
    calls.write_text("")
    for name in STAND_INS:
        exe = bin_dir / name
        exe.write_text(f"#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >> '{calls}'\necho 'PWNED_STANDIN = 1'\n")
        exe.chmod(0o755)
    vm = next(
        (
            int(line.split()[1]) * 1024
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmSize:")
        ),
        2 << 30,
    )
    return Sandbox(root=root, bin=bin_dir, calls=calls, home=home, as_limit=vm + (3 << 30))


# --- one bounded run ----------------------------------------------------------------------------


def _child(argv: list[str], cwd: Path, env: dict[str, str], out: Path, err: Path, as_limit: int) -> None:
    rc = 71
    try:
        os.setsid()
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        for target, path in ((1, out), (2, err)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, target)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="strict")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace")
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
        sys.argv = ["pixi-htc", *argv]
        from pixi_htc import cli

        rc = cli.main(argv)
    except SystemExit as exit_:
        rc = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
        rc = 71
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            rc = 72
        os._exit(rc if isinstance(rc, int) and 0 <= rc < 256 else 73)


def run_cli(sandbox: Sandbox, argv: list[str], project: Path, timeout: float = TIMEOUT) -> Outcome:
    out, err = project.parent / "stdout", project.parent / "stderr"
    env = sandbox.env(project)
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        _child(argv, project, env, out, err, sandbox.as_limit)
    rc: int | None = None
    sig: int | None = None
    pause = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                rc = -sig
            else:
                rc = os.WEXITSTATUS(status)
            break
        if time.monotonic() - start > timeout:
            with _quiet():
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    seconds = time.monotonic() - start
    with _quiet():
        os.killpg(pid, signal.SIGKILL)  # anything the command left running
    return Outcome(rc=rc, stdout=_read(out), stderr=_read(err), seconds=seconds, signal=sig)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()[: 8 << 20]
    except OSError:
        return ""
    return data.decode("utf-8", errors="surrogateescape")


# --- what every run is checked for ---------------------------------------------------------------


def snapshot(sandbox: Sandbox, project: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under the fuzz root outside the case's project (and matplotlib's cache)."""
    skip = {project, sandbox.root / "mpl", project.parent / "stdout", project.parent / "stderr"}
    seen: dict[str, tuple[int, int, int]] = {}
    stack = [sandbox.root]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if path in skip:
                continue
            info = entry.stat(follow_symlinks=False)
            directory = stat.S_ISDIR(info.st_mode)
            seen[str(path.relative_to(sandbox.root))] = (
                info.st_mode,
                0 if directory else info.st_size,
                0 if directory else info.st_mtime_ns,
            )
            if directory:
                stack.append(path)
    return seen


def pwned(root: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        found += [os.path.join(dirpath, n) for n in (*dirnames, *filenames) if n.startswith("PWNED")]
    return found


def common_failures(
    sandbox: Sandbox, project: Path, before: dict[str, tuple[int, int, int]], outcome: Outcome, written: str = ""
) -> list[str]:
    """The rules every run is held to, whatever its exit code: no command ran, nothing outside the
    project changed, no marker in an output, no raw control character and no uncut value on the
    terminal."""
    failures = []
    calls = sandbox.calls.read_text(errors="replace")
    if calls:
        failures.append(f"a command ran: {calls.splitlines()[0][:80]!r}")
        sandbox.calls.write_text("")
    for path in pwned(sandbox.root):
        failures.append(f"a command ran: it made {Path(path).name}")
        with _quiet():
            os.remove(path)
    after = snapshot(sandbox, project)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and "PWNED" not in k)
    if changed:
        failures.append(f"wrote outside the project: {changed[0].split('/', 2)[-1][:80]!r}")
    for marker, what in (
        (SECRET_CONTENT, "the content of a file outside the project"),
        (SECRET_ENV, "an environment variable's value"),
        (HOME_MARK, "HOME's path"),
        ("PWNED_STANDIN", "a command's output"),
    ):
        if marker in outcome.output:
            failures.append(f"{what} reached the terminal")
        if marker in written:
            failures.append(f"{what} reached a written file")
    raw = RAW_CONTROL.search(outcome.output) or HIDDEN.search(outcome.output)
    if raw:
        failures.append(f"raw control character {raw.group()!r} on the terminal")
    long = max((len(line) for line in outcome.output.split("\n")), default=0)
    if long > LONG_LINE:
        failures.append(f"an output line of {_magnitude(long)} characters (a foreign value not cut)")
    return failures


def _magnitude(n: int) -> str:
    return f">{10 ** (len(str(n)) - 1)}"


def crash_kind(outcome: Outcome) -> str | None:
    if outcome.rc is None:
        return "hang (killed at the timeout)"
    if outcome.signal is not None:
        return f"crash: killed by signal {signal.Signals(outcome.signal).name}"
    if outcome.rc == 70:
        return "crash: exit 70"
    if re.search(
        r'Traceback \(most recent call last\):\n\s+File "[^"]*/(compiler|tests|lib/python[^/]*)/', outcome.output
    ):
        return f"crash: a traceback (exit {outcome.rc})"
    if outcome.rc not in (0, 1, 2):
        return f"crash: exit {outcome.rc}"
    return None


def traceback_summary(text: str) -> str:
    """The exception and the innermost frame in compiler/ of a --debug traceback."""
    frames = re.findall(r'File "([^"]*compiler/[^"]*)", line (\d+), in (\S+)', text)
    last = next((line for line in reversed(text.strip().splitlines()) if line and not line.startswith(" ")), "")
    where = f" at {frames[-1][0].split('compiler/', 1)[1]}:{frames[-1][1]} ({frames[-1][2]})" if frames else ""
    return f"{last[:140]}{where}"


def new_files(project: Path, before: set[str]) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(project):
        for name in (*filenames, *dirnames):
            rel = os.path.relpath(os.path.join(dirpath, name), project)
            if rel not in before and not rel.startswith(".tmp"):
                out.append(rel)
    return out


def tree(project: Path) -> set[str]:
    return set(new_files(project, set()))


class Failure(TypedDict):
    """One kind of failure: how often it happened, and its smallest case."""

    count: int
    case: str
    size: int
    detail: str


@dataclass
class Tally:
    """Counts per command, and each kind of failure with its smallest reproducer."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: dict[str, dict[str, Failure]] = field(default_factory=dict)
    slowest: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, command: str, seconds: float, case: str) -> None:
        self.seconds[command] = self.seconds.get(command, 0.0) + seconds
        slow = self.slowest.setdefault(command, [])
        slow.append((round(seconds, 2), case[:300]))
        slow.sort(reverse=True)
        del slow[5:]

    def add(self, command: str, name: str) -> None:
        self.counts.setdefault(command, {}).setdefault(name, 0)
        self.counts[command][name] += 1

    def fail(self, command: str, kind: str, case: str, size: int, detail: str = "") -> None:
        known = self.failures.setdefault(command, {})
        entry = known.get(kind)
        if entry is None:
            known[kind] = {"count": 1, "case": case, "size": size, "detail": detail}
        else:
            entry["count"] += 1
            if size < entry["size"]:
                entry["case"], entry["size"], entry["detail"] = case, size, detail
