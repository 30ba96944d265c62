"""``omics-autoload``: the command line of omics-autoload-construct.

* ``plan`` shows, without importing anything, which read sets the pipeline would build
  from a listing and why every other file would be skipped (``plan.py``);
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
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from omics_autoload_runtime.cli.errors import CliError, aws_error
from omics_autoload_runtime.cli.output import PROG
from omics_autoload_runtime.cli.plan import add_plan
from omics_autoload_runtime.cli.reconcile import add_reconcile
from omics_autoload_runtime.cli.redrive import add_redrive
from omics_autoload_runtime.cli.status import add_status

COMMANDS: list[Callable[[Any], None]] = [add_plan, add_status, add_redrive, add_reconcile]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


if __name__ == "__main__":
    sys.exit(main())
