"""`omics-autoload --version`, and the CLI without the [cli] extra (no boto3): plan still
works, the AWS commands say what to install instead of a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from omics_autoload_runtime.cli.main import main

REPO = Path(__file__).resolve().parents[2]
WITHOUT_BOTO3 = "import sys; sys.modules['boto3'] = sys.modules['botocore'] = None; "


def _run(code: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": f"{REPO / 'lambda'}:{REPO / 'src'}", "PATH": "/usr/bin:/bin"}
    script = code + f"from omics_autoload_runtime.cli.main import main; sys.exit(main({list(argv)!r}))"
    return subprocess.run([sys.executable, "-c", script], input=stdin, capture_output=True, text=True, env=env)


def test_version_is_the_package_s(capsys):
    assert main(["--version"]) == 0
    version = capsys.readouterr().out.strip()
    setup = (REPO / "setup.py").read_text()
    declared = re.search(r'"version": "([^"]+)"', setup)
    assert declared and version == f"omics-autoload {declared[1]}"


def test_without_boto3_the_aws_commands_name_the_extra():
    for command in (["backfill", "s3://bucket/p", "--table", "t"], ["status", "--table", "t"], ["redrive"]):
        run = _run(WITHOUT_BOTO3, *command)
        assert run.returncode == 2, run.stderr
        assert "pip install 'omics-autoload-construct[cli]'" in run.stderr and "Traceback" not in run.stderr
    run = _run(WITHOUT_BOTO3, "plan", "--listing", "-", stdin="s3://sequencing-runs/r/A.ubam\n")
    assert run.returncode == 0, run.stderr
    assert "1 read set from 1 file" in run.stdout


def test_the_cli_extra_brings_boto3():
    setup = (REPO / "setup.py").read_text()
    assert re.search(r'"extras_require": \{\s*"cli": \[\s*"boto3>=', setup)
