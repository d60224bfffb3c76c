"""The sandbox: stand-in programs that record each call, and the runs of generated scripts among them
(the Harness also remembers which consumers already passed on which content)."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

RECORD = 'printf \'%s\\0\' "$#" {name} "$@" >> "$CALLS"\n'
# For files the job sources (the entrypoint, activate.sh), where "$@" is the job's own arguments.
ACTIVATE = "printf '%s\\0' 0 activate >> \"$CALLS\"\n"
NOT_FOUND = '() { printf \'%s\\0\' "$#" NOTFOUND "$@" >> "$CALLS"; return 127; }'
# Stand-ins that also do the real thing, because the script needs their output or effect.
REAL = {"sed": "sed", "dirname": "dirname", "mkdir": "mkdir", "touch": "touch"}
PRINTS = {
    "hostname": "echo sandbox-host",
    "sha256sum": 'echo "0123456789abcdef  $1"',
    "shasum": 'echo "0123456789abcdef  $3"',
    "pwd": "builtin pwd",
}
LOG_ONLY = ("nvidia-smi", "python", "python3", "tar", "chmod", "pixi", "pixi-pack", "condor_submit", "cp")

Record = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class JobRun:
    """One run of a job script: its text, its arguments, what HTCondor would have transferred."""

    script: str
    argv: tuple[str, ...]
    inputs: tuple[str, ...]
    archive: str | None
    program: str


class Harness:
    """The stand-ins, and the results of consumers already run (by content)."""

    def __init__(self, root: Path, bin_dir: Path) -> None:
        self.root, self.bin = root, bin_dir
        self.passed: set[tuple[str, str]] = set()
        self.runs: dict[JobRun, tuple[int, list[Record], bool, str]] = {}

    def __repr__(self) -> str:
        return f"Harness({self.root})"

    def env(self, calls: Path, home: Path, extra_bin: Path | None = None) -> dict[str, str]:
        path = f"{extra_bin}:{self.bin}" if extra_bin else str(self.bin)
        return {
            "PATH": path,
            "CALLS": str(calls),
            "HOME": str(home),
            "LC_ALL": "C",
            "BASH_FUNC_command_not_found_handle%%": NOT_FOUND,
        }

    def once(self, kind: str, *parts: str) -> bool:
        """Whether this check already passed on this content; marks it as passing from now on when
        the caller's block below does not raise (call passed())."""
        return (kind, _digest(*parts)) in self.passed

    def passed_now(self, kind: str, *parts: str) -> None:
        self.passed.add((kind, _digest(*parts)))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _write_exe(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_harness(root: Path) -> Harness:
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for name in (*REAL, *PRINTS, *LOG_ONLY):
        body = "#!/bin/bash\n" + RECORD.format(name=name)
        if name in REAL:
            real = shutil.which(REAL[name], path="/usr/bin:/bin")
            assert real, f"{name} is not installed"
            body += f'exec {real} "$@"\n'
        elif name in PRINTS:
            body += PRINTS[name] + "\n"
        _write_exe(bin_dir / name, body)
    return Harness(root, bin_dir)


def records(calls: Path) -> list[Record]:
    """What the stand-ins recorded, in order: (name, arguments)."""
    if not calls.exists():
        return []
    fields = calls.read_bytes().decode("utf-8", "surrogateescape").split("\0")
    out, i = [], 0
    while i + 1 < len(fields):
        count = int(fields[i])
        out.append((fields[i + 1], tuple(fields[i + 2 : i + 2 + count])))
        i += 2 + count
    return out


def _pwned(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("PWNED")]


def _stand_in_program(program: str, work: Path, sandbox: Path) -> bool:
    """A stand-in for the payload's program where one can stand (a file name, or a relative path
    inside the sandbox); False otherwise."""
    try:
        if "/" not in program:
            if program in ("", ".", "..") or len(program.encode("utf-8", "surrogateescape")) > 255:
                return False
            target = work / "payload-bin" / program
        else:
            parts = program.split("/")
            if program.startswith("/") or ".." in parts or any(len(p.encode()) > 255 for p in parts):
                return False
            target = sandbox / program
            if target.exists() or (target.parent.exists() and not target.parent.is_dir()):
                return False
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_exe(target, "#!/bin/bash\n" + RECORD.format(name=shlex.quote(program)))
    except (OSError, UnicodeError):
        return False
    return True


def execute(harness: Harness, run: JobRun) -> tuple[int, list[Record], bool, str]:
    """Run a job script in a fresh sandbox at a fixed path: (exit code, calls, whether the payload's
    program had a stand-in, stderr). The payload's program records itself under its own name."""
    if run in harness.runs:
        return harness.runs[run]
    work = harness.root / "run"
    shutil.rmtree(work, ignore_errors=True)
    sandbox = work / "sandbox"
    (sandbox / "src").mkdir(parents=True)
    for name in ("torch_MNIST.py", "torch_detect_GPU.py"):
        (sandbox / "src" / name).write_text("# stand-in\n")
    for name in run.inputs:
        try:
            if name not in ("", ".", "..") and "/" not in name and not (sandbox / name).exists():
                (sandbox / name).write_bytes(b"")
        except OSError:  # a name too long for this file system: HTCondor could not transfer it either
            pass
    entrypoint = work / "entrypoint.sh"
    _write_exe(entrypoint, "#!/bin/bash\n" + ACTIVATE + 'exec "$@"\n')
    if run.archive:
        try:
            _write_exe(
                sandbox / run.archive,
                "#!/bin/bash\n"
                + RECORD.format(name="ARCHIVE")
                + "printf '%s\\n' '"
                + ACTIVATE.replace("'", "'\\''").rstrip("\n")
                + "' > activate.sh\n",
            )
        except OSError:
            pass
    stood_in = _stand_in_program(run.program, work, sandbox)
    script = sandbox / "job.sh"
    _write_exe(script, run.script.replace("/app/entrypoint.sh", str(entrypoint)))
    calls = work / "calls"
    try:
        result = subprocess.run(
            [str(script), *run.argv],
            cwd=sandbox,
            capture_output=True,
            timeout=60,
            env=harness.env(calls, work, work / "payload-bin"),
        )
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"the job script hung: {run}") from error
    pwned = _pwned(work)
    outcome = (result.returncode, records(calls), stood_in, result.stderr.decode("utf-8", "replace")[-3000:])
    assert not pwned, f"an injected command ran: {pwned}\n{outcome[1]}\n{outcome[3]}"
    harness.runs[run] = outcome
    return outcome
