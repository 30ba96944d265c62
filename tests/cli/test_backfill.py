"""`omics-autoload backfill`: objects already in the bucket go through intake once.

Directly (a moto bucket of ``BACKFILL_OBJECTS`` objects, sent to the real intake handler
through moto's Lambda), and as an S3 Batch Operations job: the CreateJob request checked
against the botocore ``s3control`` model (moto has no Batch Operations), the job run here as
AWS documents it (one schema 2.0 task per invocation, a CSV completion report).

The direct backfill sends 250 objects by default (~35 s: moto answers ~40 calls a second,
five per object, and the test backfills twice); ``BACKFILL_OBJECTS=3000 pytest
tests/cli/test_backfill.py`` runs a big one. Listing pages of ``LIST_PAGE`` versions and a
progress line every ``PROGRESS_EVERY`` objects keep the default run past several pages and
several progress lines, as a big bucket is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections import Counter

import boto3
import pytest
from botocore.stub import Stubber
from omics_autoload_runtime.adapters import clients, tracking
from omics_autoload_runtime.cli import backfill
from support.omics_double import shape_errors
from support.pipeline import ACCOUNT, BUCKET, REGION, TABLE, EmfLog, Pipeline, run_without_state_machine

from cli.deployed import INTAKE, cli, snapshot

BATCH_BUCKET = "omics-autoload-batch-operations"
BATCH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SequencingIngest-AutoLoadBatchOperationsRole1A2B3C4D-XyZ"
SINGLES = int(os.environ.get("BACKFILL_OBJECTS", "250")) - 60
# S3 lists 1,000 versions a page: pages of 100 make a few hundred objects take several.
LIST_PAGE, PROGRESS_EVERY = 100, 100


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        EmfLog().install()
        yield pipeline


def fill(pipe, singles=SINGLES, pairs=20):
    """Objects put straight into S3: no event ever reached intake (they were there before)."""
    for index in range(singles):
        pipe.put(f"runs/2023/run{index // 100:02d}/S{index}.hifi_reads.bam")
    for index in range(pairs):
        pipe.put(f"runs/2024/fq/S{index}_S1_L001_R1_001.fastq.gz")
        pipe.put(f"runs/2024/fq/S{index}_S1_L001_R2_001.fastq.gz")
        pipe.put(f"runs/2024/fq/S{index}.md5")
    return singles + 3 * pairs


def starter_records(pipe):
    """Read set keys, once per stream record (new since the last call) the starter's filter lets through."""
    from support.pipeline import matches_filter

    return Counter(
        tracking.deserialize(r["dynamodb"]["NewImage"])["pk"]
        for r in pipe.stream_records()
        if matches_filter(tracking.STARTER_FILTER_PATTERN, r)
    )


def small_pages():
    """The CLI's S3 client lists ``LIST_PAGE`` versions a page; returns the pages' markers."""
    pages = []

    def limit(params, **_):
        params["MaxKeys"] = LIST_PAGE
        pages.append(params.get("KeyMarker"))

    clients.client("s3").meta.events.register("provide-client-params.s3.ListObjectVersions", limit)
    return pages


def test_backfill_sends_every_object_once_and_again_changes_nothing(pipe, capsys):
    total = fill(pipe)
    pipe.put("runs/2024/fq/S0_S1_L001_R1_001.fastq.gz")  # a newer version: the old one is noncurrent
    pipe.put("elsewhere/x.ubam")  # outside the prefix
    pages = small_pages()
    args = ("backfill", f"s3://{BUCKET}/runs/", "--table", TABLE, "--intake-function", INTAKE, "--rate", "1e6")
    started = time.monotonic()
    code, out, err = cli(capsys, *args, "--progress-every", str(PROGRESS_EVERY))
    seconds = time.monotonic() - started
    assert code == 0, (out, err)
    assert len(pages) == -(-(total + 1) // LIST_PAGE) > 2  # every version under runs/, the noncurrent one too
    assert err.splitlines()[-1] == f"sent {total:,}/{total:,}"
    assert len(err.splitlines()) == -(-total // PROGRESS_EVERY) > 2
    singles = total - 60
    assert (
        f"{total:,} objects sent: {total:,} recorded (QUEUED {singles + 20:,}, WAITING_FOR_MATE 20, SKIPPED 20)" in out
    )
    assert "0 already tracked (unchanged), 0 not recorded" in out
    assert "1 noncurrent versions and 0 delete markers not sent" in out
    print(f"direct backfill: {total:,} objects in {seconds:.1f} s ({total / seconds:.0f} objects/s on moto)")
    objects = pipe.objects()
    assert len(pipe.items(tracking.KIND_OBJECT)) == total and "elsewhere/x.ubam" not in objects
    fastq = objects["runs/2024/fq/S0_S1_L001_R1_001.fastq.gz"]
    assert fastq["sk"] == f"V#{pipe.s3.head_object(Bucket=BUCKET, Key=fastq['key'])['VersionId']}"  # the current
    queued = starter_records(pipe)
    assert len(queued) == singles + 20 and set(queued.values()) == {1}  # each read set reaches the starter once
    before = snapshot(pipe)
    code, out, err = cli(capsys, *args)
    assert code == 0, (out, err)
    assert f"{total:,} objects sent: 0 recorded, {total:,} already tracked (unchanged), 0 not recorded" in out
    assert snapshot(pipe) == before
    assert starter_records(pipe) == Counter()  # since the first run: nothing new reached the starter


def test_a_small_backfill_is_imported_once(pipe, capsys):
    fill(pipe, singles=3, pairs=2)
    args = ("backfill", f"s3://{BUCKET}/runs/", "--table", TABLE, "--intake-function", INTAKE)
    assert cli(capsys, *args)[0] == 0
    run_without_state_machine(pipe)
    assert len(pipe.double.read_sets) == 5
    assert sorted(o["status"] for o in pipe.items(tracking.KIND_OBJECT)) == ["IMPORTED"] * 7 + ["SKIPPED"] * 2
    before = snapshot(pipe)
    assert cli(capsys, *args)[0] == 0
    run_without_state_machine(pipe)
    assert snapshot(pipe) == before and len(pipe.double.read_sets) == 5


def test_dry_run_counts_what_is_tracked_prints_the_plan_and_sends_nothing(pipe, capsys):
    pipe.upload(["old/A_R1.fastq.gz", "old/A_R2.fastq.gz"])  # tracked already
    pipe.put("old/B.ubam")
    before = snapshot(pipe)
    code, out, err = cli(capsys, "backfill", f"s3://{BUCKET}/old/", "--table", TABLE, "--dry-run")
    assert code == 0, (out, err)
    assert "dry run: 3 objects under s3://sequencing-runs/old/: 2 already tracked (would change nothing), 1 new" in out
    assert "would be sent directly, at most 50 objects/s" in out
    assert "READ SETS (2)" in out and "2 read sets from 3 files" in out  # what `plan` prints
    assert snapshot(pipe) == before and pipe.counts.invocations["intake"] == 1


def test_a_transient_answer_is_sent_again(pipe, capsys, monkeypatch):
    pipe.put("t/a.ubam")
    pipe.put("t/b.ubam")
    real, calls = backfill.invoke_intake, []

    def flaky(function, event):
        calls.append(len(event["tasks"]))
        results = real(function, event)
        if len(calls) == 1:  # the first answer for b: throttled, as Batch Operations could see it
            results[1] = {**results[1], "resultCode": "TemporaryFailure", "resultString": "transient: Throttling"}
        return results

    monkeypatch.setattr(backfill, "invoke_intake", flaky)
    code, out, _ = cli(
        capsys, "backfill", f"s3://{BUCKET}/t/", "--table", TABLE, "--intake-function", INTAKE, "--rate", "1e6"
    )
    assert code == 0, out
    assert calls == [2, 1]
    assert "2 objects sent: 1 recorded (QUEUED 1), 1 already tracked" in out  # a was sent; b on the retry
    assert {k: v["status"] for k, v in pipe.objects().items()} == {"t/a.ubam": "QUEUED", "t/b.ubam": "QUEUED"}


def test_pace_keeps_the_rate():
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pace = backfill.Pace(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        pace.wait_for(25)
    assert now[0] == pytest.approx(7.5)  # 75 objects before the last batch: 7.5 s at 10/s


# ---------------------------------------------------------------- S3 Batch Operations


class BatchOperations:
    """The s3control client of the CLI (a Stubber: botocore checks every request against
    the model's shapes; ``shape_errors`` adds its enums and patterns), and the job run as
    AWS documents it: each manifest line one schema 2.0 invocation of intake, then the
    completion report under the job's report prefix."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.client = boto3.client("s3control", region_name=REGION)
        self.model = self.client.meta.service_model
        self.requests = {}
        self.client.meta.events.register("provide-client-params.s3-control.*", self._capture)
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        clients.override("s3control", self.client)

    def _capture(self, params, model, **_):
        self.requests[model.name] = dict(params)
        problems = shape_errors(model.input_shape, params)
        assert problems == [], problems

    def expect_create(self, job_id):
        self.stubber.add_response("create_job", {"JobId": job_id})

    def run(self, job_id, request):
        """Run the job the CreateJob request describes; answer DescribeJob as it ends."""
        location = request["Manifest"]["Location"]["ObjectArn"].split(":::", 1)[1]
        bucket, _, key = location.partition("/")
        body = self.pipe.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        rows, failed = [], 0
        for number, line in enumerate(csv.reader(io.StringIO(body))):
            task = {
                "taskId": f"task-{number}",
                "s3BucketName": line[0],
                "s3Key": line[1],
                "s3VersionId": line[2] if len(line) > 2 else None,
            }
            event = {
                "invocationSchemaVersion": "2.0",
                "invocationId": f"inv-{number}",
                "job": {"id": job_id, "userArguments": {}},
                "tasks": [task],
            }
            (result,) = self.pipe.invoke("intake", event)["results"]
            ok = result["resultCode"] == "Succeeded"
            failed += not ok
            rows.append(
                [
                    line[0],
                    line[1],
                    task["s3VersionId"] or "",
                    "succeeded" if ok else "failed",
                    "200" if ok else result["resultCode"],
                    "200" if ok else "500",
                    result["resultString"],
                ]
            )
        report = request["Report"]
        report_bucket = report["Bucket"].split(":::", 1)[1]
        results_key = f"{report['Prefix']}/job-{job_id}/results/0a1b2c.csv"
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        self.pipe.s3.put_object(Bucket=report_bucket, Key=results_key, Body=out.getvalue().encode())
        self.pipe.s3.put_object(
            Bucket=report_bucket,
            Key=f"{report['Prefix']}/job-{job_id}/manifest.json",
            Body=json.dumps(
                {
                    "Format": "Report_CSV_20180820",
                    "ReportCreationDate": "2019-04-05T17:48:39.725Z",
                    "Results": [
                        {
                            "TaskExecutionStatus": "succeeded",
                            "Bucket": report_bucket,
                            "MD5Checksum": "83b1c4cbe93fc893f54053697e10fd6e",
                            "Key": results_key,
                        }
                    ],
                    "ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage",
                }
            ).encode(),
        )
        job = {
            "JobId": job_id,
            "Status": "Complete",
            "Priority": request["Priority"],
            "RoleArn": request["RoleArn"],
            "Report": report,
            "Manifest": request["Manifest"],
            "Operation": request["Operation"],
            "ProgressSummary": {
                "TotalNumberOfTasks": len(rows),
                "NumberOfTasksSucceeded": len(rows) - failed,
                "NumberOfTasksFailed": failed,
            },
        }
        self.stubber.add_response("describe_job", {"Job": job}, {"AccountId": ACCOUNT, "JobId": job_id})


def test_a_batch_operations_job_imports_from_a_manifest_and_reports(pipe, capsys):
    pipe.s3.create_bucket(Bucket=BATCH_BUCKET)
    fill(pipe, singles=10, pairs=10)
    pipe.upload(["runs/2024/fq/S0_S1_L001_R1_001.fastq.gz"])  # its event came: tracked already
    ops = BatchOperations(pipe)
    job_id = "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"
    ops.expect_create(job_id)
    target = ("--table", TABLE, "--intake-function", INTAKE, "--role-arn", BATCH_ROLE, "--batch-bucket", BATCH_BUCKET)
    code, out, err = cli(capsys, "backfill", f"s3://{BUCKET}/runs/", *target, "--batch-operations")
    assert code == 0, (out, err)
    assert f"Batch Operations job {job_id} created" in out
    assert f"omics-autoload backfill --job {job_id} --table {TABLE}" in out
    request = ops.requests["CreateJob"]
    assert request["Operation"] == {
        "LambdaInvoke": {
            "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{INTAKE}",
            "InvocationSchemaVersion": "2.0",
        }
    }
    assert request["Manifest"]["Spec"] == {
        "Format": "S3BatchOperations_CSV_20180820",
        "Fields": ["Bucket", "Key", "VersionId"],
    }
    assert request["Report"]["Bucket"] == f"arn:aws:s3:::{BATCH_BUCKET}" and request["RoleArn"] == BATCH_ROLE
    assert request["AccountId"] == ACCOUNT and request["ConfirmationRequired"] is False
    manifest_key = request["Manifest"]["Location"]["ObjectArn"].split("/", 1)[1]
    head = pipe.s3.head_object(Bucket=BATCH_BUCKET, Key=manifest_key)
    assert head["ETag"] == request["Manifest"]["Location"]["ETag"]
    ops.run(job_id, request)
    code, out, err = cli(capsys, "backfill", "--job", job_id, *target)
    assert code == 0, (out, err)
    assert f"Batch Operations job {job_id}: Complete; 40 tasks, 0 failed" in out
    assert "40 objects sent: 39 recorded (QUEUED 20, WAITING_FOR_MATE 9, SKIPPED 10), 1 already tracked" in out
    run_without_state_machine(pipe)
    assert len(pipe.double.read_sets) == 20
    assert {o["status"] for o in pipe.items(tracking.KIND_OBJECT)} == {tracking.IMPORTED, tracking.SKIPPED}
    ops.stubber.assert_no_pending_responses()


def test_the_job_needs_the_construct_s_role_and_bucket(pipe, capsys):
    pipe.put("a/x.ubam")
    code, _, err = cli(capsys, "backfill", f"s3://{BUCKET}/a/", "--table", TABLE, "--batch-operations")
    assert code == 2 and "OmicsAutoLoad(batch_operations=True)" in err
    assert pipe.items() == []


def test_usage_errors(pipe, capsys):
    code, _, err = cli(capsys, "backfill", "--table", TABLE)
    assert code == 2 and "give the s3://bucket/prefix" in err
    code, _, err = cli(capsys, "backfill", "nope", "--table", TABLE)
    assert code == 2 and "not an s3://bucket/prefix" in err
    code, _, err = cli(capsys, "backfill", "--job", "j-1", f"s3://{BUCKET}/", "--table", TABLE)
    assert code == 2 and "--job summarises" in err
