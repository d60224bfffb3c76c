"""`pixi-htc init --from job.sub`: an HTCondor submit file's job as a spec."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.foreign import shown
from ..schedulers.htcondor.jobfiles import parse_remaps
from ..spec.job_key_rules import RESERVED_JOB_NAMES
from ..spec.loader import CONTROL
from ..spec.model import POLICY
from .draft import Draft, slug
from .fits import fits
from .job_origins import submit_origins
from .places import Places, author_root, interpreter
from .submit_arguments import argument_words, whole_row_variable
from .submit_file import read_submit
from .submit_paths import (
    author_file,
    one_name_for_every_process,
    outputs_land_beside_the_submit_file,
    paths_the_values_leave,
    submitted_from,
)
from .submit_queue import arguments_from, list_rows, matching, queue_of
from .submit_resources import resources
from .submit_values import Macros, Moved, Numbers, carry_getenv

# What the generated .sub says itself: the same value in the original is nothing lost.
GENERATED = {"should_transfer_files": "yes", "when_to_transfer_output": "on_exit"}
# should_transfer_files' other names (enum_utils.cpp, ShouldTransferFilesTranslation; any letter case).
TRANSFER_NAMES = {"TRUE": "YES", "ALWAYS": "YES", "FALSE": "NO", "NEVER": "NO", "AUTO": "IF_NEEDED"}
# Why a macro evaluated outside the submit file is left out of a value.
ELSEWHERE = (
    " (evaluated by condor_submit on the access point, or by the schedd when the job matches: left out; "
    "write its value)"
)
# Why a command is not carried, where the spec has no key for it.
WHY_NOT = {
    "should_transfer_files": " (YES, IF_NEEDED or NO)",
    "universe": " (pixi-htc writes the vanilla, container or docker universe)",
    "require_gpus": " (a macro in it: write its value)",
    "transfer_container": " (pixi-htc transfers an image unless it is on CVMFS)",
    "docker_network_type": " (the docker universe's only)",
}


def from_submit(path: Path, beside: str = "", root: Path | None = None) -> Draft:
    """The job of an HTCondor submit file; `beside` is where a queue table of its own goes (the spec's
    directory, relative to the project root `root`, the working directory by default). The file is
    read as data (submit_file.py), never by HTCondor's parser, which executes `include` lines. Its
    paths, relative to its own directory (or initialdir), are rebased to the project root."""
    root = (root or Path.cwd()).resolve()
    parsed = read_submit(path, path.name)
    commands = {key: value.text for key, value in parsed.commands.items()}
    lines = {key: value.line for key, value in parsed.commands.items()}
    for key in ("request_cpus", "request_gpus", "request_memory", "request_disk"):
        alias = key.replace("_", "")  # RequestMemory: the job attribute's name, which condor_submit reads second
        if alias in commands and key not in commands:
            commands[key], lines[key] = commands.pop(alias), lines[alias]
    draft = Draft({"schema_version": 1, "name": slug(path.stem), "source": []})
    where = f"{shown(path.name)}: "
    job: dict[str, Any] = {}
    queue = queue_of(draft, job, parsed, f"{beside}{slug(path.stem)}.queue.txt")
    macros = Macros(commands, queue)
    macros.used |= job.pop("_queue_macros", set())  # `queue v from $(list)`: read by the queue statement
    initialdir = macros.placed(commands.pop("initialdir")) if "initialdir" in commands else None
    # The author's checkout, where the file names it by absolute paths (/home/alice/proj/...): read as this one.
    author = author_root(root, [macros.placed(value) for value in commands.values()] + [initialdir or ""])
    if initialdir and initialdir.startswith("/") and Places(root, "", author).outside(initialdir):
        # The author's checkout on their access point (/home/me/project): the job's paths start from
        # where the file is submitted in this project instead; said with its line.
        draft.lost.append(
            f"{parsed.where(lines['initialdir'])}: initialdir {shown(initialdir, 120)} (outside the project: "
            "the job's paths start from the directory it is submitted from)"
        )
        initialdir = None
    submitted = submitted_from(path, root, macros.placed(commands.get("executable", "")))
    places = Places.of(root, submitted, initialdir, author)
    if initialdir and places.base and places.through_a_link(places.base):
        draft.lost.append(
            f"{parsed.where(lines['initialdir'])}: initialdir {shown(initialdir, 120)} (reached through a symbolic "
            "link, which init never follows: the job's paths start from the directory it is submitted from)"
        )
        places = Places.of(root, submitted, None, author)
    moved = Moved(draft, parsed, places)
    if "sweep_from" in job:
        if job["sweep_from"]["file"] not in draft.files:  # the user's list; one init writes is named already
            job["sweep_from"]["file"] = moved.path(job["sweep_from"]["file"], parsed.queue_line, "queue ... from")
            if job["sweep_from"]["file"] is None:  # outside the project, or through a link: listed
                del job["sweep_from"]
    if "sweep_from" in job:
        whole = whole_row_variable(job, commands)
        arguments_from(draft, job, root, f"{parsed.where(parsed.queue_line)}: ", whole or "arguments")
    if "sweep_from" in job:
        list_rows(draft, job, root, f"{beside}{slug(path.stem)}.queue.txt", f"{parsed.where(parsed.queue_line)}: ")
    if "_matching" in job:
        matching(draft, job, job.pop("_matching"), places, parsed.where(parsed.queue_line))
    if "sweep" not in job and "sweep_from" not in job:
        macros.without_queue()  # no row was carried: its variables have no value, as an unset macro has none
    attributes = {key: value.text for key, value in parsed.attributes.items()}
    # +SingularityImage: the OSPool's older way to name an image (a vanilla job that Apptainer runs).
    legacy = _classad(attributes.pop("SingularityImage")) if "SingularityImage" in attributes else None
    image = commands.pop("container_image", None) or commands.pop("docker_image", None) or legacy
    universe = commands.pop("universe", "container" if image else "vanilla").lower()
    # A vanilla job without an image brings its own software (its script sets it up): runtime host,
    # never a pixi-pack job with no environment to pack.
    job["runtime"] = "container" if image or universe in ("container", "docker") else "host"
    # docker_pull_policy: kept as written in the docker universe; `missing` (HTCondor's default)
    # elsewhere says nothing the generated .sub does not.
    policy = commands.get("docker_pull_policy", "").strip().lower()
    if policy == "missing" or (policy == "always" and universe == "docker"):
        del commands["docker_pull_policy"]
        if universe == "docker":
            job["docker_pull_policy"] = policy
    if universe == "docker":
        job["universe"] = "docker"  # kept: the pool (or the image) needs Docker itself
        network = macros.placed(commands.get("docker_network_type", "")).strip()
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", network):
            del commands["docker_network_type"]
            job["docker_network_type"] = network
    elif universe not in ("vanilla", "container"):
        commands["universe"] = universe  # reported below, with its line
    if image:
        job["image"] = _image(macros.placed(str(image)))
        if job["image"].endswith(".sif") or job["image"].startswith("/cvmfs/"):
            job["runtime"] = "apptainer"
    if "transfer_input_files" in commands:
        line = lines["transfer_input_files"]
        job["inputs"] = [
            kept
            for p in commands.pop("transfer_input_files").split(",")
            if p.strip()
            for kept in [moved.path(macros.placed(p.strip()), line, "transfer_input_files")]
            if kept
        ]
    if "transfer_output_files" in commands:
        line = lines["transfer_output_files"]
        job["outputs"] = [
            kept
            for p in commands.pop("transfer_output_files").split(",")
            if p.strip()
            for kept in [_output(draft, macros.placed(p.strip()), parsed.where(line))]
            if kept
        ]
    job["command"] = _command(
        draft, job, commands, macros, moved, lines.get("executable", 0), parsed.where(lines.get("arguments", 0)) + ": "
    )
    logs = {
        key: moved.path(macros.placed(commands.pop(key)), lines[key], key)
        for key in ("log", "output", "error")
        if key in commands
    }
    if any(logs.values()):
        job["logs"] = {key: value for key, value in logs.items() if value}
    numbers = Numbers(draft, commands, lines, macros, parsed)
    resources(job, commands, numbers)
    if "checkpoint_exit_code" in commands:
        code = numbers.integer("checkpoint_exit_code")
        files = [p.strip() for p in commands.pop("transfer_checkpoint_files", "").split(",") if p.strip()]
        if code is not None:
            job["checkpoint"] = {"exit_code": code, **({"files": files} if files else {})}
    if commands.get("when_to_transfer_output", "").lower() == "on_exit_or_evict":
        del commands["when_to_transfer_output"]
        job["when_to_transfer_output"] = "ON_EXIT_OR_EVICT"
    notification = commands.get("notification", "").strip().capitalize()
    if notification in ("Never", "Complete", "Error", "Always"):
        del commands["notification"]
        job["notification"] = notification
    if "notify_user" in commands and re.fullmatch(
        r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63}){1,8}",
        macros.placed(commands["notify_user"]).strip(),
    ):
        job["notify_user"] = macros.placed(commands.pop("notify_user")).strip()
    _site(draft, job, attributes, commands)
    if attributes:
        job["attributes"] = {k: _classad(v) for k, v in attributes.items()}
    if "environment" in commands:
        line, elsewhere = lines["environment"], list[str]()
        env = {
            name: macros.without_elsewhere(macros.placed(value), elsewhere)
            for name, value in _environment(commands.pop("environment")).items()
        }
        job["env"] = env
        draft.lost.extend(f"{parsed.where(line)}: environment {shown(m, 60)}{ELSEWHERE}" for m in elsewhere)
    carry_getenv(draft, job, commands, macros, parsed.where(lines.get("getenv", lines.get("get_env", 0))))
    for key in ("stream_output", "stream_error"):
        if key in commands:
            job[key] = commands.pop(key).lower() == "true"
    for key in POLICY:
        if key in commands:
            job[key] = macros.placed(commands.pop(key))
    if "batch_name" in commands:
        job["batch_name"] = macros.placed(commands.pop("batch_name")).strip().strip('"').strip()
    if "transfer_output_remaps" in commands:
        try:
            pairs = parse_remaps(commands["transfer_output_remaps"])
        except UsageError as error:
            numbers.lost("transfer_output_remaps", str(error))
        else:
            del commands["transfer_output_remaps"]
            line = lines["transfer_output_remaps"]
            remaps = {
                name: moved.path(macros.placed(target.template), line, "transfer_output_remaps")
                for name, target in pairs
            }
            job["output_remaps"] = {
                macros.placed(name).rstrip("/") or name: target for name, target in remaps.items() if target
            }
    outputs_land_beside_the_submit_file(job, places)
    transfer = commands.get("should_transfer_files", "").strip().upper()
    transfer = TRANSFER_NAMES.get(transfer, transfer)
    if transfer == "YES":
        commands["should_transfer_files"] = "yes"  # TRUE, ALWAYS: what the generated .sub says
    if transfer in ("IF_NEEDED", "NO"):
        del commands["should_transfer_files"]
        job["should_transfer_files"] = transfer
    elif job.pop("_in_place", False) and not transfer:
        # The executable stays on the shared filesystem: condor_submit's default (no transfer
        # where the execute point shares the access point's filesystem), written out.
        transfer = job["should_transfer_files"] = "IF_NEEDED"
    job.pop("_in_place", None)
    if "outputs" not in job or transfer in ("IF_NEEDED", "NO"):
        # HTCondor brings back every new top-level file (or runs the job on a shared filesystem)
        # in the directory the job was submitted from: the submit file's, not build/.
        job["initialdir"] = places.base or "."
    if "max_retries" in commands:
        retries = numbers.integer("max_retries")
        if retries is not None:
            job["max_retries"] = retries
    if image and job["image"].startswith("/cvmfs/"):
        commands.pop("transfer_container", None)  # the generated .sub says false for a CVMFS image
    same = {key for key, value in GENERATED.items() if commands.get(key, "").lower() == value}
    for key in sorted(set(commands) - same - macros.used):
        draft.lost.append(f"{parsed.where(lines[key])}: {key} = {shown(commands[key], 80)}{WHY_NOT.get(key, '')}")
    draft.lost += parsed.assumed  # a conditional on a macro the file leaves to the command line
    draft.lost += parsed.after_queue
    paths_the_values_leave(draft, job, root, parsed, lines)
    one_name_for_every_process(draft, job, parsed, lines)
    for line in parsed.extra_queues:
        draft.lost.append(f"{parsed.where(line)}: a second queue statement (one job per spec job: split the file)")
    draft.lose(where, [f"{macro} (no such macro here: write its value)" for macro in sorted(macros.unknown)])
    name = _job_name(slug(path.stem), job, draft)
    draft.spec["jobs"] = {name: job}
    submit_origins(draft, name, job, parsed)
    return draft


def _output(draft: Draft, name: str, where: str) -> str | None:
    """An output as the spec names it: `outputs/` (HTCondor: the directory's contents come back into
    the submit directory) is the directory `outputs`, which comes back whole; init says so. A file
    in a subdirectory (`results/run/score.csv`, which HTCondor brings back under its base name) has
    no spec form: listed by line, left out."""
    if "/" in name.rstrip("/"):
        draft.lost.append(
            f"{where}: transfer_output_files {shown(name, 80)} (a path in a subdirectory: the spec's outputs "
            "name files and directories at the top of the job's directory)"
        )
        return None
    if not name.endswith("/") or not name.rstrip("/"):
        return name
    draft.lost.append(
        f"{where}: transfer_output_files {shown(name, 80)}: the directory comes back whole, as "
        f"{shown(name.rstrip('/'), 80)} (the spec's outputs name files and directories, not a directory's contents)"
    )
    return name.rstrip("/")


def _image(image: str) -> str:
    """container_image as the spec names it: a Docker name gets docker://; an unpacked image on
    CVMFS loses a trailing `/` (the same directory); a .sif path, a file:/// .sif and URLs as written."""
    image = image.strip()
    if image.startswith("/cvmfs/"):
        return image.rstrip("/")
    return image if "://" in image or image.endswith(".sif") else f"docker://{image}"


def _job_name(name: str, job: dict[str, Any], draft: Draft) -> str:
    """The submit file's name, unless the generated htcondor/<name>.sh would land in the sandbox
    under the same base name as one of the job's own files (HTCondor would overwrite one with the
    other), or the name is one pixi-htc writes a script of its own under (submit.sub): then <name>-job."""
    landing = {path.rstrip("/").rsplit("/", 1)[-1] for path in (*job.get("inputs", []), *draft.spec["source"])}
    return f"{name}-job" if f"{name}.sh" in landing or name in RESERVED_JOB_NAMES else name


def _command(
    draft: Draft, job: dict[str, Any], commands: dict[str, str], macros: Macros, moved: Moved, line: int, where: str
) -> list[str]:
    """executable and arguments as one command. HTCondor transfers a relative executable itself,
    makes it executable and runs it from the sandbox: the spec carries it as code (which keeps its
    mode in git, often 644), so a script runs through its interpreter and a program as ./name."""
    executable = macros.placed(commands.pop("executable", ""))
    elsewhere: list[str] = []
    written = commands.pop("arguments", "")
    # condor_submit expands the macros first, then splits the value into words (either syntax): a
    # macro that is empty (`CPU =`) is no word, one that holds blanks is several.
    arguments = argument_words(macros.without_elsewhere(macros.placed(written), elsewhere))
    draft.lost.extend(f"{where}arguments {shown(m, 60)}{ELSEWHERE}" for m in elsewhere)
    if "_row_words" in job:  # `arguments = $(args)`, args a whole line: its words, each a variable
        row, words = job.pop("_row_words")
        arguments = [w for a in arguments for w in (words if a == row else [a])]
    # queue arguments from ...: each process's own (the words every row gives alike, macros expanded)
    arguments = [macros.placed(a) for a in job.pop("_arguments", arguments)]
    # No file transferred, none asked for: the job ran on the author's shared filesystem, in place.
    shared = "inputs" not in job and not commands.get("should_transfer_files", "").strip()
    arguments = [author_file(job, word, moved.places, shared=shared) for word in arguments]
    if any(CONTROL.search(word) for word in arguments):
        draft.lost.append(f"{where}arguments: a word holds a control character (a NUL, a line break); left out")
        arguments = [word for word in arguments if not CONTROL.search(word)]
    transferred = commands.pop("transfer_executable", "true").lower() != "false"
    if not executable:
        return arguments or ["true"]
    if not transferred:
        return _in_place(job, executable, arguments, moved)
    if executable.startswith("/") and moved.places.rebased(executable) is None:
        return [executable, *arguments]  # a program on the execute point, e.g. /usr/bin/python3
    path = moved.path(executable, line, "executable")
    if path is not None and not fits(path, "properties/source/items"):
        draft.lost.append(
            f"{moved.parsed.where(line)}: executable {shown(executable, 80)} (a spec names files by paths of letters, digits and "
            ". _ + - @: rename it, git mv, and move the file in again)"
        )
        path = None
    if path is None:
        return [executable, *arguments]
    if path not in job.get("inputs", []):
        draft.spec["source"].append(path)
    name = path.rsplit("/", 1)[-1]
    started = interpreter(moved.places.root / path, moved.places.root)
    return [*started, name, *arguments] if started else [f"./{name}", *arguments]


def _in_place(job: dict[str, Any], executable: str, arguments: list[str], moved: Moved) -> list[str]:
    """transfer_executable = false: the executable is a path on the execute point. One of the
    project's own files (the job ran on a shared filesystem, from the directory it was submitted
    from) runs in place, through its interpreter, from initialdir; any other program as written."""
    rebased = moved.places.rebased(executable)
    if rebased is None or not (moved.places.root / rebased).is_file():
        return [executable, *arguments]
    job["_in_place"] = True
    here = posixpath.relpath(rebased, moved.places.base or ".")
    here = here if "/" in here else f"./{here}"
    started = interpreter(moved.places.root / rebased, moved.places.root)
    return [*started, here, *arguments] if started else [here, *arguments]


def _environment(text: str) -> dict[str, str]:
    """The environment command: the new syntax (double-quoted, blank-separated NAME=value, values in
    single quotes when they hold blanks), or the old (NAME=value;NAME=value)."""
    text = text.strip()
    pairs = argument_words(text) if text.startswith('"') else text.split(";")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def _classad(value: str) -> Any:
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text[1:-1].replace('\\"', '"') if text.startswith('"') and text.endswith('"') else text


def _site(draft: Draft, job: dict[str, Any], attributes: dict[str, str], commands: dict[str, str]) -> None:
    """CHTC's and the OSPool's attributes (and CHTC's want_ commands) become the site and its keys."""
    # ClassAd attribute names are case blind: +Is_Resumable is +is_resumable.
    named = {k.lower(): k for k in attributes}
    chtc = {
        k: attributes.pop(named[k.lower()])
        for k in ("WantGPULab", "GPUJobLength", "is_resumable")
        if k.lower() in named
    }
    wants = {k: commands.pop(k).lower() == "true" for k in ("want_ospool", "want_campus_pools") if k in commands}
    ospool = (
        {}
        if chtc or wants
        else {k: attributes.pop(named[k.lower()]) for k in ("JobDurationCategory", "ProjectName") if k.lower() in named}
    )
    if chtc or wants:
        draft.spec["site"] = "chtc"
        job["chtc"] = {
            "gpu_lab": _classad(chtc.get("WantGPULab", "false" if wants and not chtc else "true")) is True,
            **{k: v for k, v in wants.items() if v},
        }
        if "GPUJobLength" in chtc:
            job["chtc"]["job_length"] = _classad(chtc["GPUJobLength"])
        if "is_resumable" in chtc:
            job["chtc"]["resumable"] = _classad(chtc["is_resumable"]) is True
    elif ospool:
        draft.spec["site"] = "ospool"
        job["ospool"] = {}
        if "JobDurationCategory" in ospool:
            job["ospool"]["duration"] = str(_classad(ospool["JobDurationCategory"])).lower()
        if "ProjectName" in ospool:
            job["ospool"]["project"] = _classad(ospool["ProjectName"])
