"""Sites: what one HTCondor pool wants in a job's submit file that another would not.

Each site is one small class behind the `Site` protocol, in one registry. A site says which of a
job's spec keys it understands (a key meant for another site is a spec error, not silently
dropped), which +Attributes it owns and where its staging is. The submit lines each site adds are
rendered by schedulers/htcondor/sites.py, keyed by the same names: a new site is a class here and a
function there.
"""

from __future__ import annotations

from typing import Protocol


class Site(Protocol):
    name: str
    keys: frozenset[str]  # the job keys only this site understands
    attributes: frozenset[str]  # the +Attributes it writes (lower case), which a job's own may not repeat
    staging_example: str | None  # where its staging directories are, for messages; None: none it knows of

    def staging_url(self, directory: str) -> str | None:
        """How jobs fetch a file from this staging directory, when the site says; None: the spec must."""
        ...


class Chtc:
    """CHTC (guides and CHTC/templates-GPUs): the GPU Lab, its job lengths, backfill, flocking."""

    name = "chtc"
    keys = frozenset({"chtc"})
    attributes = frozenset({"wantgpulab", "gpujoblength", "is_resumable"})

    staging_example: str | None = "/staging/<letter>/<netid>"

    def staging_url(self, directory: str) -> str | None:
        # /staging/<letter>/<netid> on the access points is osdf:///chtc/staging/<letter>/<netid>.
        return f"osdf:///chtc{directory}" if directory.startswith("/staging/") else None


class OsPool:
    """The OSPool: duration categories (held after 20 h / 40 h) and project accounting."""

    name = "ospool"
    keys = frozenset({"ospool"})
    attributes = frozenset({"jobdurationcategory", "projectname"})

    staging_example: str | None = "/ospool/<ap>/data/<user>"

    def staging_url(self, directory: str) -> str | None:
        # An access point's /ospool/<ap>/data/<user> is published under the same OSDF path.
        return f"osdf://{directory}" if directory.startswith("/ospool/") else None


class Generic:
    """Any HTCondor pool: nothing beyond what the job itself asks for."""

    name = "generic"
    keys: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()

    staging_example: str | None = None

    def staging_url(self, directory: str) -> str | None:
        return None


SITES: dict[str, Site] = {site.name: site for site in (Chtc(), Generic(), OsPool())}
SITE_KEYS = frozenset().union(*(site.keys for site in SITES.values()))
