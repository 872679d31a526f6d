"""`cargo-overlap suggest`: merge consecutive cargo builds in CI into one invocation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cargo_overlap.errors import ExitCode
from cargo_overlap.printable import printable
from cargo_overlap.suggest import suggest
from cargo_overlap.suggest.apply import applicable, file_changes, write_changes
from cargo_overlap.suggest.render import report_json, report_text

EPILOG = """\
A PATH is any CI file: a GitHub workflow or composite action, .gitlab-ci.yml, a
Dockerfile, a Makefile, a justfile or a shell script, told apart by name and content.
With no PATH, --workflow, --script or -c, reads every such file of the workspace's
repository (found from --manifest-path or the current directory). Workflow steps and
scripts run from the repository root; -c commands from the current directory.

--diff and --write apply only suggestions whose unit graphs match (or that could not be
verified and show no feature difference); a "differs" suggestion is shown, never applied.

Exit codes: 0 a suggestion was made; 1 nothing to merge; 2 bad input.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `suggest` subcommand."""
    p = sub.add_parser(
        "suggest",
        help="suggest one cargo invocation for consecutive builds in CI",
        description="Find cargo builds in CI that run one after another and can be one "
        "command: cargo starts once and overlaps their codegen/LTO/link tails.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH",
        help="a CI file of any kind, detected by name and content",
    )  # fmt: skip
    p.add_argument(
        "--workflow", action="append", type=Path, default=[], metavar="PATH",
        help="a GitHub Actions workflow file (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--script", action="append", type=Path, default=[], metavar="PATH",
        help="a shell script (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "-c", dest="commands", action="append", default=[], metavar="COMMAND",
        help="a command line; several -c run in the order given (repeatable)",
    )  # fmt: skip
    p.add_argument("--manifest-path", type=Path, metavar="PATH", help="the workspace's Cargo.toml")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print only the unified diff")
    mode.add_argument("--write", action="store_true", help="apply the suggestions to the files")
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    """Run `suggest`; returns 0 or 1 (bad input raises a SuggestError: 2)."""
    report = suggest(
        workflows=ns.workflow,
        scripts=ns.script,
        commands=ns.commands,
        manifest_path=ns.manifest_path,
        paths=ns.paths,
    )
    changes = file_changes(report.suggestions) if (ns.diff or ns.write) else []
    if ns.write:
        write_changes(changes)
    if ns.json:
        sys.stdout.write(report_json(report))
    elif ns.diff:
        diff = "".join(change.diff() for change in changes)
        # Into a pipe (`| git apply`) the diff is the files' own bytes; on a terminal what
        # the files hold is shown, not acted on (printable.py).
        sys.stdout.write(printable(diff, newlines=True) if sys.stdout.isatty() else diff)
    elif ns.write:
        for change in changes:
            print(f"wrote {printable(change.source)}")
    else:
        sys.stdout.write(report_text(report))
    if ns.diff or ns.write:
        skipped = len(report.suggestions) - len(applicable(report.suggestions))
        if skipped:
            print(
                f"cargo-overlap: {skipped} suggestion(s) not applied (verdict differs, "
                "unverified with a feature difference, or no diff); see `cargo-overlap suggest`",
                file=sys.stderr,
            )
    return ExitCode.OK if report.suggestions else ExitCode.NOTHING
