"""Issue 6 end to end, through the synthesized import state machine run by moto: a failed
import is noticed on SNS, `omics-autoload redrive` sends it round again and it ends
IMPORTED; every metric reaches the log (EMF lines) with the dimensions the construct's
alarms and dashboard read; the post-import action honours success and failure; and the
CLI finds the table, queues and functions in the synthesized stack's resources."""

from __future__ import annotations

import contextlib
import io
import json

import boto3
import pytest
from omics_autoload_runtime import cli
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.cli.deployment import deployment_from_resources
from omics_autoload_runtime.contract import Metric
from omics_autoload_runtime.logic import post_import
from support.pipeline import BUCKET, REGION, TABLE, EmfLog, Pipeline

TOPIC = "arn:aws:sns:us-east-1:123456789012:omics-autoload-alarms"
NAMESPACE = "OmicsAutoLoadTest"


def subscribe_queue(pipe: Pipeline) -> str:
    sns = boto3.client("sns", region_name=REGION)
    sns.create_topic(Name=TOPIC.rsplit(":", 1)[-1])
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="failure-notices")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=arn)
    return url


def received(url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_a_failed_import_is_noticed_then_redriven_to_imported():
    files = ["e2e/a.ubam", "e2e/S1_R1.fq.gz", "e2e/S1_R2.fq.gz"]
    with Pipeline(state_machine=True, env={"NOTIFICATION_TOPIC_ARN": TOPIC}) as pipe:
        notices = subscribe_queue(pipe)
        pipe.double.fail_next_job("Insufficient permissions to read s3://sequencing-runs/e2e/")
        for key in files:
            pipe.put(key, tags={"SampleId": "SAMPLE-SECRET", "SubjectId": "SUBJECT-SECRET"})
        pipe.deliver(pipe._stored)
        pipe.run()
        objects = pipe.objects()
        assert {objects[k]["status"] for k in files} == {tracking.FAILED}
        job = objects["e2e/a.ubam"]["importJobId"]

        got = received(notices)
        assert sorted(line for n in got for line in n["Message"].splitlines() if line.startswith("Object:")) == [
            f"Object:         s3://{BUCKET}/{k}" for k in sorted(files)
        ]
        for notice in got:
            assert "Insufficient permissions" in notice["Message"] and f"Import job:     {job}" in notice["Message"]
            assert "SECRET" not in notice["Message"] and len(notice["Subject"]) < 100

        code, out, err = run_cli("status", "--table", TABLE, "--format", "json")
        assert code == 0, err
        report = json.loads(out)
        assert report["counts"]["objects"]["FAILED"] == 3 and report["counts"]["readSets"]["FAILED"] == 2
        assert {f["key"] for f in report["failed"]} == {f"s3://{BUCKET}/{k}" for k in files}
        assert {f["importJobId"] for f in report["failed"]} == {job}

        code, out, err = run_cli("redrive", "--table", TABLE)
        assert code == 0, err
        assert "2 redriven" in out
        pipe.run()
        objects = pipe.objects()
        assert {objects[k]["status"] for k in files} == {tracking.IMPORTED}
        assert len(pipe.double.read_sets) == 2  # each read set imported once, on its second attempt
        assert {rs["attempt"] for rs in pipe.items(tracking.KIND_READSET)} == {1}
        assert received(notices) == []  # nothing failed the second time
        code, out, _ = run_cli("redrive", "--table", TABLE)
        assert code == 0 and "0 redriven" in out


def test_every_metric_reaches_the_log_with_the_alarm_dimensions():
    env = {"STUCK_AFTER_SECONDS": "3600"}
    with Pipeline(state_machine=True, env=env) as pipe:
        log = EmfLog().install()
        pipe.double.fail_source("bad.ubam", "Invalid BAM: EOF marker missing")
        pipe.upload(["m/good.ubam", "m/bad.ubam", "m/P_R1.fq.gz", "m/P_R2.fq.gz", "m/notes.txt"])
        pipe.run()
        pipe.upload(["m/lonely_R1.fq.gz", "m/late.ubam"])
        pipe.stream_records()  # late.ubam's stream record is lost: it stays QUEUED
        pipe.double.advance(2 * 3600)
        pipe.sweep()
        pipe.reconcile()  # UntrackedObjects: every object here was tracked, so 0

        store = {"SequenceStoreId": pipe.store_id}
        rollup = {tuple(store.items())}
        for name in [str(m) for m in Metric]:
            # the one dimension set metric_*(), the alarms and the dashboard read
            assert log.dimension_sets(name) == rollup, (name, log.dimension_sets(name))
        assert {d["namespace"] for d in log.datums()} == {NAMESPACE}
        assert sum(log.exact("FilesReceived", **store)) == 7
        assert sum(log.exact("FilesSkipped", **store)) == 1
        assert sum(log.exact("FilesImported", **store)) == 3
        assert sum(log.exact("FilesFailed", **store)) == 1
        sizes = sum(o["size"] for o in pipe.objects().values() if o["status"] == tracking.IMPORTED)
        assert sum(log.exact("BytesImported", **store)) == sizes
        latencies = log.exact("ImportLatencySeconds", **store)
        assert len(latencies) == 3 and 0 < max(latencies) < 3600
        assert max(log.exact("ReadSetsWaitingForMate", **store)) == 1
        assert max(log.exact("StuckItems", **store)) == 1
        # the details are fields of the lines (Logs Insights), not metrics of their own
        assert log.total("FilesSkipped", Reason="NotSequence") == 1
        assert log.total("FilesFailed", FileType="UBAM") == 1
        # nothing was sent to CloudWatch's API: the lines are the only channel
        assert boto3.client("cloudwatch", region_name=REGION).list_metrics(Namespace=NAMESPACE)["Metrics"] == []


@pytest.mark.parametrize("action", ["TAG", "DELETE"])
def test_post_import_action_on_success_only(action):
    with Pipeline(state_machine=True, env={"POST_IMPORT_ACTION": action}) as pipe:
        pipe.double.fail_source("bad.ubam", "Invalid BAM: EOF marker missing")
        pipe.upload(["pi/good.ubam", "pi/bad.ubam"])
        pipe.run()
        objects = pipe.objects()
        assert objects["pi/good.ubam"]["status"] == tracking.IMPORTED
        assert objects["pi/bad.ubam"]["status"] == tracking.FAILED
        assert objects["pi/good.ubam"]["postImport"] == "DONE"
        assert objects["pi/good.ubam"]["postImportAction"] == action
        assert "postImport" not in objects["pi/bad.ubam"]
        versions = pipe.s3.list_object_versions(Bucket=BUCKET, Prefix="pi/")
        markers = {m["Key"] for m in versions.get("DeleteMarkers", [])}

        def tags(key: str) -> dict[str, str]:
            found = pipe.s3.get_object_tagging(Bucket=BUCKET, Key=key, VersionId=objects[key]["versionId"])
            return {t["Key"]: t["Value"] for t in found["TagSet"]}

        assert tags("pi/bad.ubam") == {}
        if action == "TAG":
            assert markers == set()
            assert tags("pi/good.ubam") == {
                post_import.READ_SET_ID_TAG: objects["pi/good.ubam"]["readSetId"],
                post_import.IMPORTED_TAG: "true",
            }
        else:
            assert markers == {"pi/good.ubam"}


def test_the_cli_finds_everything_in_the_synthesized_stack():
    from support.synth import example_template

    resources = [
        {"LogicalResourceId": logical, "PhysicalResourceId": f"physical-{logical}", "ResourceType": r["Type"]}
        for logical, r in example_template()["Resources"].items()
    ]
    deployment = deployment_from_resources(resources, "SequencingIngest")
    assert deployment.table.startswith("physical-AutoLoadTracking")
    assert deployment.intake_function and "IntakeFunction" in deployment.intake_function
    assert deployment.completion_function and "CompletionFunction" in deployment.completion_function
    assert {q.role: bool(q.function) for q in deployment.queues} == {"intake": True, "starter": False, "workflow": True}
    assert {q.role: q.function for q in deployment.queues}["workflow"] == deployment.completion_function


def _operations_section() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = text.index("\n## Operations\n")
    return text[start : text.index("\n## ", start + 1)]


def test_the_readme_operations_section_names_every_metric_and_widget():
    from omics_autoload_runtime.contract import Metric

    section = _operations_section()
    for name in Metric:
        assert f"| `{name}` |" in section, name
    for title in ("Files per hour", "Bytes imported per hour", "Backlog", "Import workflow", "Latest failures"):
        assert title in section, title
    for alarm in ("ImportFailures", "DeadLetters", "StuckItems", "ExecutionsFailed", "ExecutionsTimedOut"):
        assert f"`{alarm}`" in section, alarm


def test_the_readme_shows_the_real_cli_output():
    """The captures are this script's output (uuids and times aside): regenerate them with
    `cd tests && PYTHONPATH=../lambda:. python -m support.operations_demo` when this fails."""
    import re

    from support import operations_demo

    outputs = operations_demo.run_demo()

    def normal(text: str) -> str:
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
        return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.?\d*Z", "<time>", text)

    section = normal(_operations_section())
    for name in ("status", "redrive_dry_run", "redrive_dlq_dry_run"):
        result = outputs[name]
        assert result["code"] == 0, result
        capture = f"$ omics-autoload {' '.join(result['argv'])}\n{result['stdout']}(exit 0)"
        assert normal(capture) in section, name
    (notice,) = outputs["notices"]
    assert normal(notice["Message"]) in section
