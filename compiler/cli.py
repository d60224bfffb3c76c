"""The command line: a thin layer that maps the pipeline's results and errors to output and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .core.defaults import BUILD_DIR, METRICS_FILE, SPEC_PATH
from .core.errors import EXIT_OK, PixiHtcError, SpecError, StaleError, printable

if TYPE_CHECKING:
    from .artifacts.base import Compiled

# Each command imports what it needs when it runs: `check`, run on every commit, starts with the
# standard library and answers from its cache (pipeline/check_cache.py) when nothing changed.

DESCRIPTION = """\
Compile one project.yaml into a pixi workspace, a container image, a CI workflow and HTCondor or
Slurm jobs, then submit them and follow what they did."""
EPILOG = """\
typical use:
  pixi-htc init --from pixi.toml      move an existing workspace (or job.sub, or a Slurm script) in
  pixi-htc build                      write build/ and .github/workflows/ from specs/project.yaml
  pixi-htc check                      exit 1 when build/ is stale or edited (CI, pre-commit)
  pixi-htc submit --job train         queue a job (--dry-run: say what would be queued)
  pixi-htc status / results           follow the jobs; explain build/FILE:LINE says where a line comes from

exit codes: 0 ok, 1 stale outputs, 2 invalid spec or usage, 70 internal error (--debug for the traceback)"""

DEFAULT_SPEC = Path(SPEC_PATH)
DEFAULT_OUT = Path(BUILD_DIR)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixi-htc", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"pixi-htc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_spec(name: str, help_text: str, out: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC, help="default: %(default)s")
        if out:
            sub.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build directory (default: %(default)s)")
        return sub

    with_spec("build", "compile the spec and write the generated files")
    with_spec("check", "exit 1 with a diff when generated files are stale or edited by hand")
    with_spec("validate", "check the spec and say what build would write", out=False)
    commands.add_parser("schema", help="print the spec's JSON Schema")
    init = commands.add_parser("init", help="write a first spec: the bundled example, or moved in from a file")
    init.add_argument("spec", nargs="?", type=Path, help="default: specs/project.yaml at the repository's top")
    init.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="a pixi.toml, a pyproject.toml ([tool.pixi]), an HTCondor submit file or a Slurm batch script",
    )
    submit = with_spec(
        "submit", "submit a job to HTCondor or Slurm, as its scheduler says (refuses when build/ is stale)"
    )
    submit.add_argument("--job", help="the job to submit (default: the only one, or all with --dry-run)")
    submit.add_argument("--dry-run", action="store_true", help="list the jobs that would be queued")
    submit.add_argument("--offline", action="store_true", help="skip the registry and collector checks of preflight")
    preflight = with_spec(
        "preflight",
        "check each HTCondor job before submitting: inputs and their sizes, the image, the slots that match",
    )
    preflight.add_argument("--job", help="the job to check (default: all)")
    preflight.add_argument("--offline", action="store_true", help="skip the registry and the collector")
    status = with_spec(
        "status",
        "each job's processes as its scheduler tells (event logs and the schedd; sacct, scontrol and the tasks' records), and what to change",
    )
    status.add_argument("--job", help="only this job")
    status.add_argument(
        "--cluster", type=int, help="this submission: an HTCondor cluster, a Slurm job id (default: each job's newest)"
    )
    status.add_argument("--watch", action="store_true", help="redraw until every process is done (Ctrl-C stops)")
    status.add_argument("--interval", type=float, default=10.0, help="seconds between redraws, 2 to 300 (default: 10)")
    status.add_argument(
        "--no-schedd", action="store_true", help="read only the files the jobs left (no schedd, sacct or scontrol)"
    )
    status.add_argument(
        "--offline", action="store_true", help="ask no collector why idle processes wait (--no-schedd asks none either)"
    )
    explain = commands.add_parser(
        "explain", help="which spec keys produce a generated line, or which lines a key reaches"
    )
    explain.add_argument("target", help="build/FILE:LINE, or a key path such as jobs.NAME.resources.memory")
    explain.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC, help="default: %(default)s")
    explain.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build directory (default: %(default)s)")
    results = with_spec("results", "gather each process's metrics into a table, a CSV and plots")
    results.add_argument("--job", help="only this job")
    results.add_argument(
        "--cluster", type=int, help="this submission: an HTCondor cluster, a Slurm job id (default: each job's newest)"
    )
    results.add_argument(
        "--metric", default="accuracy", help="the metric that picks the best run (default: %(default)s)"
    )
    order = results.add_mutually_exclusive_group()
    order.add_argument(
        "--higher-is-better",
        dest="higher",
        action="store_true",
        default=None,
        help="(default: decided by the metric's name: loss, error, time and seconds are lower-better)",
    )
    order.add_argument("--lower-is-better", dest="higher", action="store_false")
    results.add_argument("--metrics-file", default=METRICS_FILE, help="the output holding one JSON line per epoch")
    results.add_argument("--plots", type=Path, help="where the PNG plots go (default: <out>/outputs/plots)")
    results.add_argument("--no-plots", action="store_true", help="the table and CSV only")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except SpecError as error:
        print(error, file=sys.stderr)
        print(f"{len(error.diagnostics)} error(s); nothing was written.", file=sys.stderr)
        return error.exit_code
    except PixiHtcError as error:
        # The last guard for text from files: no control character reaches the terminal raw.
        print("\n".join(f"pixi-htc: {printable(line)}" for line in str(error).split("\n")), file=sys.stderr)
        return error.exit_code
    except Exception:
        if args.debug:
            raise
        print("pixi-htc: internal error; run again with --debug for the traceback", file=sys.stderr)
        return 70


def _run(args: argparse.Namespace) -> int:
    if args.command == "schema":
        import json

        from .core.resources import project_schema

        print(json.dumps(project_schema(), indent=2))
        return EXIT_OK
    if args.command == "init":
        from .init import default_spec_path, init  # only this command needs it

        spec = args.spec or default_spec_path(Path.cwd())
        if args.spec is None:
            spec = Path(os.path.relpath(spec))  # shown relative to here
        lost = init(spec, args.source)
        then = "" if spec.parent.parent in (Path("."), Path.cwd().resolve()) else f"cd {spec.parent.parent} && "
        print(printable(f"wrote {spec} and {spec.parent / 'project.schema.json'}; next: {then}pixi-htc build"))
        for item in lost:  # escaped and cut by init (foreign.shown)
            print(f"not carried over: {item}", file=sys.stderr)
        if args.source is not None:
            from .init.checked import build_problems
            from .init.places import project_root

            problems = build_problems(spec, project_root(Path.cwd()))
            if problems:
                print(f"{spec} does not build yet; what build says (fix it in the spec):", file=sys.stderr)
            for problem in problems:  # Diagnostic.format: printable and cut
                print(f"  {problem}", file=sys.stderr)
        return EXIT_OK
    if args.command == "check":
        from .pipeline import check_cache

        current = check_cache.cached_current(args.spec, args.out)
        if current is not None:
            print(f"pixi-htc: {current} generated files are current")
            return EXIT_OK
    from .pipeline import writer
    from .pipeline.compile import compile_spec, load_project

    if args.command == "validate":
        # Nothing is generated, so the spec may live anywhere; it is shown relative to here.
        from .artifacts.base import Layout
        from .pipeline.plan import summary

        project = load_project(args.spec, Path.cwd(), inside_root=False)
        print(f"{project.spec_path}: valid")
        for line in summary(project, Layout()):
            print(printable(line))
        return EXIT_OK

    compiled = compile_spec(args.spec, args.out)
    if args.command in ("status", "explain", "results"):
        return _follow(args, compiled)
    if args.command == "build":
        for change in writer.write(compiled.root, compiled.layout, compiled.artifacts):
            print(f"{change.status:>9}  {change.path}{change.note}")
        _remember(args, compiled)
        return EXIT_OK
    if args.command == "check":
        report = writer.stale_report(compiled.root, compiled.layout, compiled.artifacts)
        if report:
            sys.stdout.write(report)
            raise StaleError("generated files are stale or were edited by hand; run `make build`")
        _remember(args, compiled)
        print(f"pixi-htc: {len(compiled.artifacts)} generated files are current")
        return EXIT_OK
    if args.command == "submit":
        from .schedulers import submit  # htcondor2 loads only when submitting

        report = writer.stale_report(compiled.root, compiled.layout, compiled.artifacts)
        if report:
            raise StaleError("build/ is stale; run `make build` before submitting")
        _preflight(args, compiled, queue=not args.dry_run)
        return submit.submit(compiled, job_name=args.job, dry_run=args.dry_run)
    if args.command == "preflight":
        _preflight(args, compiled, queue=True, to_stdout=True)
        return EXIT_OK
    raise AssertionError(args.command)


def _remember(args: argparse.Namespace, compiled: Compiled) -> None:
    """After a build or a check that found the files current: the record the next check answers from."""
    from .pipeline import check_cache

    project = compiled.project
    lists = sorted({job.sweep_from.file for job in project.jobs if job.sweep_from is not None})
    check_cache.record(
        args.spec,
        args.out,
        compiled.root,
        compiled.layout.build_dir,
        lists,
        None if project.source is None else list(project.source),
        [(str(a.path), a.data, a.executable) for a in compiled.artifacts],
    )


def _preflight(args: argparse.Namespace, compiled: Compiled, *, queue: bool, to_stdout: bool = False) -> None:
    """The check before submit (schedulers/htcondor/preflight.py), for the HTCondor jobs chosen. A job
    no slot matches is refused; a missing input too, unless this is a dry run (which only says so)."""
    from .schedulers.htcondor import preflight
    from .spec.loader import load_spec

    out = sys.stdout if to_stdout else sys.stderr  # looked up now: a caller may have redirected them
    jobs = [job for job in compiled.project.jobs_on("htcondor") if args.job in (None, job.name)]
    if not jobs:
        return
    spec = load_spec(args.spec, compiled.project.spec_path)
    offline = {"fetch": None, "slots": None} if args.offline else {}
    report = preflight.preflight(compiled, spec, jobs, **offline)
    for line in report.lines:
        print(f"preflight: {printable(line)}", file=out)
    for finding in report.warnings:
        print(f"preflight: warning: {finding.format(compiled.project.spec_path)}", file=out)
    if not queue:  # a dry run says what is missing, and refuses only a job no slot matches
        for finding in report.missing:
            print(f"preflight: warning: {finding.format(compiled.project.spec_path)}", file=out)
    preflight.refuse(report, compiled.project.spec_path, missing=queue)


def _follow(args: argparse.Namespace, compiled: Compiled) -> int:
    """After submit: status, explain and results read what the build and the jobs left."""
    from .pipeline import writer
    from .spec.loader import load_spec

    spec = load_spec(args.spec, compiled.project.spec_path)
    if args.command == "status":
        from .follow import status

        if writer.stale_report(compiled.root, compiled.layout, compiled.artifacts):
            print(
                "note: build/ is stale (the spec changed since it was built): sweep values and keys are the "
                "spec's current ones",
                file=sys.stderr,
            )
        return status.status(
            compiled,
            spec,
            job_name=args.job,
            cluster=args.cluster,
            watch=args.watch,
            interval=args.interval,
            live=not args.no_schedd,
            collector=not args.offline,
        )
    if args.command == "explain":
        from .follow import explain

        return explain.explain(compiled, spec, args.target)
    from .follow import results

    return results.results(
        compiled,
        job_name=args.job,
        cluster=args.cluster,
        metric=args.metric,
        higher=args.higher,
        metrics_file=args.metrics_file,
        plots=None
        if args.no_plots
        else (args.plots or compiled.root / compiled.layout.build_dir / "outputs" / "plots"),
    )
