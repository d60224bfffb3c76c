"""What a build would write, for `validate` to say (issue #21: "valid" alone hid a build that wrote no
pixi.toml). The families render in memory, as build renders them; nothing is read from or written to
the project, so the spec may live anywhere."""

from __future__ import annotations

from ..artifacts.base import Layout
from ..spec.model import Project
from .compile import renderers
from .naming import DIGEST_LENGTH, named

# The files a reader looks for first, named in this order before any others of their family.
LEADING = ("pixi.toml", "Dockerfile", "lock.sh", "pack.sh")


def generated(project: Project, layout: Layout) -> list[tuple[str, list[str]]]:
    """(family, the paths it writes relative to the project root), for each family that writes any.
    The content-derived names (the image tag, a staged archive's digest) reach file contents and
    staged names, never a path in the project, so a placeholder stands for them: no file is read."""
    zeros = "0" * DIGEST_LENGTH
    project = named(project, image_digest=lambda: zeros, archive_digest=lambda: zeros)
    out = []
    families = renderers()
    for name in sorted(families):
        paths = [str(artifact.path) for artifact in families[name](project, layout)]
        paths.sort(
            key=lambda path: (
                LEADING.index(path.rpartition("/")[2]) if path.rpartition("/")[2] in LEADING else len(LEADING),
                path,
            )
        )
        if paths:
            out.append((name, paths))
    return out


def summary(project: Project, layout: Layout, *, shown: int = 6) -> list[str]:
    """The lines `validate` prints after "valid": the environments (the image's marked), the jobs, and
    each family's files (the first few; a sweep's many job files are counted, not listed)."""
    image = project.container.environment
    environments = ", ".join(
        f"{env.name} (image)" if env.name == image else env.name for env in project.environments if not env.feature_only
    )
    lines = [
        f"environments: {environments or 'none'}",
        f"jobs: {', '.join(job.name for job in project.jobs) or 'none'}",
        "build would write (paths from the project root):",
    ]
    for family, paths in generated(project, layout):
        more = f", and {len(paths) - shown} more" if len(paths) > shown else ""
        lines.append(f"  {family}: {', '.join(paths[:shown])}{more}")
    return lines
