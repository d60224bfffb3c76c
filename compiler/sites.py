"""Sites: what one HTCondor pool wants in a job's submit file that another would not.

Each site is one small class behind the `Site` protocol, in one registry. A site says which of a
job's spec keys it understands (a key meant for another site is a spec error, not silently
dropped) and which submit commands and +Attributes it adds. A new site is a new class here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .escape import classad_value

if TYPE_CHECKING:  # the model asks sites where staging is; sites read jobs
    from .model import Job

# (submit command or +Attribute, value as the submit file writes it)
Lines = list[tuple[str, str]]


class Site(Protocol):
    name: str
    keys: frozenset[str]  # the job keys only this site understands
    attributes: frozenset[str]  # the +Attributes it writes (lower case), which a job's own may not repeat
    staging_example: str | None  # where its staging directories are, for messages; None: none it knows of

    def lines(self, job: Job) -> Lines: ...

    def staging_url(self, directory: str) -> str | None:
        """How jobs fetch a file from this staging directory, when the site says; None: the spec must."""
        ...


class Chtc:
    """CHTC (guides and CHTC/templates-GPUs): the GPU Lab, its job lengths, backfill, flocking."""

    name = "chtc"
    keys = frozenset({"chtc"})
    attributes = frozenset({"wantgpulab", "gpujoblength", "is_resumable"})

    def lines(self, job: Job) -> Lines:
        lines: Lines = []
        if job.resources.gpus > 0 and job.chtc.gpu_lab:
            lines.append(("+WantGPULab", "true"))
            if job.chtc.job_length is not None:
                lines.append(("+GPUJobLength", classad_value(job.chtc.job_length)))
        # Resumable jobs give up the 72 h guarantee: only for jobs that checkpoint, unless asked.
        resumable = job.chtc.resumable if job.chtc.resumable is not None else job.checkpoint is not None
        if resumable:
            lines.append(("+is_resumable", "true"))
        if job.chtc.want_ospool:
            lines.append(("want_ospool", "true"))
        if job.chtc.want_campus_pools:
            lines.append(("want_campus_pools", "true"))
        return lines

    staging_example = "/staging/<letter>/<netid>"

    def staging_url(self, directory: str) -> str | None:
        # /staging/<letter>/<netid> on the access points is osdf:///chtc/staging/<letter>/<netid>.
        return f"osdf:///chtc{directory}" if directory.startswith("/staging/") else None


class OsPool:
    """The OSPool: duration categories (held after 20 h / 40 h) and project accounting."""

    name = "ospool"
    keys = frozenset({"ospool"})
    attributes = frozenset({"jobdurationcategory", "projectname"})

    def lines(self, job: Job) -> Lines:
        lines: Lines = []
        if job.ospool.duration is not None:
            lines.append(("+JobDurationCategory", classad_value(job.ospool.duration.capitalize())))
        if job.ospool.project is not None:
            lines.append(("+ProjectName", classad_value(job.ospool.project)))
        return lines

    staging_example = "/ospool/<ap>/data/<user>"

    def staging_url(self, directory: str) -> str | None:
        # An access point's /ospool/<ap>/data/<user> is published under the same OSDF path.
        return f"osdf://{directory}" if directory.startswith("/ospool/") else None


class Generic:
    """Any HTCondor pool: nothing beyond what the job itself asks for."""

    name = "generic"
    keys: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()

    def lines(self, job: Job) -> Lines:
        return []

    staging_example: str | None = None

    def staging_url(self, directory: str) -> str | None:
        return None


SITES: dict[str, Site] = {site.name: site for site in (Chtc(), Generic(), OsPool())}
SITE_KEYS = frozenset().union(*(site.keys for site in SITES.values()))
