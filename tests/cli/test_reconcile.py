"""`omics-autoload reconcile`: the objects whose event never came, printed (dry run) or sent to intake."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.settings import Settings
from support.pipeline import BUCKET, REGION, TABLE, EmfLog, Pipeline

from cli.deployed import INTAKE, cli, snapshot

KEYS = ["runs/r1/A.ubam", "runs/r1/B.ubam", "aligned/C.ubam", "other-team/D.ubam"]


def _intake_function(bucket=BUCKET, prefixes=("runs/", "aligned/")):
    """The deployed intake function, as far as the CLI reads it: its environment."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="intake", AssumeRolePolicyDocument=json.dumps({"Statement": []}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    variables = Settings(table_name=TABLE, bucket_name=bucket, key_prefixes=tuple(prefixes)).to_environment()
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=INTAKE,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": variables},
    )


@pytest.fixture
def pipe():
    with Pipeline(env={contract.Env.KEY_PREFIXES: json.dumps(["runs/", "aligned/"])}) as pipeline:
        EmfLog().install()
        stored = [pipeline.put(key) for key in KEYS]
        pipeline.settle()
        pipeline.deliver([stored[0]])  # the other events never came
        _intake_function()
        yield pipeline


def test_dry_run_prints_what_would_be_sent_and_changes_nothing(pipe, capsys):
    before = snapshot(pipe)
    code, out, err = cli(capsys, "reconcile", "--table", TABLE, "--intake-function", INTAKE, "--dry-run")
    assert code == 0, err
    assert f"Reconciling s3://{BUCKET} (runs/, aligned/) with table {TABLE}, from a listing (dry run" in out
    assert f"would send  s3://{BUCKET}/runs/r1/B.ubam" in out
    assert f"would send  s3://{BUCKET}/aligned/C.ubam" in out
    assert "runs/r1/A.ubam" not in out and "other-team" not in out
    assert "Compared 3 current object versions in 2 page(s): 2 without a tracking item would be sent" in out
    assert snapshot(pipe) == before
    assert pipe.counts.invocations["intake"] == 1  # the one delivered event


def test_reconcile_sends_them_through_intake_once(pipe, capsys):
    code, out, err = cli(capsys, "reconcile", "--table", TABLE, "--intake-function", INTAKE)
    assert code == 0, (out, err)
    assert f"sent        s3://{BUCKET}/runs/r1/B.ubam" in out
    assert f"2 without a tracking item sent to intake ({INTAKE})" in out
    objects = pipe.objects()
    assert {key: objects[key]["status"] for key in KEYS[:3]} == dict.fromkeys(KEYS[:3], tracking.QUEUED)
    current = pipe.s3.head_object(Bucket=BUCKET, Key="aligned/C.ubam")["VersionId"]
    assert objects["aligned/C.ubam"]["sk"] == f"V#{current}"
    before = snapshot(pipe)
    code, out, _ = cli(capsys, "reconcile", "--table", TABLE, "--intake-function", INTAKE)
    assert code == 0 and "0 without a tracking item" in out
    assert snapshot(pipe) == before


def test_the_options_win_over_the_functions_settings(pipe, capsys):
    code, out, err = cli(
        capsys, "reconcile", "--table", TABLE, "--bucket", BUCKET, "--prefix", "other-team/", "--dry-run"
    )
    assert code == 0, err
    assert f"would send  s3://{BUCKET}/other-team/D.ubam" in out and "runs/r1" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bucket", BUCKET], "sending needs the intake function"),
        (["--bucket", BUCKET, "--prefix", "runs/", "--prefix", "runs/x/", "--dry-run"], "overlap"),
        (["--bucket", BUCKET, "--inventory", "inventory/x", "--dry-run"], "is not an s3://bucket/folder URI"),
        (["--dry-run"], "which bucket?"),
        (["--bucket", BUCKET, "--max-pages", "-1"], "--max-pages and --min-age must be 0 or more"),
    ],
)
def test_usage_errors_name_the_fix(pipe, capsys, argv, message):
    code, _, err = cli(capsys, "reconcile", "--table", TABLE, *argv)
    assert code == 2
    assert message in err


def test_an_inventory_given_by_uri_is_read(pipe, capsys):
    from e2e.test_reconcile import ALL_VERSIONS, INVENTORY_BUCKET, INVENTORY_PREFIX, _write_report

    rows = []
    for key in KEYS:
        head = pipe.s3.head_object(Bucket=BUCKET, Key=key)
        rows.append(
            [
                BUCKET,
                key,
                head["VersionId"],
                "true",
                "false",
                4,
                "2026-01-01T00:00:00.000Z",
                head["ETag"].strip('"'),
                "STANDARD",
            ]
        )
    _write_report(pipe, ALL_VERSIONS, rows)
    code, out, err = cli(
        capsys,
        "reconcile",
        "--table",
        TABLE,
        "--intake-function",
        INTAKE,
        "--dry-run",
        "--inventory",
        f"s3://{INVENTORY_BUCKET}/{INVENTORY_PREFIX}/",
    )
    assert code == 0, err
    assert f"from the inventory s3://{INVENTORY_BUCKET}/{INVENTORY_PREFIX}" in out
    assert "Compared 4 current object versions in 1 page(s): 2 without a tracking item" in out
