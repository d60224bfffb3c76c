"""The check before submit (#23): per job, before anything is queued, what would make it fail or wait.

- Inputs: each exists here, with its size, against the site's advice for files sent from the access
  point. CHTC (chtc.cs.wisc.edu/uw-research-computing/htc-job-file-transfer): up to 1 GB a file from
  /home; 1-30 GB from /staging as osdf:///chtc/staging/...; 30-100 GB as file:///staging/... (CHTC's
  own machines only); over 100 GB, ask its facilitators; many small files compressed into one. OSPool
  (osg-htc.org/osg-portal-documentation/htc_workloads/managing_data/overview): from /home when each
  file and their total stay under 1 GB; larger files, and containers, through the OSDF.
- The image: its tag exists and pulls without credentials (execute points pull anonymously; a GHCR
  package pushed with GITHUB_TOKEN stays private until its owner makes it public). Short timeouts;
  when the registry does not answer, it says so.
- Slots: when a collector answers, how many slots match (matching.py), and the clause that excludes
  them all. A job no slot matches is refused with that clause at its spec line.

The network is reached through two callables (`fetch`, `slots`), which tests replace.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...artifacts.base import Compiled
from ...core.errors import PixiHtcError
from ...core.escape import classad_value
from ...spec.loader import KeyPath, LoadedSpec
from ...spec.model import PLACEHOLDER, Job
from .diagnose import Finding, Locator
from .matching import collector_slots, match
from .render import image, plan

GB = 1024**3
MAX_ROWS = 10_000  # sweep rows whose inputs are looked at
MAX_ENTRIES = 100_000  # files counted in one directory input
MANY_FILES = 1000  # CHTC: many small files go better as one archive
TIMEOUT = 5.0  # seconds for each request to a registry
BODY_BYTES = 64 * 1024
SITE_ADVICE = {
    "chtc": (
        GB,
        None,
        "CHTC sends files up to 1 GB from the access point; 1-30 GB go through /staging as "
        "osdf:///chtc/staging/<you>/<file>, 30-100 GB as file:///staging/<you>/<file> (CHTC's own "
        "machines only), over 100 GB ask CHTC's facilitators",
    ),
    "ospool": (
        GB,
        GB,
        "the OSPool sends inputs from /home while each file and their total stay under 1 GB; "
        "larger ones go through the OSDF (osdf:///ospool/<access point>/data/<you>/<file>)",
    ),
}
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)

Fetch = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]  # url, headers -> status, headers, body
Slots = Callable[[], tuple[Sequence[Any] | None, str]]  # slot ads (classad2.ClassAd; it has no stubs), why not


class PreflightRefused(PixiHtcError):
    """A job would fail or never start: nothing was queued."""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)  # what was checked, per job
    warnings: list[Finding] = field(default_factory=list)
    missing: list[Finding] = field(default_factory=list)  # inputs that are not here
    refusals: list[Finding] = field(default_factory=list)  # jobs no slot matches


def http_fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read(BODY_BYTES)
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read(BODY_BYTES)


def registry_reference(reference: str) -> tuple[str, str, str] | None:
    """(registry host, repository, tag or digest) of a docker:// or oras:// image; None for others."""
    scheme, _, rest = reference.partition("://")
    if scheme not in ("docker", "oras") or not rest:
        return None
    host, _, path = rest.partition("/")
    if not path or ("." not in host and ":" not in host and host != "localhost"):
        host, path = "registry-1.docker.io", rest if "/" in rest else f"library/{rest}"
    elif host == "docker.io":
        host = "registry-1.docker.io"
    if "@" in path:
        repository, _, tag = path.partition("@")
    else:
        repository, _, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "latest")
    return host, repository, tag


def _bearer(challenge: str) -> dict[str, str]:
    """The fields of `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`."""
    fields = {}
    for part in challenge.removeprefix("Bearer ").split(","):
        name, _, value = part.strip().partition("=")
        fields[name.lower()] = value.strip('"')
    return fields


def check_image(reference: str, fetch: Fetch) -> tuple[str, bool | None]:
    """(what was found, whether the job can pull it: None when it could not be told)."""
    parsed = registry_reference(reference)
    if parsed is None:
        return f"{reference}: not in a registry (a file or OSDF path): not checked", None
    host, repository, tag = parsed
    url = f"https://{host}/v2/{repository}/manifests/{tag}"
    try:
        status, headers, _ = fetch(url, {"Accept": ACCEPT})
        if status == 401 and headers.get("www-authenticate", "").startswith("Bearer "):
            fields = _bearer(headers["www-authenticate"])
            query = urllib.parse.urlencode(
                {"service": fields.get("service", host), "scope": fields.get("scope", f"repository:{repository}:pull")}
            )
            realm = fields.get("realm", "")
            if not realm.startswith("https://"):
                return f"{reference}: {host} asks for a token at {realm[:100]!r}: not checked", None
            token_status, _, body = fetch(f"{realm}?{query}", {})
            token = json.loads(body or b"{}").get("token") if token_status == 200 else None
            if token:
                status, headers, _ = fetch(url, {"Accept": ACCEPT, "Authorization": f"Bearer {token}"})
            else:
                status = token_status
    except (OSError, ValueError) as error:  # no network, a timeout, a reply that is no JSON
        return f"{reference}: the registry {host} did not answer ({str(error)[:120]}): not checked", None
    if status == 200:
        return f"{reference}: exists and pulls without credentials", True
    if status == 404:
        return f"{reference}: {host} has no tag {tag} in {repository} (has CI pushed it?)", False
    if status in (401, 403):
        hint = (
            " (a GHCR package pushed with GITHUB_TOKEN is private: make it public in its package settings)"
            if host == "ghcr.io"
            else ""
        )
        return f"{reference}: {host} refuses to serve it without credentials, as an execute point pulls{hint}", False
    return f"{reference}: {host} answered {status}: not checked", None


def shown_size(size: int) -> str:
    for unit, scale in (("GB", GB), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _expansions(job: Job, path: str) -> list[str]:
    names = ("cluster", "process", *job.sweep_variables)
    if not PLACEHOLDER.search(path):
        return [path]
    seen: dict[str, None] = {}
    for process, row in enumerate(job.sweep_rows[:MAX_ROWS] or [()]):
        values = dict(zip(names, ("0", str(process), *row)))
        seen.setdefault(PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), path), None)
    return list(seen)


def measure(path: Path) -> tuple[int, int] | None:
    """(bytes, files) of a file or a directory (links not followed); None when it does not exist."""
    try:
        if not path.is_dir() or path.is_symlink():
            return path.stat().st_size, 1
    except OSError:
        return None
    size = files = 0
    for top, _, names in os.walk(path):
        for name in names:
            files += 1
            if files > MAX_ENTRIES:
                return size, files
            try:
                size += (Path(top) / name).lstat().st_size
            except OSError:
                pass
    return size, files


def check_inputs(compiled: Compiled, job: Job, where: Locator, report: Report) -> None:
    project, root = compiled.project, compiled.root
    advice = SITE_ADVICE.get(project.site)
    entries: list[tuple[KeyPath, str]] = [
        (("jobs", job.name, "inputs", index), path) for index, path in enumerate(job.inputs)
    ]
    entries += [(("source", index), path) for index, path in enumerate(project.source_paths(compiled.layout.build_dir))]
    shown, total = [], 0
    for key, template in entries:
        for path in _expansions(job, template):
            if "://" in path:
                shown.append(f"{path} (fetched by the execute point)")
                continue
            found = measure(root / path)
            if found is None:
                report.missing.append(where.at(key, f"{path} does not exist here; HTCondor could not transfer it"))
                continue
            size, files = found
            total += size
            shown.append(f"{path} {shown_size(size)}")
            if advice and size > advice[0]:
                report.warnings.append(where.at(key, f"{path} is {shown_size(size)}: {advice[2]}"))
            if files >= MANY_FILES:
                report.warnings.append(
                    where.at(
                        key,
                        f"{path} holds {files:,} files: send them as one .tar.gz "
                        "(unpacked before the command runs) instead",
                    )
                )
    if advice and advice[1] is not None and total > advice[1]:
        report.warnings.append(
            where.at(("jobs", job.name, "inputs"), f"the inputs total {shown_size(total)} a process: {advice[2]}")
        )
    report.lines.append(f"{job.name}: inputs: {', '.join(shown) or 'none'}")


def attributes(compiled: Compiled, job: Job) -> list[tuple[str, str]]:
    """The +Attributes the .sub sets (the site's and the spec's): slots' START policies read them."""
    site = [
        (name[1:], value)
        for name, value in plan(compiled.project, job, compiled.layout).site_lines
        if name.startswith("+")
    ]
    return site + [(name, classad_value(value)) for name, value in job.attributes]


def check_slots(
    compiled: Compiled, job: Job, where: Locator, report: Report, slots: Sequence[Any], source: str
) -> None:
    found = match(compiled.project, job, slots, attributes(compiled, job))
    report.lines.append(
        f"{job.name}: {len(found.matching)} of {found.slots} slots ({source}) match its "
        "requirements and GPU constraints"
    )
    if found.finding is not None:
        key, message = found.finding
        report.refusals.append(where.at(key or ("jobs", job.name), message))


def preflight(
    compiled: Compiled,
    spec: LoadedSpec,
    jobs: Sequence[Job],
    *,
    fetch: Fetch | None = http_fetch,
    slots: Slots | None = collector_slots,
) -> Report:
    """Every check for every job; `fetch` or `slots` None: that check is skipped (--offline)."""
    where, report = Locator(spec), Report()
    pool, source = slots() if slots is not None else (None, "not asked (--offline)")
    images: dict[str, tuple[str, bool | None]] = {}
    for job in jobs:
        check_inputs(compiled, job, where, report)
        reference = image(compiled.project, job)
        if reference is not None and fetch is not None:
            images.setdefault(reference, check_image(reference, fetch))
            text, pulls = images[reference]
            report.lines.append(f"{job.name}: image {text}")
            if pulls is False:
                key = ("jobs", job.name, "image") if job.image else ("container", "image")
                report.warnings.append(where.at(key, text))
        if pool is None:
            report.lines.append(f"{job.name}: slots not matched: {source}")
        else:
            check_slots(compiled, job, where, report, pool, source)
    return report


def idle_reason(compiled: Compiled, job: Job, slots: Slots = collector_slots) -> str | None:
    """For `status`: why an idle process of this job may never start (no slot matches, and the clause
    that excludes them), or None when slots match or no collector answers."""
    pool, _ = slots()
    if pool is None:
        return None
    found = match(compiled.project, job, pool, attributes(compiled, job))
    return None if found.finding is None else found.finding[1]


STATUS_TIMEOUT = 3.0  # seconds `status` waits for a collector, once for every job it explains


@dataclass(frozen=True)
class IdleWhy:
    """What `status` says under a job with idle processes."""

    line: str = ""  # how many slots match, as check_slots counts them
    finding: Finding | None = None  # at the clause's spec line, when no slot matches
    unexplained: str = ""  # no collector answered, and what it said (status says it once)


@dataclass
class IdleExplainer:
    """`status`'s view of idle processes, as check_slots sees a job before submit: the collector asked
    once for one `status` command (whatever the number of jobs, processes and --watch rounds), each
    job matched once."""

    slots: Slots = field(default=lambda: collector_slots(STATUS_TIMEOUT))
    _pool: tuple[Sequence[Any] | None, str] | None = None
    _jobs: dict[str, IdleWhy] = field(default_factory=dict)

    def explain(self, compiled: Compiled, where: Locator, job: Job) -> IdleWhy:
        if self._pool is None:
            self._pool = self.slots()
        slots, source = self._pool
        if slots is None:
            return IdleWhy(unexplained=source)
        if job.name not in self._jobs:
            found = match(compiled.project, job, slots, attributes(compiled, job))
            line = (
                f"idle: {len(found.matching)} of {found.slots} slots ({source}) match its requirements "
                "and GPU constraints"
            )
            if found.finding is None:
                self._jobs[job.name] = IdleWhy(line=f"{line}; it waits for one of them")
            else:
                key, message = found.finding
                self._jobs[job.name] = IdleWhy(line=line, finding=where.at(key or ("jobs", job.name), message))
        return self._jobs[job.name]


def refuse(report: Report, spec_file: str, *, missing: bool = True) -> None:
    """Raise when a job matches no slot, or (missing) an input is not here."""
    found = sorted([*report.refusals, *(report.missing if missing else ())])
    if found:
        raise PreflightRefused("\n".join(f.format(spec_file) for f in found) + "\nnothing was queued")
