"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd in a temporary directory.

Debian's slurm-wlm and munge packages (REFERENCE.md): the daemons run in the foreground as children of
this process, on free ports, with every state, spool, log, pid file and the munge key and socket in
the directory given. Nothing under /etc or /run is touched. `stop()` ends them by PID, each wait
bounded, SIGKILL after the timeout. `python -m tests.slurm_cluster DIR` starts one by hand
(SLURM_CONF=DIR/slurm.conf for sbatch, squeue and scontrol) until Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel")
SBIN = (Path("/usr/sbin"), Path("/usr/bin"))
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

SLURM_CONF = """\
ClusterName=pixihtc
SlurmctldHost={host}
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket},cred_expire=5
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=5
MailProg=/bin/true
NodeName={host} CPUs={cpus} RealMemory=2048 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def missing() -> str | None:
    """Why no cluster can start here, or None."""
    if sys.platform != "linux":
        return "Slurm runs on Linux only"
    if os.geteuid() != 0:
        return "starting slurmctld and slurmd needs root"
    absent = [name for name in (*DAEMONS, *CLIENTS) if _which(name) is None]
    if absent:
        return f"not installed: {', '.join(absent)} (apt-get install slurm-wlm munge; `make test` does it where it can)"
    return None


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((str(d / name) for d in SBIN if (d / name).is_file()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    root: Path
    cpus: int = 2
    host: str = field(default_factory=socket.gethostname)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment for sbatch, squeue, scontrol: this cluster's config, nobody else's."""
        return {**os.environ, "SLURM_CONF": str(self.root / "slurm.conf")}

    def client(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_which(args[0]) or args[0], *args[1:]],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def start(self) -> None:
        for sub in ("state", "spool", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        munge = self.root / "munge"
        os.chmod(munge, 0o700)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        socket_path = munge / "munge.socket"
        (self.root / "slurm.conf").write_text(
            SLURM_CONF.format(
                host=self.host,
                ctld_port=_free_port(),
                slurmd_port=_free_port(),
                munge_socket=socket_path,
                root=self.root,
                cpus=self.cpus,
            )
        )
        try:
            self._spawn(
                "munged",
                "--foreground",
                "--force",
                f"--socket={socket_path}",
                f"--key-file={key}",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={munge}/munged.log",
                f"--seed-file={munge}/munged.seed",
            )
            self._wait_for(lambda: socket_path.exists(), "munged to open its socket")
            conf = str(self.root / "slurm.conf")
            self._spawn("slurmctld", "-D", "-i", "-f", conf)
            self._wait_for(
                lambda: self.client("scontrol", "ping", check=False).stdout.count("UP") > 0, "slurmctld to answer"
            )
            self._spawn("slurmd", "-D", "-f", conf)
            self._wait_for(self._node_idle, "the node to become idle")
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.root / f"{name}.stdout").open("wb")
        self.processes[name] = subprocess.Popen(
            [_which(name) or name, *args], stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        log.close()

    def _node_idle(self) -> bool:
        state = self.client("sinfo", "-h", "-N", "-o", "%T", check=False).stdout.strip().lower()
        return state.startswith("idle") or state.startswith("mix")

    def _wait_for(self, ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited ({process.returncode}) while waiting for {what}: {self.logs(name)}"
                    )
            if ready():
                return
            time.sleep(0.2)
        raise TimeoutError(f"waited {timeout:.0f} s for {what}: {self.logs()}")

    def logs(self, *names: str) -> str:
        """The tail of the daemons' logs, for a failure message."""
        text = []
        for name in names or DAEMONS:
            for path in (self.root / f"{name}.log", self.root / f"{name}.stdout", self.root / "munge" / f"{name}.log"):
                if path.is_file():
                    text.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(text)

    def wait_jobs(self, job_ids: list[str], timeout: float) -> None:
        """Until no job of `job_ids` (array tasks included) is pending, running or requeued."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queue = self.client("squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T", check=False).stdout.strip()
            if not queue:
                return
            time.sleep(0.5)
        raise TimeoutError(f"jobs {job_ids} still queued after {timeout:.0f} s:\n{queue}\n{self.logs()}")

    def stop(self) -> None:
        """Cancel what is left, then end each daemon by its PID: SIGTERM, a bounded wait, SIGKILL."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            try:
                self.client("scancel", "--full", "-u", "root", check=False, timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for name in reversed(DAEMONS):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)


def main(argv: list[str]) -> int:
    reason = missing()
    if reason:
        print(f"cannot start a cluster: {reason}", file=sys.stderr)
        return 1
    cluster = Cluster(Path(argv[0]).resolve())
    cluster.start()
    print(f"export SLURM_CONF={cluster.root / 'slurm.conf'}; Ctrl-C stops the cluster")
    try:
        while all(p.poll() is None for p in cluster.processes.values()):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
