"""``omics-autoload``: the command line of omics-autoload-construct.

* ``plan`` shows, without importing anything, which read sets the pipeline would build
  from a listing and why every other file would be skipped (``plan.py``);
* ``backfill`` sends objects already in the bucket through intake (``backfill.py``);
* ``status`` and ``redrive`` operate a deployed pipeline, found by ``deployment.py``:
  counts, failed and stuck files (``status.py``); re-queue FAILED items
  (``redrive.py``) and drain the dead-letter queues (``redrive_queues.py``);
* ``reconcile`` finds objects whose S3 event never came and sends them through intake
  (``reconcile.py``).

Exit codes: 0 done, 1 AWS call failed, 2 usage or input error (message on stderr).
Subcommands register themselves in COMMANDS: each adds a subparser whose ``run``
default takes the parsed arguments and returns the exit code. Errors are handled here
only: every command raises the errors of ``errors.py``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

from omics_autoload_runtime.cli.errors import NEEDS_BOTO3, CliError, Usage, aws_error
from omics_autoload_runtime.cli.output import PROG
from omics_autoload_runtime.cli.plan import add_plan

# The commands that call AWS import botocore (through the adapters): without the [cli]
# extra they are still listed, and say what to install instead of a traceback.
AWS_COMMANDS = {
    "status": "omics_autoload_runtime.cli.status:add_status",
    "redrive": "omics_autoload_runtime.cli.redrive:add_redrive",
    "backfill": "omics_autoload_runtime.cli.backfill:add_backfill",
    "reconcile": "omics_autoload_runtime.cli.reconcile:add_reconcile",
}


def _aws_command(name: str) -> Callable[[Any], None]:
    module_name, _, function = AWS_COMMANDS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("boto3", "botocore"):
            raise
        return lambda subparsers: _missing_boto3(subparsers, name)
    register: Callable[[Any], None] = getattr(module, function)
    return register


def _missing_boto3(subparsers: Any, name: str) -> None:
    command = subparsers.add_parser(name, help=f"({NEEDS_BOTO3})")

    def run(args: argparse.Namespace) -> int:
        raise Usage(f"{name} calls AWS and {NEEDS_BOTO3}")

    command.set_defaults(run=run, needs_boto3=True)


def _version() -> str:
    try:
        return metadata.version("omics-autoload-construct")
    except metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


COMMANDS: list[Callable[[Any], None]] = [add_plan, *(_aws_command(name) for name in AWS_COMMANDS)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown and not getattr(args, "needs_boto3", False):  # its own arguments are not known
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as stop:  # argparse has printed usage (code 2) or help (code 0)
        return stop.code if isinstance(stop.code, int) else 2
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CliError as error:
        return _report(args.command, error)
    except BrokenPipeError:
        _silence_stdout()  # the reader (e.g. `head`) left: not an error worth a traceback
        return 0
    except Exception as error:
        from_aws = aws_error(error)  # one readable line, never a traceback
        if from_aws is None:
            raise
        return _report(args.command, from_aws)


def _report(command: str, error: CliError) -> int:
    print(f"{PROG} {command}: {error.label}{error}", file=sys.stderr)
    return error.exit_code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Import sequencing files from S3 into AWS HealthOmics.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


if __name__ == "__main__":
    sys.exit(main())
