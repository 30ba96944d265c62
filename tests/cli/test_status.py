"""`omics-autoload status`: counts by status, failed and stuck files, by --table or --stack."""

from __future__ import annotations

import json

from omics_autoload_runtime.adapters import tracking
from support.pipeline import BUCKET, TABLE, _starter_inputs

from cli.deployed import cli, stack_resources, stub_stack


def test_status_counts_and_failed_reasons(pipe, capsys):
    code, out, err = cli(capsys, "status", "--table", TABLE)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"Tracking table {TABLE} at ")
    table = lines[2 : lines.index("", 2)]  # the counts table ends at the first blank line
    rows = {line.split()[0]: line.split()[1:] for line in table}
    assert rows["STATUS"] == ["FILES", "READ", "SETS"]
    assert rows["IMPORTED"] == ["3", "2"] and rows["FAILED"] == ["1", "1"] and rows["SKIPPED"] == ["1", "-"]
    assert rows["TOTAL"] == ["5", "3"]
    assert "FAILED FILES (1)" in lines
    (failed,) = [line for line in lines if line.startswith(f"s3://{BUCKET}/run/bad.ubam")]
    assert "Invalid BAM: EOF marker missing" in failed
    assert "STUCK FILES (not final after 24 h: 0)" in lines


def test_status_json_for_scripts(pipe, capsys):
    pipe.upload(["late/x_R1.fq.gz"])  # waits for its mate...
    pipe.double.advance(3 * 3600)  # ...for three hours
    code, out, err = cli(capsys, "status", "--table", TABLE, "--format", "json", "--stuck-after", "2")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= {"counts", "failed", "stuck"}
    assert report["counts"]["objects"]["IMPORTED"] == 3
    assert report["counts"]["readSets"]["WAITING_FOR_MATE"] == 1
    (failed,) = report["failed"]
    assert failed["key"] == f"s3://{BUCKET}/run/bad.ubam"
    assert "EOF marker missing" in failed["reason"]
    assert failed["importJobId"] and failed["updatedAt"]
    (stuck,) = report["stuck"]
    assert stuck["key"] == f"s3://{BUCKET}/late/x_R1.fq.gz" and stuck["status"] == tracking.WAITING_FOR_MATE
    assert report["stuckTotal"] == 1


def test_a_stuck_import_lists_its_files_with_their_read_set_s_job(pipe, capsys):
    """A file's item stays QUEUED while its read set imports: the stuck list names the job."""
    pipe.upload(["slow/long.ubam"])
    (batch,) = _starter_inputs(pipe)
    job_id = pipe.invoke("import_start", batch)["jobId"]
    pipe.double.advance(3 * 3600)  # no outcome recorded for three hours
    code, out, err = cli(capsys, "status", "--table", TABLE, "--format", "json", "--stuck-after", "2")
    assert code == 0, err
    (stuck,) = json.loads(out)["stuck"]
    assert stuck["key"] == f"s3://{BUCKET}/slow/long.ubam" and stuck["status"] == tracking.QUEUED
    assert stuck["importJobId"] == job_id


def test_status_pages_through_large_tables(pipe, capsys, monkeypatch):
    calls = []
    original = tracking.Table.client.fget

    class Paging:
        def __init__(self, real):
            self.real = real

        def query(self, **kwargs):
            calls.append(kwargs.get("ExclusiveStartKey") is not None)
            return self.real.query(**dict(kwargs, Limit=1))

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(tracking.Table, "client", property(lambda self: Paging(original(self))))
    code, out, err = cli(capsys, "status", "--table", TABLE, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["counts"]["totalObjects"] == 5
    assert any(calls)  # later pages were asked for


def test_status_finds_the_table_of_a_stack(pipe, capsys):
    stub_stack(stack_resources({"intake": "https://q/i", "starter": "https://q/s", "workflow": "https://q/w"}))
    code, out, err = cli(capsys, "status", "--stack", "SequencingIngest", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["table"] == TABLE and report["counts"]["totalObjects"] == 5
    code, _, err = cli(capsys, "status", "--stack", "NoSuchStack")
    assert code == 1 and err.strip() == (
        "omics-autoload status: AWS error: ListStackResources: ValidationError:"
        " Stack with id NoSuchStack does not exist"
    )
