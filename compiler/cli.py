"""The command line: a thin layer that maps the pipeline's results and errors to output and exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import pipeline, writer
from .errors import EXIT_OK, PixiHtcError, SpecError, StaleError
from .resources import project_schema

DEFAULT_SPEC = Path("specs/project.yaml")
DEFAULT_OUT = Path("build")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixi-htc", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_spec(name: str, help_text: str, out: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC, help="default: %(default)s")
        if out:
            sub.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build directory (default: %(default)s)")
        return sub

    with_spec("build", "compile the spec and write the generated files")
    with_spec("check", "exit 1 with a diff when generated files are stale or edited by hand")
    with_spec("validate", "check the spec only", out=False)
    commands.add_parser("schema", help="print the spec's JSON Schema")
    init = commands.add_parser("init", help="write a first spec: the bundled example, or moved in from a file")
    init.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC, help="default: %(default)s")
    init.add_argument("--from", dest="source", type=Path, help="a pixi.toml, pyproject.toml ([tool.pixi]) or .sub file")
    submit = with_spec("submit", "submit a job to HTCondor or Slurm, as its scheduler says (refuses when build/ is stale)")
    submit.add_argument("--job", help="the job to submit (default: the only one, or all with --dry-run)")
    submit.add_argument("--dry-run", action="store_true", help="list the jobs that would be queued")
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
        print(f"pixi-htc: {error}", file=sys.stderr)
        return error.exit_code
    except Exception:
        if args.debug:
            raise
        print("pixi-htc: internal error; run again with --debug for the traceback", file=sys.stderr)
        return 70


def _run(args: argparse.Namespace) -> int:
    if args.command == "schema":
        print(json.dumps(project_schema(), indent=2))
        return EXIT_OK
    if args.command == "init":
        from .init import init  # only this command needs it

        lost = init(args.spec, args.source)
        print(f"wrote {args.spec} and {args.spec.parent / 'project.schema.json'}; next: pixi-htc build")
        for item in lost:
            print(f"not carried over: {item}", file=sys.stderr)
        return EXIT_OK
    if args.command == "validate":
        # Nothing is generated, so the spec may live anywhere; it is shown relative to here.
        project = pipeline.load_project(args.spec, Path.cwd(), inside_root=False)
        print(f"{project.spec_path}: valid ({len(project.environments)} environments, {len(project.jobs)} jobs)")
        return EXIT_OK

    compiled = pipeline.compile_spec(args.spec, args.out)
    if args.command == "build":
        for change in writer.write(compiled.root, compiled.layout, compiled.artifacts):
            print(f"{change.status:>9}  {change.path}{change.note}")
        return EXIT_OK
    if args.command == "check":
        report = writer.stale_report(compiled.root, compiled.layout, compiled.artifacts)
        if report:
            sys.stdout.write(report)
            raise StaleError("generated files are stale or were edited by hand; run `make build`")
        print(f"pixi-htc: {len(compiled.artifacts)} generated files are current")
        return EXIT_OK
    if args.command == "submit":
        from . import submit  # htcondor2 loads only when submitting

        report = writer.stale_report(compiled.root, compiled.layout, compiled.artifacts)
        if report:
            raise StaleError("build/ is stale; run `make build` before submitting")
        return submit.submit(compiled, job_name=args.job, dry_run=args.dry_run)
    raise AssertionError(args.command)
