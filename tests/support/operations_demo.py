"""A small pipeline run against moto, then `omics-autoload status` and `redrive --dry-run`.

The README's operations section shows this script's output::

    cd tests && PYTHONPATH=../lambda:. python -m support.operations_demo

Files: a paired Illumina sample and a uBAM are imported, a notes file is skipped, one
uBAM fails in HealthOmics, one R1 waits for its mate, and one uBAM stays QUEUED (its
stream record is lost) long enough to count as stuck.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from typing import Any

from omics_autoload_runtime import cli
from omics_autoload_runtime.adapters import tracking

from support.pipeline import ACCOUNT, BUCKET, REGION, TABLE, Pipeline

INTAKE = "SequencingIngest-AutoLoadIntakeFunction4FF13CEC-Ab12Cd34"


def dead_letter(pipe: Pipeline) -> str:
    """The intake's dead-letter queue, holding one S3 event whose retries ran out."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="SequencingIngest-AutoLoadIntakeDeadLetterQueueC71C3DE8-X1y2")["QueueUrl"]
    stored = pipe.put("runs/240102_A01/NA12893.ubam")
    record = {
        "version": "1.0",
        "timestamp": tracking.iso(),
        "requestContext": {
            "requestId": "c2a6f2f4-3d4e-4c2b-9d53-2d1f1e0b8c55",
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{INTAKE}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"Records": [pipe.s3_record(stored, BUCKET)]},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "ProvisionedThroughputExceededException"},
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    return url


TOPIC = "arn:aws:sns:us-east-1:123456789012:SequencingIngest-AutoLoadAlarmTopic"
LOG_FIELDS = ("event", "key", "status", "reason", "importJobId", "readSetId")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _notices_queue() -> str:
    import boto3

    sns = boto3.client("sns", region_name=REGION)
    sns.create_topic(Name=TOPIC.rsplit(":", 1)[-1])
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="notices")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=arn)
    return url


def run_demo() -> dict[str, Any]:
    import boto3

    env = {"STUCK_AFTER_SECONDS": "3600", "NOTIFICATION_TOPIC_ARN": TOPIC}
    records = _Records()
    logging.getLogger("omics_autoload_runtime").addHandler(records)
    with Pipeline(state_machine=True, env=env) as pipe:
        notices_url = _notices_queue()
        pipe.double.fail_source("bad.ubam", "Invalid BAM: EOF marker missing")
        pipe.upload(
            [
                "runs/240101_A01/NA12878_S1_L001_R1_001.fastq.gz",
                "runs/240101_A01/NA12878_S1_L001_R2_001.fastq.gz",
                "runs/240101_A01/NA12891.ubam",
                "runs/240101_A01/bad.ubam",
                "runs/240101_A01/notes.txt",
            ]
        )
        pipe.run()
        pipe.upload(["runs/240102_A01/NA12892_S3_L001_R1_001.fastq.gz", "runs/240102_A01/late.ubam"])
        pipe.stream_records()  # the starter never sees late.ubam: it stays QUEUED
        pipe.double.advance(2 * 3600)
        queue_url = dead_letter(pipe)
        outputs = {}
        for name, argv in (
            ("status", ["status", "--table", TABLE, "--stuck-after", "1"]),
            ("status_json", ["status", "--table", TABLE, "--stuck-after", "1", "--format", "json"]),
            ("redrive_dry_run", ["redrive", "--table", TABLE, "--dry-run"]),
            (
                "redrive_dlq_dry_run",
                ["redrive", "--table", TABLE, "--queue-url", queue_url, "--intake-function", INTAKE, "--dry-run"],
            ),
        ):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(argv)
            outputs[name] = {"argv": argv, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        outputs["objects"] = {k: v["status"] for k, v in pipe.objects().items()}
        outputs["clock"] = tracking.iso()
        sqs = boto3.client("sqs", region_name=REGION)
        outputs["notices"] = [
            json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=notices_url).get("Messages", [])
        ]
    logging.getLogger("omics_autoload_runtime").removeHandler(records)
    outputs["failed_log"] = [
        {"level": r.levelname, "message": r.getMessage(), **{f: getattr(r, f) for f in LOG_FIELDS if hasattr(r, f)}}
        for r in records.records
        if getattr(r, "event", None) == "file_failed"
    ]
    return outputs


def main() -> None:
    outputs = run_demo()
    for name in ("status", "redrive_dry_run", "redrive_dlq_dry_run"):
        result = outputs[name]
        print(f"$ omics-autoload {' '.join(result['argv'])}")
        print(result["stdout"], end="")
        print(result["stderr"], end="")
        print(f"(exit {result['code']})\n")
    print(json.dumps(json.loads(outputs["status_json"]["stdout"]), indent=2)[:3000])
    for notice in outputs["notices"]:
        print(f"\nSNS Subject: {notice['Subject']}\n{notice['Message']}")
    for line in outputs["failed_log"]:
        print("\n" + json.dumps(line))


if __name__ == "__main__":
    main()
