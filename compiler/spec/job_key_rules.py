"""The rules across one job's keys (rules.py runs them for each job): its environment and runtime,
its command's placeholders, sweep sizes, logs and outputs, ClassAd expressions and +attributes, the
names HTCondor reserves."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ..core.defaults import METRICS_FILE
from .loader import KeyPath
from .model import BUILTIN_PLACEHOLDERS, PLACEHOLDER, Environment, Job, Project, outside
from .problem import Problem, did_you_mean
from .sites import SITES

# Job ClassAd attributes that the generated .sub's submit commands set (and the commands' names):
# a +Name among them would replace what the compiler wrote, e.g. +Requirements its one requirements.
SUBMIT_ATTRIBUTES = frozenset(
    name.lower()
    for name in (
        "Requirements",
        "Cmd",
        "Args",
        "Arguments",
        "Executable",
        "Environment",
        "Env",
        "Universe",
        "JobUniverse",
        "ContainerImage",
        "Container_Image",
        "TransferInput",
        "TransferOutput",
        "TransferOutputRemaps",
        "TransferCheckpoint",
        "CheckpointExitCode",
        "ShouldTransferFiles",
        "WhenToTransferOutput",
        "RequestCpus",
        "RequestGpus",
        "RequestMemory",
        "RequestDisk",
        "RequireGPUs",
        "GPUsMinCapability",
        "GPUsMinMemory",
        "In",
        "Out",
        "Err",
        "UserLog",
        "Log",
        "Output",
        "Error",
        "Iwd",
        "OnExitHold",
        "PeriodicRelease",
        "MaxRetries",
        "StreamOut",
        "StreamErr",
        "Queue",
        "Transfer_Input_Files",
        "Transfer_Output_Files",
    )
)
# A queue table larger than this is a mistake, and would take minutes and gigabytes to write.
MAX_SWEEP_ROWS = 100_000
MAX_SWEEP_TEXT = 16 * 1024 * 1024
# The generated htcondor/ folder holds these scripts beside the jobs' <job>.sh.
RESERVED_JOB_NAMES = frozenset({"submit", "interact"})


def appended_by_the_trainer(project: Project, job: Job) -> str | None:
    """The metrics file the bundled trainer appends to each epoch, when this job runs it."""
    if project.source is not None or "src/torch_MNIST.py" not in job.command:
        return None
    command = list(job.command)
    return command[command.index("--metrics-file") + 1] if "--metrics-file" in command[:-1] else METRICS_FILE


def classad_error(expression: str) -> str | None:
    """Why HTCondor's own ClassAd parser rejects the expression, or None. A clause that does not
    parse alone (`a) || (b`) could close the ( ) it is written into and change the others."""
    import classad2  # ships with htcondor; imported here so that specs without expressions skip it

    try:
        classad2.ExprTree(expression)
    except Exception:  # classad2 raises ClassAdException, a plain Exception subclass
        return "HTCondor cannot parse it as a ClassAd expression"
    return None


def defined_environments(environments: dict[str, Environment]) -> str:
    if not environments:
        return "(the spec defines no environments: define one, or give the job an image of its own)"
    return f"(defined: {', '.join(sorted(environments))})"


def sweep_size(job: Job) -> tuple[int, int]:
    """Rows of the job's queue table and its size in characters, by arithmetic: a 724-byte spec once
    expanded to billions of rows before anything counted them."""
    rows = math.prod(len(values) for _, values in job.sweep) if job.sweep else 0
    # Each row: the values, ", " between them, two spaces of indent and a newline.
    text = sum(rows // len(values) * sum(len(v) for v in values) for _, values in job.sweep)
    return rows, text + rows * (2 * max(len(job.sweep) - 1, 0) + 3)


def job_problems(project: Project, job: Job, environments: dict[str, Environment]) -> Iterator[Problem]:
    def j(*keys: str | int) -> KeyPath:
        return ("jobs", job.name, *keys)

    # The job's environment, where the job leaves it out, comes from container or pack, unless the
    # job names an image of its own (then it has none): an image set aside as invalid says nothing here.
    env_read = (j("environment"), j("runtime"), j("image"), ("container", "environment"), ("pack", "environment"))
    env = None if job.environment is None else environments.get(job.environment)
    if job.environment is None:
        pass  # someone else's image: nothing to activate, the GPU driver floor comes from gpu.driver
    elif env is None:
        yield Problem(
            j("environment"),
            f"environment '{job.environment}' is not defined"
            f"{did_you_mean(job.environment, environments)} {defined_environments(environments)}",
            (*env_read, ("environments", job.environment)),
        )
    elif env.feature_only:
        yield Problem(
            j("environment"),
            f"'{env.name}' is feature_only: pixi has no environment of that name",
            (*env_read, ("environments", env.name)),
        )
    else:
        if job.runtime != "pixi-pack" and job.image is None and job.environment != project.container.environment:
            yield Problem(
                j("environment"),
                f"the image bakes only '{project.container.environment}' "
                "(container.environment); run this job there or give it its own image",
                (*env_read, j("image")),
            )
        if job.runtime == "pixi-pack" and job.environment != project.pack.environment:
            yield Problem(
                j("environment"),
                f"the pixi-pack archive holds only '{project.pack.environment}' (pack.environment)",
                env_read,
            )
        if job.resources.gpus > 0 and env.effective_cuda is None and job.gpu.driver is None:
            yield Problem(
                j("resources", "gpus"),
                f"a GPU job needs a CUDA environment, and '{env.name}' has no "
                f"cuda; set environments.{env.name}.cuda or request gpus: 0",
                (*env_read, j("resources", "gpus"), ("environments", env.name, "cuda"), ("workspace", "cuda")),
            )
    if job.resources.gpus == 0 and (
        job.gpu.min_capability is not None or job.gpu.min_memory is not None or job.gpu.driver is not None
    ):
        yield Problem(j("gpu"), "GPU constraints on a job that requests no GPU", (j("resources", "gpus"), j("gpu")))
    if job.runtime == "pixi-pack" and job.image is not None:
        yield Problem(
            j("image"),
            "a pixi-pack job runs in the vanilla universe and takes no image",
            (j("runtime"), j("image")),
            at_key=True,
        )
    if job.runtime == "apptainer" and job.image is not None and job.image.startswith("docker://"):
        yield Problem(
            j("image"),
            "runtime apptainer runs a .sif (a path, osdf:///...sif or oras://); "
            "for a docker:// image use runtime: container",
            (j("runtime"), j("image")),
        )
    if job.runtime == "apptainer" and job.image is None and not project.container.apptainer:
        yield Problem(
            ("container", "apptainer"),
            f"job '{job.name}' runs the project's .sif (runtime apptainer), "
            "which CI builds only with container.apptainer: true",
            (("container", "apptainer"), j("runtime"), j("image")),
        )

    if job.name in RESERVED_JOB_NAMES:
        yield Problem(
            ("jobs", job.name),
            f"'{job.name}' is reserved: pixi-htc writes htcondor/{job.name}.sh itself; choose another job name",
            (),
            at_key=True,
        )
    names = set(job.sweep_variables)
    known = names | set(BUILTIN_PLACEHOLDERS)
    # Where the spec names the sweep's variables: the sweep's keys, or sweep_from.variables.
    sweep_key = j("sweep_from", "variables") if job.sweep_from else j("sweep")
    if job.sweep and job.sweep_from:
        yield Problem(j("sweep_from"), "a job takes its rows from sweep or from sweep_from, not both", (), at_key=True)
    for variable in sorted(names & set(BUILTIN_PLACEHOLDERS)):
        where = (
            j("sweep_from", "variables", job.sweep_variables.index(variable))
            if job.sweep_from
            else j("sweep", variable)
        )
        yield Problem(
            where,
            f"'{{{variable}}}' is built in (the HTCondor {variable} number); choose another name",
            (),
            at_key=not job.sweep_from,
        )
    for name, values in job.sweep:
        for index, value in enumerate(values):
            if name in job.path_variables and outside(value):
                # A for_each job's values are the sweep's of the job it follows: said at for_each.
                where = j("sweep", name, index) if job.for_each is None else j("for_each")
                yield Problem(
                    where,
                    f"{value!r} is placed in a file path ({{{name}}}), and would lead out of it: "
                    "no empty, '.' or '..' parts, and no leading '/'",
                    (j("sweep"),),
                )
    rows, text = sweep_size(job)
    if job.for_each is not None:
        pass  # the sweep is the job's it follows, judged there
    elif rows > MAX_SWEEP_ROWS:
        yield Problem(
            j("sweep"),
            f"the sweep has {rows:,} combinations; at most {MAX_SWEEP_ROWS:,} per job (split it into several jobs)",
            (j("sweep"),),
        )
    elif text > MAX_SWEEP_TEXT:
        yield Problem(
            j("sweep"),
            f"the sweep's queue table would be {text // 1024:,} KiB; at most "
            f"{MAX_SWEEP_TEXT // 1024:,} KiB per job (shorter values, or fewer combinations)",
            (j("sweep"),),
        )
    used: set[str] = set()
    for index, argument in enumerate(job.command):
        for name in PLACEHOLDER.findall(argument):
            used.add(name)
            if name not in known:
                yield Problem(
                    j("command", index),
                    f"'{{{name}}}' names no sweep variable"
                    f"{did_you_mean(name, known)} (known: {', '.join(sorted(known))})",
                    (j("command"), sweep_key),
                )
        if "$(" in argument:
            yield Problem(
                j("command", index),
                "'$(' is an HTCondor macro or shell substitution; arguments are "
                "passed literally: write {process}, {cluster} or {<sweep variable>}",
                (j("command"),),
            )
    # A variable may choose the process's input file alone (`inputs: [videos/{video}.mp4]`). One used
    # nowhere multiplies the processes for nothing; a list's column may go unused, as HTCondor allows.
    for name in sorted(names - used - job.path_variables if job.sweep and job.for_each is None else ()):
        yield Problem(
            j("sweep", name),
            f"sweep variable '{name}' is used nowhere (write {{{name}}} in command, inputs, outputs or logs)",
            (j("command"), j("inputs"), j("outputs"), j("logs"), j("sweep")),
            at_key=True,
        )
    for index, clause in enumerate(job.requirements):
        if problem := classad_error(clause):
            yield Problem(
                j("requirements", index),
                f"{problem}; each clause must stand on its own, ANDed with the others",
                (j("requirements"),),
            )
    for key, expression in job.policy:
        if problem := classad_error(expression):
            yield Problem(j(key), problem, (j(key),))
    if job.gpu.require is not None:
        if problem := classad_error(job.gpu.require):
            yield Problem(j("gpu", "require"), problem, (j("gpu", "require"),))
    appended = appended_by_the_trainer(project, job)
    if job.checkpoint is not None and appended in job.outputs and appended not in job.checkpoint.files:
        yield Problem(
            j("checkpoint", "files"),
            f"the trainer appends to {appended} every epoch; an evicted job "
            f"restarts with its checkpoint files only, so list {appended} here too",
            (j("checkpoint"), j("outputs"), j("command")),
        )
    for key in job.site_keys:
        if key not in SITES[project.site].keys:
            owner = next(site.name for site in SITES.values() if key in site.keys)
            yield Problem(
                j(key),
                f"'{key}' is for site: {owner}, and this spec's site is {project.site}",
                (j(key), ("site",)),
                at_key=True,
            )
    for name, _ in job.attributes:
        if name.lower() in SUBMIT_ATTRIBUTES:
            yield Problem(
                j("attributes", name),
                f"+{name} is the job attribute a submit command of the generated "
                ".sub sets; use the spec's own key for it",
                (j("attributes"),),
                at_key=True,
            )
        elif name.lower() in SITES[project.site].attributes | {"jobbatchname"}:
            yield Problem(
                j("attributes", name),
                f"pixi-htc sets +{name} itself (from batch_name or the site's keys, site: {project.site})",
                (j("attributes"), ("site",)),
                at_key=True,
            )
    if job.expression("retry_until") is not None and job.max_retries is None and job.scheduler == "htcondor":
        yield Problem(j("retry_until"), "retry_until takes effect with max_retries; set both", (j("max_retries"),))
    # Counted, never listed: a sweep's rows can number billions before the size rule above rejects it.
    many = f"the sweep queues {rows:,} processes" if job.sweep else "sweep_from queues a process a line"
    shared = [(("logs", key), path) for key, path in job.logs if key != "log"] + [
        (("output_remaps", name), path) for name, path in job.output_remaps if not PLACEHOLDER.search(name)
    ]
    if job.count > 1:
        many = f"count queues {job.count} processes" + (" a row" if job.swept else "")
    for (key, name), path in shared:
        if (rows > 1 or job.sweep_from or job.count > 1) and not _one_name_a_process(job, path):
            yield Problem(
                j(key, name),
                f"{many}, and each would write {path}: put {{process}} in the name",
                (j(key, name), sweep_key),
            )
    for name, _ in job.output_remaps:
        if name not in job.outputs:
            yield Problem(
                j("output_remaps", name),
                f"'{name}' is not one of outputs{did_you_mean(name, job.outputs)}",
                (j("output_remaps"), j("outputs")),
                at_key=True,
            )
    placed: Sequence[tuple[tuple[str, str | int], str]] = (
        [
            ((key, index), path)
            for key, paths in (("inputs", job.inputs), ("outputs", job.outputs))
            for index, path in enumerate(paths)
        ]
        + [(("logs", key), path) for key, path in job.logs]
        + [(("output_remaps", name), path) for name, path in job.output_remaps]
    )
    for (key, place), path in placed:
        for name in PLACEHOLDER.findall(path):
            if name not in known:
                yield Problem(
                    j(key, place),
                    f"'{{{name}}}' names no sweep variable{did_you_mean(name, known)}",
                    (j(key), sweep_key),
                )


def _one_name_a_process(job: Job, path: str) -> bool:
    """Whether every process of the job writes `path` under a name of its own: {process} is in it, or
    (queued once a row) the sweep variables it names tell every row apart."""
    names = set(PLACEHOLDER.findall(path))
    if "process" in names:
        return True
    if job.count > 1:
        return False
    if job.sweep:
        return all(var in names for var, values in job.sweep if len(values) > 1)
    rows = job.sweep_from.rows if job.sweep_from is not None else None
    if rows is None or job.sweep_from is None:
        return False
    columns = [i for i, var in enumerate(job.sweep_from.variables) if var in names]
    return len({tuple(row[i] for i in columns) for row in rows}) == len(rows)
