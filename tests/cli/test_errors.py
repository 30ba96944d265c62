"""Usage and AWS errors of the operations commands: one line on stderr and an exit code."""

from __future__ import annotations

from support.pipeline import TABLE

from cli.deployed import cli


def test_usage_and_aws_errors_are_one_line(pipe, capsys):
    code, _, err = cli(capsys, "status")
    assert code == 2 and "--stack" in err
    code, _, err = cli(capsys, "status", "--table", "no-such-table")
    assert code == 1
    assert err.startswith("omics-autoload status: AWS error: Scan: ResourceNotFoundException")
    assert "Traceback" not in err
    code, _, err = cli(capsys, "redrive", "--table", TABLE, "--key", "not-a-uri")
    assert code == 2 and "not an s3://bucket/key URI" in err
    code, _, err = cli(capsys, "redrive", "--table", TABLE, "--dlq")
    assert code == 2 and "--queue-url" in err
