"""Where each key of a moved-in job came from: the submit command's line, or the #SBATCH line, as
`# from job.sub:14` comments (init/__init__.py writes them, spec/origins.py reads them back), so a
problem build finds in a key names the line of the user's file it was moved in from."""

from __future__ import annotations

from typing import Any

from .draft import Draft
from .submit_file import SubmitFile

# A job key and the submit commands or +attributes (lower-cased) it is said by, first found wins.
SUBMIT_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("resources", "cpus"): ("request_cpus",),
    ("resources", "gpus"): ("request_gpus",),
    ("resources", "memory"): ("request_memory",),
    ("resources", "disk"): ("request_disk",),
    ("gpu",): ("require_gpus", "gpus_minimum_capability", "gpus_minimum_memory", "gpus_minimum_runtime"),
    ("image",): ("container_image", "docker_image", "+singularityimage"),
    ("universe",): ("universe",),
    ("docker_pull_policy",): ("docker_pull_policy",),
    ("inputs",): ("transfer_input_files",),
    ("outputs",): ("transfer_output_files",),
    ("output_remaps",): ("transfer_output_remaps",),
    ("command",): ("executable", "arguments"),
    ("requirements",): ("requirements",),
    ("env",): ("environment",),
    ("checkpoint",): ("checkpoint_exit_code",),
    ("max_retries",): ("max_retries",),
    ("batch_name",): ("batch_name",),
    ("notification",): ("notification",),
    ("notify_user",): ("notify_user",),
    ("when_to_transfer_output",): ("when_to_transfer_output",),
    ("logs", "log"): ("log",),
    ("logs", "output"): ("output",),
    ("logs", "error"): ("error",),
    ("chtc", "gpu_lab"): ("+wantgpulab", "want_ospool", "want_campus_pools"),
    ("chtc", "job_length"): ("+gpujoblength",),
    ("chtc", "resumable"): ("+is_resumable",),
    ("ospool", "duration"): ("+jobdurationcategory",),
    ("ospool", "project"): ("+projectname",),
}
QUEUE_KEYS = (("sweep",), ("sweep_from",), ("count",))


def submit_origins(draft: Draft, job_name: str, job: dict[str, Any], parsed: SubmitFile) -> None:
    """Each key of the job said by one line of the submit file, with that line."""
    lines = {key: value.line for key, value in parsed.commands.items()}
    lines |= {f"+{key.lower()}": value.line for key, value in parsed.attributes.items()}
    keys = dict(SUBMIT_KEYS) | {("attributes", key): (f"+{key.lower()}",) for key in job.get("attributes", {})}
    for path, commands in keys.items():
        line = next((lines[c] for c in commands if c in lines), None)
        if line and _has(job, path):
            draft.origins[("jobs", job_name, *path)] = parsed.where(line)
    for path in QUEUE_KEYS:
        if parsed.queue_line and _has(job, path):
            draft.origins[("jobs", job_name, *path)] = parsed.where(parsed.queue_line)


def _has(job: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = job
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return False
        node = node[step]
    return True


def said_keys(job: dict[str, Any], slurm: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """The resources and slurm keys of a job being moved in from a Slurm script, with their values:
    what one #SBATCH option changed is the difference of two of these."""
    out: dict[tuple[str, ...], Any] = {("resources", k): v for k, v in job["resources"].items()}
    out |= {("slurm", k): v for k, v in slurm.items()}
    return out


def changed(before: dict[tuple[str, ...], Any], after: dict[tuple[str, ...], Any]) -> list[tuple[str, ...]]:
    return [path for path, value in after.items() if path not in before or before[path] != value]
