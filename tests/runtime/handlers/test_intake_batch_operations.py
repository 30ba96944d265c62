"""The intake function invoked by S3 Batch Operations (``LambdaInvoke``): schema 1.0 and
2.0 invocations, answered per task as the AWS documentation of the operation shows."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError
from omics_autoload_runtime.adapters import tracking
from support.pipeline import BUCKET, EmfLog, Pipeline


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        EmfLog().install()
        yield pipeline


def schema_1(*tasks):
    """As AWS documents the 1.0 request: bucket ARN, URL-encoded key."""
    return {
        "invocationSchemaVersion": "1.0",
        "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "job": {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"},
        "tasks": [
            {"taskId": f"t{i}", "s3Key": quote(key), "s3VersionId": version, "s3BucketArn": f"arn:aws:s3:::{BUCKET}"}
            for i, (key, version) in enumerate(tasks)
        ],
    }


def schema_2(*tasks):
    """The 2.0 request: bucket name, userArguments under job."""
    return {
        "invocationSchemaVersion": "2.0",
        "invocationId": "Jr3s8KZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmJ",
        "job": {"id": "ry77cd60-61f6-4a2b-8a21-d07600c874gf", "userArguments": {"k1": "v1"}},
        "tasks": [
            {"taskId": f"t{i}", "s3BucketName": BUCKET, "s3Key": quote(key), "s3VersionId": version}
            for i, (key, version) in enumerate(tasks)
        ],
    }


@pytest.mark.parametrize("make", [schema_1, schema_2], ids=["schema 1.0", "schema 2.0"])
def test_each_task_is_answered_and_its_object_tracked(pipe, make):
    a = pipe.put("run 7/A_R1.fastq.gz")
    b = pipe.put("run 7/A_R2.fastq.gz")
    pipe.put("run 7/notes.txt")
    event = make((a.key, a.version_id), (b.key, b.version_id), ("run 7/notes.txt", None))
    answer = pipe.invoke("intake", event)
    assert answer == {
        "invocationSchemaVersion": event["invocationSchemaVersion"],
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event["invocationId"],
        "results": [
            {"taskId": "t0", "resultCode": "Succeeded", "resultString": "WAITING_FOR_MATE"},
            {"taskId": "t1", "resultCode": "Succeeded", "resultString": "QUEUED"},
            {"taskId": "t2", "resultCode": "Succeeded", "resultString": "SKIPPED"},
        ],
    }
    objects = pipe.objects()
    assert objects["run 7/A_R1.fastq.gz"]["status"] == tracking.QUEUED  # the pair, queued together
    assert objects["run 7/A_R1.fastq.gz"]["sk"] == f"V#{a.version_id}"
    assert objects["run 7/A_R1.fastq.gz"]["size"] == a.size and objects["run 7/A_R1.fastq.gz"]["eTag"] == a.etag
    assert objects["run 7/notes.txt"]["status"] == tracking.SKIPPED
    # the same tasks again (Batch Operations retries, a second backfill): nothing changes
    before = pipe.items()
    again = pipe.invoke("intake", event)
    assert [r["resultString"] for r in again["results"]] == ["DUPLICATE"] * 3
    assert pipe.items() == before


def test_a_task_without_a_version_tracks_the_current_one(pipe):
    pipe.put("v/x.ubam", b"old")
    current = pipe.put("v/x.ubam", b"newer")
    pipe.invoke("intake", schema_2(("v/x.ubam", None)))
    assert pipe.objects()["v/x.ubam"]["sk"] == f"V#{current.version_id}"


def test_a_missing_object_and_a_malformed_task_are_permanent_failures(pipe):
    event = schema_2(("gone/never-uploaded.ubam", None))
    event["tasks"].append({"taskId": "bad", "s3Key": ""})
    answer = pipe.invoke("intake", event)
    assert [(r["taskId"], r["resultCode"]) for r in answer["results"]] == [
        ("t0", "PermanentFailure"),
        ("bad", "PermanentFailure"),
    ]
    assert "HeadObject" in answer["results"][0]["resultString"]
    assert "malformed task" in answer["results"][1]["resultString"]
    assert pipe.items() == []


def test_a_throttled_write_is_a_temporary_failure_then_the_retry_records_it(pipe, monkeypatch):
    stored = pipe.put("t/y.ubam")
    real = tracking.Tracking.put_object

    def throttled(self, item):
        raise ClientError(
            {
                "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "PutItem",
        )

    monkeypatch.setattr(tracking.Tracking, "put_object", throttled)
    answer = pipe.invoke("intake", schema_1((stored.key, stored.version_id)))
    (result,) = answer["results"]
    assert result["resultCode"] == "TemporaryFailure"
    assert "ProvisionedThroughputExceededException" in result["resultString"]
    assert pipe.items() == []
    monkeypatch.setattr(tracking.Tracking, "put_object", real)
    answer = pipe.invoke("intake", schema_1((stored.key, stored.version_id)))  # Batch Operations' retry
    assert answer["results"][0]["resultCode"] == "Succeeded"
    assert pipe.objects()["t/y.ubam"]["status"] == tracking.QUEUED


def test_an_access_denied_write_is_reported_not_retried(pipe, monkeypatch):
    stored = pipe.put("t/z.ubam")

    def refused(self, item):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutItem")

    monkeypatch.setattr(tracking.Tracking, "put_object", refused)
    (result,) = pipe.invoke("intake", schema_2((stored.key, stored.version_id)))["results"]
    assert result["resultCode"] == "PermanentFailure"
    assert result["resultString"] == "AccessDeniedException while recording the object"


def test_a_key_batch_operations_sent_unencoded_is_found_too(pipe):
    pipe.put("odd/100%25 done.ubam")  # a literal "%25" in the key
    event = schema_2(("x", None))
    event["tasks"][0]["s3Key"] = "odd/100%25 done.ubam"  # decodes to "100% done", which does not exist
    (result,) = pipe.invoke("intake", event)["results"]
    assert result["resultCode"] == "Succeeded"
    assert "odd/100%25 done.ubam" in pipe.objects()
