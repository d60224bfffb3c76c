"""Issue #22's bar on a corpus of job files in the shapes real projects use (tests/fixtures/jobs/:
48 HTCondor submit files, 8 Slurm batch scripts, each with the user's scripts beside it; many are the
shapes that broke when 82 real public job files were moved in, real22 and real22b).

Each is moved in as a new user would (`pixi-htc init --from FILE`, run in the job file's directory
of a copy of its repository), built as init wrote it, and its generated job script run in a sandbox
laid out as its scheduler lays out a job: for HTCondor each transferred input under its base name
(a directory whole, `dir/` by its contents, a URL as the file its plugin would fetch), modes as git
checks them out (644), only the executable made executable; for Slurm the repository in place on a
shared filesystem, the script started in the build directory (where pixi-htc submits from) with
SLURM_* set. The user's programs are stand-ins that record what they were given: a job reaches its
command when the program is called with the arguments the original job gave it, in a directory
where its inputs are.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import htcondor2
import pytest

from tests.conftest import run_cli

CORPUS = Path(__file__).parent / "fixtures" / "jobs"


@dataclass(frozen=True)
class Case:
    job_file: str  # relative to the fixture's directory, which is the repository's top
    program: str | None  # the user's program the job must reach (a stand-in), or None: see made
    args: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # inputs that must be present where the program runs
    made: str | None = None  # for a job whose command is a real program: the file it must leave


def case(job_file: str, call: str, files: str = "", made: str | None = None) -> Case:
    words = shlex.split(call)
    return Case(job_file, words[0] if words else None, tuple(words[1:]), tuple(files.split()), made)


CASES = {
    "chtc-gpu-docker": case(
        "train.sub",
        "python train.py --data cifar10 --epochs 20 --batch-size 128",
        "train.py cifar10.tar.gz cifar10/a.bin",
    ),
    "chtc-sif-staging": case(
        "gpu_job.sub",
        "python3 finetune.py --config config.json --out checkpoints",
        "finetune.py config.json checkpoints",
    ),
    "ospool-singularity-image": case(
        "blast.sub", "blastn -query query.fa -db db/nt_small -out results.txt", "query.fa db/nt_small.nsq"
    ),
    "ospool-cvmfs-gpu": case("tf_gpu.sub", "python3 train_tf.py --steps 5000", "train_tf.py dataset.npz"),
    "vanilla-conda-pack": case(
        "analysis.sub", "python analyze.py --row 0 samples.csv", "analyze.py samples.csv env/bin/activate"
    ),
    "vanilla-venv": case(
        "job.sub",
        "python count_words.py --input reads.txt --label 'first pass' --threads 2",
        "count_words.py reads.txt requirements.txt .venv/bin/activate",
    ),
    "ospool-module-load": case("run_r.submit", "Rscript simulate.R 0", "simulate.R"),
    "vanilla-pixi-install": case(
        "pixi_job.sub", "python src/fit.py --out results/fit.json", "pixi.toml pixi.lock src/fit.py results"
    ),
    "docker-universe": case("docker.sub", "python3 summarize.py table.csv", "summarize.py table.csv"),
    "docker-pull-always": case("nightly.sub", "", made="S01.summary"),
    "queue-from-file": case("process.sub", "", made="s1.txt.count"),
    "queue-inline-table": case("sweep.sub", "python model.py --lr 0.1 --width 64", "model.py"),
    # The first row's quotes are characters to HTCondor (run_name is '"small baseline"'): listed, left out.
    "queue-quoted-row": case(
        "finetune.sub",
        "python3 finetune.py --config configs/large.yaml --run-name large",
        "finetune.py configs/large.yaml",
    ),
    "queue-matching": case("align.sub", "bwa mem ref.fa a.fastq", "ref.fa a.fastq"),
    "queue-in-list": case("seeds.sub", "python simulate.py --seed 11", "simulate.py environment.yml"),
    "initialdir-runs": case("submit_a.sub", "python3 fit.py --params params.ini", "fit.py params.ini"),
    "subdir-relative": case(
        "jobs/preprocess/preprocess.sub", "Rscript clean.R raw_counts.tsv clean_counts.tsv", "clean.R raw_counts.tsv"
    ),
    "osdf-inputs": case(
        "osdf.sub",
        "simulate --geometry geometry.gdml --events 1000 --xs xs_0.dat --out events.root",
        "geometry.gdml xs_0.dat",
    ),
    "output-remaps": case("remap.sub", "torchrun --nproc_per_node=2 train.py --data data", "train.py data/part0.npy"),
    "checkpoint-files": case("long_train.sub", "python train.py --resume checkpoint.pt --epochs-per-run 1", "train.py"),
    "checkpoint-evict": case("resumable.sub", "python3 chain.py --state state.npz --steps 100000", "chain.py"),
    "macro-defaults": case("tune.sub", "python tune.py --epochs 10 --optimizer adam", "tune.py"),
    "name-cmd": case("hello.cmd", "", made="greeting.txt"),
    "name-condor": case("render.condor", "blender -b scene.blend -f 0 -o frame_0.png", "scene.blend"),
    "name-jdl": case("grid_job.jdl", "python3 process.py input.dat", "process.py input.dat"),
    "notify-mail": case("notify.sub", "python3 bench.py --threads 8", "bench.py"),
    "env-batch-name": case("env.sub", "python report.py --threads 4 --data .", "report.py"),
    "gpu-bounds": case("bounded.sub", "python infer.py --weights weights.bin", "infer.py weights.bin"),
    "local-sif": case("sif_job.sub", "python3 analyze.py --in measurements.h5", "analyze.py measurements.h5"),
    "chtc-campus-pools": case("flock.sub", "python3 sim.py --cluster 7 --process 0", "sim.py"),
    "slurm-gres-conda": case(
        "train.sbatch",
        "python finetune.py --config configs/bert_base.yaml --output-dir runs/",
        "finetune.py configs/bert_base.yaml",
    ),
    "slurm-array-throttle": case(
        "sweep.slurm", "python train.py --seed 1 --data data/train.csv", "train.py data/train.csv"
    ),
    "slurm-apptainer-requeue": case(
        "long.sh",
        "python train_diffusion.py --resume-from ckpt/latest.ckpt",
        "train_diffusion.py ckpt/latest.ckpt containers/diffusers.sif",
    ),
    "slurm-gpus-per-node-mail": case(
        "ddp.job", "torchrun --standalone --nproc_per_node=4 ddp_train.py --epochs 90", "ddp_train.py"
    ),
    "slurm-submit-dir-venv": case(
        "run.sbatch", "python -u train_gnn.py --config configs/gnn.yaml", "train_gnn.py configs/gnn.yaml"
    ),
    "slurm-pixi-array": case(
        "eval.sbatch",
        "python evaluate.py --fold 1 --checkpoint checkpoints/best.ckpt",
        "evaluate.py checkpoints/best.ckpt pixi.toml",
    ),
    # Shapes of real public job files (issue #22's measurement on 50 of them, real22).
    "size-blank": case("tally.submit", "python3 tally.py chapter.txt", "tally.py chapter.txt"),
    "image-file-sif": case(
        "fold/fold.submit", "python3 /app/predict.py --fasta example.fa --out predictions", "example.fa"
    ),
    "image-cvmfs-slash": case("gpu.submit", "python3 fit.py --epochs 2", "fit.py"),
    "reserved-name": case("gpu_probe/submit.sub", "python3 probe.py --all", "probe.py"),
    "dir-contents": case(
        "dock.submit", "python3 dock.py --config settings.txt --ligand lig.pdbqt", "dock.py settings.txt lig.pdbqt"
    ),
    "dir-contents-matching": case(
        "many.submit", "python3 dock.py --config settings.txt --ligand lig.pdbqt", "dock.py settings.txt lig.pdbqt"
    ),
    "queue-blank-vars": case("grid/grid.submit", "python3 search.py -4 4", "search.py"),
    "queue-arguments": case("grid/grid.submit", "python3 search.py -5 5 0.5", "search.py"),
    "slurm-dot-slash": case("lesson/job.slurm", "python ./classify.py --epochs 3", "classify.py"),
    "slurm-file-in-argument": case("stats/job.slurm", "Rscript -e 'source(\"model.R\")'", "model.R"),
    # Shapes of 32 more real public job files (real22b): jobs that run on a shared filesystem.
    "shared-fs-in-place": case(
        "translate/translate.cmd", "python tag.py corpus.jsonl tagged.jsonl 7 --gpu", "tag.py corpus.jsonl"
    ),
    "submitted-from-top": case("jobs/finetune.cmd", "python scripts/finetune.py --epochs 3 --model base", "scripts"),
    # real22d: a shared-filesystem job naming the author's checkout by absolute paths everywhere.
    "author-checkout-paths": case(
        "condor_scripts/condor.sh", "python3 tagger.py --train data/train.txt", "tagger.py data/train.txt"
    ),
    "initialdir-elsewhere": case("nlp/train/train.condor", "python3 train.py --data data.jsonl", "train.py data.jsonl"),
    # CHTC's file:///staging inputs: the transfer plugin copies them into the sandbox.
    "staging-file-url": case("score.sub", "python3 score.py --shards shards.zip", "score.py shards.zip"),
    # real22c: the classes real22b left.
    "getenv-list": case(
        "embed.sub", "python3 embed.py --model small --fasta kinases.fa --threads 4", "embed.py kinases.fa"
    ),
    "log-dir-per-row": case("cmd/finetune_all.cmd", "python src/finetune.py --encoder distil --epochs 2", "src"),
    "row-in-one-variable": case(
        "grid_search.sh", "python3 train.py --batch 64 --layers 2 --lr 0.001 --model transformer", "train.py"
    ),
    "queue-arguments-column": case(
        "cmd/kfold_all.cmd", "python scripts/kfold.py --index 1 --fold first --reduce pca --layers 2,3", "scripts"
    ),
    "if-defined-above": case("cmd/train.cmd", "python scripts/train.py -c configs/base.conf --seed 3", "configs"),
    # The list is named at submit time: init says so, and the job (queued once) gets no sample.
    "queue-list-at-submit": case("prepare.sub", "python3 prepare.py --index 0 --sample ''", "prepare.py"),
}
# Every case builds and reaches its command (issue #22's bar is 32 of 35, for both counts).
NEED = len(CASES)

# What the spec cannot say (by `file:line:`): a matching queue's names taken when init runs.
NOT_CARRIED = {
    "queue-matching": ["align.sub:10:"],
    "image-file-sif": ["fold.submit:8:"],  # outputs/ comes back as the directory, not its contents
    "dir-contents-matching": ["many.submit:8:"],
    "initialdir-elsewhere": ["train.condor:9:"],  # initialdir: the author's checkout of nlp/train, read as it
    "queue-list-at-submit": ["prepare.sub:9:", "prepare.sub:"],  # the queue's list, and so $(sample)
    "queue-quoted-row": ["finetune.sub:16:"],
}
# Where the generated script's Slurm logs land (relative to the repository), for the scripts that name
# their own: where sbatch, run in the script's directory, put them (no --error: stderr with stdout).
LOGS = {
    "slurm-gres-conda": {"output": "logs/%x_%j.out", "error": "logs/%x_%j.err"},
    "slurm-array-throttle": {"output": "slurm-%A_%a.out"},
}

# Stand-ins for the programs the users' scripts call: each records its name, arguments and working
# directory; the wrappers (srun, apptainer exec, pixi run, conda run) then run the rest of the line.
RECORDER = """#!/bin/bash
python3_real=/usr/bin/python3
"$python3_real" - "$(basename "$0")" "$PWD" "$@" <<'PY' >> "$RECORD"
import json, sys
print(json.dumps({"program": sys.argv[1], "cwd": sys.argv[2], "args": sys.argv[3:]}))
PY
"""
WRAPPERS = {
    "srun": 'while [[ "${1:-}" == -* ]]; do shift; done\nexec "$@"\n',
    "apptainer": 'shift  # exec\nwhile [[ "${1:-}" == -* ]]; do case "$1" in --nv|--cleanenv|--contain) shift;; '
    '*) shift 2;; esac; done\nshift  # the image\nexec "$@"\n',
    "singularity": 'shift\nwhile [[ "${1:-}" == -* ]]; do case "$1" in --nv) shift;; *) shift 2;; esac; done\n'
    'shift\nexec "$@"\n',
    "pixi": 'if [ "$1" = run ]; then shift; while [[ "${1:-}" == -* ]]; do case "$1" in --locked|--frozen) shift;; '
    '*) shift 2;; esac; done; exec "$@"; fi\n',
    "conda": 'if [ "$1" = info ]; then echo "$CONDA_BASE"; fi\n',
    "python3": 'if [ "${1:-}" = -m ] && [ "${2:-}" = venv ]; then mkdir -p "$3/bin"; echo true > "$3/bin/activate"; fi\n',
}
PROGRAMS = (
    "python",
    "python3",
    "Rscript",
    "blastn",
    "bwa",
    "blender",
    "simulate",
    "torchrun",
    "pip",
    "module",
    "nvidia-smi",
    "curl",
    "scontrol",
    *WRAPPERS,
)


def _stand_ins(directory: Path) -> Path:
    directory.mkdir()
    for name in PROGRAMS:
        (directory / name).write_text(RECORDER + WRAPPERS.get(name, ""))
        (directory / name).chmod(0o755)
    (directory / "activate").write_text("true\n")  # `source activate ./env` finds it on PATH
    base = directory / "conda-base" / "etc" / "profile.d"
    base.mkdir(parents=True)
    (base / "conda.sh").write_text("true\n")
    return directory


@dataclass
class Outcome:
    name: str
    built: bool = False
    reached: bool = False
    why: str = ""
    not_carried: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # submit commands the generated .sub says otherwise
    logs: dict[str, str] = field(default_factory=dict)  # a Slurm job's own log names, where they land


def _repository(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / name, repo)
    (repo / ".git").mkdir()
    for path in repo.rglob("*"):
        if path.is_file():
            path.chmod(0o644)  # as git checks out files nobody marked executable
    return repo


def _macros(text: str, build: Path) -> dict[str, str]:
    """The first process's macros: $(Cluster), $(Process), the queue variables of its first row."""
    macros = {"Cluster": "7", "Process": "0"}
    queue = re.search(r"(?m)^queue (.*)$", text)
    assert queue is not None
    found = re.fullmatch(r"(?:\d+ )?(\w+(?:, \w+)*) from (.*)", queue.group(1).strip())
    if found:
        names = found.group(1).split(", ")
        if found.group(2) == "(":
            row = text[queue.end() :].strip().splitlines()[0].strip()
        else:
            row = (build / found.group(2)).read_text().splitlines()[0]
        values = [v.strip() for v in re.split(r"\s*,\s*|\s+", row.strip(), maxsplit=len(names) - 1)]
        macros.update(zip(names, values))
    return macros


def _expand(text: str, macros: dict[str, str]) -> str:
    return re.sub(r"\$\((\w+)\)", lambda m: macros.get(m.group(1), m.group(0)), text)


def _condor_environment(value: str) -> dict[str, str]:
    inner = value.strip()
    inner = inner[1:-1] if inner.startswith('"') else inner.replace(";", " ")
    return dict(word.split("=", 1) for word in shlex.split(inner) if "=" in word)


def _run_htcondor(repo: Path, job: str, sandbox: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    build = repo / "build"
    text = (build / "htcondor" / f"{job}.sub").read_text()
    sub = htcondor2.Submit(text)  # our own generated file
    macros = _macros(text, build)
    sandbox.mkdir()
    # HTCondor reads transfer_input_files from initialdir (relative to where condor_submit runs, build/).
    initialdir = (build / sub["initialdir"]).resolve() if sub.get("initialdir") else build
    job_env = {**env, **_condor_environment(sub.get("environment", "") or ""), "_CONDOR_SCRATCH_DIR": str(sandbox)}
    if (sub.get("should_transfer_files") or "YES").upper() in ("NO", "IF_NEEDED"):
        # A shared filesystem: the job starts in initialdir, its executable where it is (as written).
        executable = build / sub["executable"]
        executable.chmod(0o755)  # condor_submit refuses an executable that is not
        arguments = shlex.split(_expand(sub["arguments"].strip('"'), macros))
        return subprocess.run(
            [str(executable), *arguments],
            cwd=initialdir,
            env=job_env,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    for entry in (_expand(e.strip(), macros) for e in sub.get("transfer_input_files", "").split(",") if e.strip()):
        if "://" in entry:  # the file transfer plugin fetches it under its base name
            (sandbox / entry.rstrip("/").rsplit("/", 1)[-1]).write_text("fetched\n")
            continue
        source = initialdir / entry
        if entry.endswith("/"):
            shutil.copytree(source, sandbox, dirs_exist_ok=True)
        elif source.is_dir():
            shutil.copytree(source, sandbox / source.name)
        else:
            shutil.copy2(source, sandbox / source.name)
    executable = sandbox / Path(sub["executable"]).name
    shutil.copy2(build / sub["executable"], executable)
    executable.chmod(0o755)
    arguments = shlex.split(_expand(sub["arguments"].strip('"'), macros))
    job_env = {**env, **_condor_environment(sub.get("environment", "") or ""), "_CONDOR_SCRATCH_DIR": str(sandbox)}
    return subprocess.run(
        [str(executable), *arguments], cwd=sandbox, env=job_env, capture_output=True, text=True, timeout=20, check=False
    )


def _run_slurm(repo: Path, job: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = repo / "build" / "slurm" / f"{job}.sbatch"
    text = script.read_text()
    # Slurm sets the job's id under both names (SLURM_JOBID is the older one scripts still read).
    slurm_env = {**env, "SLURM_SUBMIT_DIR": str(repo / "build"), "SLURM_JOB_ID": "41", "SLURM_JOBID": "41"}
    array = re.search(r"(?m)^#SBATCH --array=([0-9]+)", text)
    if array:
        slurm_env |= {"SLURM_ARRAY_JOB_ID": "40", "SLURM_ARRAY_TASK_ID": array.group(1)}
    return subprocess.run(
        ["bash", str(script)],
        cwd=repo / "build",
        env=slurm_env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def _reached(spec: Case, record: Path, where: Path) -> str:
    """'' when the job reached the user's command with its inputs present; else why not."""
    if spec.made is not None:
        return "" if (where / spec.made).exists() else f"no {spec.made} in the sandbox"
    calls = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    mine = [c for c in calls if c["program"] == spec.program]
    if not mine:
        return f"{spec.program} was never called (calls: {[c['program'] for c in calls]})"
    same = [c for c in mine if tuple(c["args"]) == spec.args]
    if not same:
        return f"{spec.program} called with {mine[0]['args']}, not {list(spec.args)}"
    missing = [f for f in spec.files if not (Path(same[0]["cwd"]) / f).exists()]
    return f"inputs missing where it ran: {missing}" if missing else ""


# Submit commands that mean the same whichever file says them (values compared without letter case).
SAME_COMMANDS = (
    "request_cpus",
    "request_gpus",
    "notification",
    "notify_user",
    "docker_pull_policy",
    "checkpoint_exit_code",
    "max_retries",
    "when_to_transfer_output",
    "want_ospool",
    "want_campus_pools",
    "periodic_release",
    "stream_output",
    "gpus_minimum_capability",
)


def _changed(original_text: str, generated_text: str) -> list[str]:
    """What the generated .sub says otherwise than the user's (the corpus is this test's own text,
    so HTCondor's parser may read it)."""
    original, generated = htcondor2.Submit(original_text), htcondor2.Submit(generated_text)
    changed = [
        f"{key}: {original[key]!r} became {generated.get(key)!r}"
        for key in SAME_COMMANDS
        if key in original
        and "$(" not in original[key]
        and original[key].strip().lower() != (generated.get(key) or "").strip().lower()
    ]
    if original.get("universe", "").lower() == "docker" and generated.get("universe") != "docker":
        changed.append(f"universe: docker became {generated.get('universe')!r}")
    return changed


def _slurm_logs(repo: Path, script: str) -> dict[str, str]:
    """--output and --error as Slurm opens them from build/ (where pixi-htc submits), relative to the
    repository; pixi-htc's own names (build/logs/) left out."""
    found = {}
    for name, value in re.findall(r"(?m)^#SBATCH --(output|error)=(.*)$", script):
        landed = os.path.relpath(os.path.normpath(repo / "build" / value), repo)
        if not landed.startswith("build/logs/"):
            found[name] = landed
    return found


def move_in(tmp_path: Path, name: str) -> Outcome:
    spec = CASES[name]
    outcome = Outcome(name)
    repo = _repository(tmp_path, name)
    job_file = repo / spec.job_file
    moved = run_cli("init", "--from", job_file.name, cwd=job_file.parent)
    outcome.not_carried = [line for line in moved.stderr.splitlines() if "not carried over" in line]
    if moved.returncode != 0:
        outcome.why = f"init exited {moved.returncode}: {moved.stderr.strip()[-300:]}"
        return outcome
    built = run_cli("build", cwd=repo)
    if built.returncode != 0:
        outcome.why = f"build exited {built.returncode}: {built.stderr.strip()[-400:]}"
        return outcome
    outcome.built = True
    jobs = list((repo / "build" / "htcondor").glob("*.sub")) or list((repo / "build" / "slurm").glob("*.sbatch"))
    assert len(jobs) == 1, jobs
    if jobs[0].suffix == ".sub":
        outcome.changed = _changed(job_file.read_text(), jobs[0].read_text())
    else:
        outcome.logs = _slurm_logs(repo, jobs[0].read_text())
    record = tmp_path / "calls.jsonl"
    bin_dir = _stand_ins(tmp_path / "bin")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "RECORD": str(record),
        "HOME": str(tmp_path / "home"),
        "CONDA_BASE": str(bin_dir / "conda-base"),
        "LANG": "C.UTF-8",
    }
    (tmp_path / "home").mkdir()
    try:
        if jobs[0].suffix == ".sub":
            sandbox = tmp_path / "sandbox"
            ran = _run_htcondor(repo, jobs[0].stem, sandbox, env)
        else:
            ran = _run_slurm(repo, jobs[0].stem, env)
    except subprocess.TimeoutExpired:
        outcome.why = "the job ran past 60 seconds"
        return outcome
    if jobs[0].suffix == ".sbatch":
        sandbox = (
            next((repo / "build" / "outputs" / jobs[0].stem).iterdir(), repo)
            if (repo / "build" / "outputs" / jobs[0].stem).is_dir()
            else repo
        )
    outcome.why = _reached(spec, record, sandbox)
    if outcome.why and ran.returncode != 0:
        outcome.why += f"; the job exited {ran.returncode}: {ran.stderr.strip()[-300:]}"
    outcome.reached = not outcome.why
    return outcome


def test_the_corpus_is_the_issues_size() -> None:
    kinds = [(CORPUS / name / spec.job_file).read_text() for name, spec in CASES.items()]
    slurm = sum("#SBATCH" in text for text in kinds)
    assert len(CASES) >= 35 and slurm >= 6 and len(CASES) - slurm >= 29
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(CASES)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return {name: move_in(tmp_path_factory.mktemp(name), name) for name in CASES}


def test_moved_in_jobs_build_and_reach_their_commands(outcomes: dict[str, Outcome]) -> None:
    built = [o for o in outcomes.values() if o.built]
    reached = [o for o in outcomes.values() if o.reached]
    report = [f"{o.name}: {o.why}" for o in outcomes.values() if o.why]
    print(f"\nbuilt {len(built)}/{len(outcomes)}, reached the command {len(reached)}/{len(outcomes)}")
    print("\n".join(report))
    for o in outcomes.values():
        for line in o.not_carried:
            print(f"  {o.name}: {line}")
    assert len(built) >= NEED and len(reached) >= NEED, "\n".join(report)
    assert {o.name: o.changed for o in outcomes.values() if o.changed} == {}
    # What init reports as not carried is what the spec cannot say, each with its line.
    reported = {
        o.name: [line.split("not carried over: ", 1)[1].split(" ", 1)[0] for line in o.not_carried]
        for o in outcomes.values()
        if o.not_carried
    }
    assert reported == NOT_CARRIED
    assert {o.name: o.logs for o in outcomes.values() if o.logs} == LOGS
