"""Issue 6 in the handlers: roll-up metrics and gauges, failure notices, structured logs
without identifiers, the post-import action (TAG, DELETE, PENDING then the sweep)."""

from __future__ import annotations

import json
import logging

import boto3
import pytest
from omics_autoload_runtime.adapters import clients, metrics, notices, tracking
from omics_autoload_runtime.logic import post_import
from support.emf import parse
from support.pipeline import (
    BUCKET,
    REGION,
    TABLE,
    EmfLog,
    Pipeline,
    RecordingStepFunctions,
    _starter_inputs,
    exact_total,
    run_without_state_machine,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:omics-autoload-alarms"
SECRET_SAMPLE, SECRET_SUBJECT = "SAMPLE-7Q2X", "PATIENT-93K1"
TAGS = {"SampleId": SECRET_SAMPLE, "SubjectId": SECRET_SUBJECT}


def pipeline(**env):
    pipe = Pipeline(env={"NOTIFICATION_TOPIC_ARN": TOPIC, **env})
    pipe.__enter__()
    pipe.metric_log = EmfLog().install()
    clients.override("stepfunctions", RecordingStepFunctions())
    sns = boto3.client("sns", region_name=REGION)
    sns.create_topic(Name=TOPIC.rsplit(":", 1)[-1])
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="notices")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"})
    pipe.notices_url = url
    return pipe


@pytest.fixture
def pipe():
    p = pipeline()
    yield p
    p.__exit__(None, None, None)


def received_notices(pipe):
    sqs = boto3.client("sqs", region_name=REGION)
    out = []
    while True:
        messages = sqs.receive_message(QueueUrl=pipe.notices_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=pipe.notices_url, ReceiptHandle=message["ReceiptHandle"])


def tagging(pipe, key):
    item = pipe.objects()[key]
    found = pipe.s3.get_object_tagging(Bucket=BUCKET, Key=key, VersionId=item["versionId"])
    return {t["Key"]: t["Value"] for t in found["TagSet"]}


# ------------------------------------------------------------------ metrics


def test_every_metric_has_the_one_dimension_set_the_alarms_read():
    m = metrics.Metrics("NS")
    m.count("FilesSkipped", dimensions={"SequenceStoreId": "s1", "Reason": "Empty"})
    m.count("FilesSkipped", dimensions={"SequenceStoreId": "s1", "Reason": "NotSequence"})
    m.count("FilesSkipped", dimensions={"SequenceStoreId": "s1", "Reason": "Empty"})
    m.add("BytesImported", 10, unit="Bytes", dimensions={"SequenceStoreId": "s1", "FileType": "UBAM"})
    m.count("FilesReceived", 3, dimensions={"SequenceStoreId": "s1"})
    log = EmfLog().install()
    try:
        assert m.flush() == 4  # one line per group of detail fields
    finally:
        log.uninstall()
    for name in ("FilesSkipped", "BytesImported", "FilesReceived"):
        assert log.dimension_sets(name) == {(("SequenceStoreId", "s1"),)}, name
    assert log.exact("FilesSkipped", SequenceStoreId="s1") == [2.0, 1.0]  # counters are summed per line
    assert log.total("FilesSkipped", Reason="Empty") == 2  # the detail is a field of the line
    assert log.exact("FilesReceived", SequenceStoreId="s1") == [3.0]
    record = json.loads(log.lines[0])
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "NS"
    assert isinstance(record["_aws"]["Timestamp"], int)


def test_more_than_100_samples_are_split_over_lines():
    m = metrics.Metrics("NS")
    for i in range(250):
        m.add("ImportLatencySeconds", i, unit="Seconds", dimensions={"SequenceStoreId": "s1"})
    log = EmfLog().install()
    try:
        assert m.flush() == 3
    finally:
        log.uninstall()
    assert sorted(log.exact("ImportLatencySeconds", SequenceStoreId="s1")) == [float(i) for i in range(250)]
    assert all(len(json.loads(line)["ImportLatencySeconds"]) <= 100 for line in log.lines)


def test_a_metric_that_cannot_be_written_never_fails_the_handler():
    def broken(line: str) -> None:
        raise OSError("stdout closed")

    m = metrics.Metrics("NS")
    m.count("FilesReceived", dimensions={"SequenceStoreId": "s1"})
    metrics.set_output(broken)
    try:
        assert m.flush() == 0
    finally:
        metrics.set_output(None)


def test_the_sweep_publishes_waiting_and_stuck_gauges():
    pipe = pipeline(STUCK_AFTER_SECONDS="3600")
    try:
        store = {"SequenceStoreId": pipe.store_id}
        pipe.sweep()
        assert exact_total(pipe.metric_log, "ReadSetsWaitingForMate", **store) == 0  # zero is published too
        pipe.upload(["g/A_R1.fq.gz", "g/late.ubam"])  # one mate waiting; late.ubam never started
        pipe.double.advance(2 * 3600)
        stats = pipe.sweep()["sweep"]
        assert stats["waitingForMate"] == 1
        assert stats["stuckItems"] == 1  # late.ubam (the mate waits within its orphan window)
        last = [d for d in parse(pipe.metric_log.lines[-1])]
        assert {d["name"]: list(d["dimensions"]) for d in last} == {
            "ReadSetsWaitingForMate": ["SequenceStoreId"],
            "StuckItems": ["SequenceStoreId"],
        }
        assert {d["name"]: d["values"] for d in last} == {"ReadSetsWaitingForMate": [1.0], "StuckItems": [1.0]}
    finally:
        pipe.__exit__(None, None, None)


# ------------------------------------------------------------------ notices


def test_each_failed_file_is_one_notice_with_no_identifiers(pipe):
    pipe.double.fail_source("bad", "Invalid BAM: EOF marker missing")
    pipe.put("n/bad1.ubam", tags=TAGS)
    pipe.put("n/bad2.ubam", tags=TAGS)
    pipe.put("n/good.ubam", tags=TAGS)
    pipe.deliver(pipe._stored[-3:])
    run_without_state_machine(pipe)
    got = received_notices(pipe)
    assert len(got) == 2
    for notice in got:
        assert notice["Subject"] == "omics-autoload: file failed to import" and len(notice["Subject"]) < 100
        text = notice["Message"]
        assert f"s3://{BUCKET}/n/bad" in text and "Invalid BAM: EOF marker missing" in text
        job = pipe.objects()["n/bad1.ubam"]["importJobId"]
        assert f"Import job:     {job}" in text
        assert SECRET_SAMPLE not in json.dumps(notice) and SECRET_SUBJECT not in json.dumps(notice)
        assert notice["MessageAttributes"]["event"]["Value"] == "file_failed"
    assert {line.split()[-1] for n in got for line in n["Message"].splitlines() if line.startswith("Object:")} == {
        f"s3://{BUCKET}/n/bad1.ubam",
        f"s3://{BUCKET}/n/bad2.ubam",
    }


def test_intake_failures_and_orphans_are_noticed_too(pipe, monkeypatch):
    from omics_autoload_runtime.logic import intake

    with monkeypatch.context() as patch:
        patch.setattr(intake.Intake, "_classify", lambda self, event, uri: 1 / 0)
        pipe.upload(["n/broken.ubam"])
    pipe.upload(["n/S_R1.fq.gz"])
    pipe.double.advance(86401)
    pipe.sweep()
    got = {n["Subject"]: n["Message"] for n in received_notices(pipe)}
    assert "ZeroDivisionError" in got["omics-autoload: file failed to import"]
    orphan = got["omics-autoload: file not imported (mate missing)"]
    assert f"s3://{BUCKET}/n/S_R1.fq.gz" in orphan and "Status:         SKIPPED" in orphan


def test_a_notice_that_cannot_be_published_never_fails_the_handler(pipe, caplog):
    class Down:
        def publish_batch(self, **_):
            raise RuntimeError("SNS is down")

    clients.override("sns", Down())
    pipe.double.fail_next_job("Access denied reading s3://sequencing-runs")
    pipe.upload(["n/a.ubam"])
    with caplog.at_level(logging.WARNING):
        run_without_state_machine(pipe)
    assert pipe.objects()["n/a.ubam"]["status"] == tracking.FAILED
    assert "could not publish 1 failure notice(s)" in caplog.text


def test_a_notice_stays_small_whatever_the_reason():
    notifier = notices.Notifier(TOPIC, sequence_store_id="1234567890", table_name=TABLE)
    entry = notifier.message("s3://b/" + "k" * 1024, "x" * 100_000, import_job_id="1", status="FAILED",
                             event=notices.FILE_FAILED)
    assert len(json.dumps(entry).encode()) < 8 * 1024  # ten of them fit one PublishBatch (256 KB)


# ------------------------------------------------------------------ logs


def _identifier_leaks(records):
    leaks = []
    for record in records:
        if record.levelno < logging.INFO:
            continue
        text = record.getMessage() + json.dumps({k: str(v) for k, v in record.__dict__.items()})
        if SECRET_SAMPLE in text or SECRET_SUBJECT in text:
            leaks.append(record)
    return leaks


@pytest.mark.parametrize("log_identifiers", [False, True])
def test_identifiers_are_logged_only_when_asked(caplog, log_identifiers):
    pipe = pipeline(LOG_IDENTIFIERS="true" if log_identifiers else "false")
    try:
        pipe.double.fail_source("bad", "Invalid BAM")
        pipe.put("l/good.ubam", tags=TAGS)
        pipe.put("l/bad.ubam", tags=TAGS)
        with caplog.at_level(logging.INFO, logger="omics_autoload_runtime"):
            pipe.deliver(pipe._stored[-2:])
            run_without_state_machine(pipe)
        events = {getattr(r, "event", None) for r in caplog.records}
        assert {"file_received", "file_imported", "file_failed"} <= events
        (failed,) = [r for r in caplog.records if getattr(r, "event", None) == "file_failed"]
        assert failed.key == f"s3://{BUCKET}/l/bad.ubam" and "Invalid BAM" in failed.reason
        assert failed.importJobId
        (imported,) = [r for r in caplog.records if getattr(r, "event", None) == "file_imported"]
        assert imported.readSetId and imported.importJobId
        leaks = _identifier_leaks(caplog.records)
        if log_identifiers:
            assert imported.sampleId == SECRET_SAMPLE and imported.subjectId == SECRET_SUBJECT
            assert leaks
        else:
            assert leaks == []
            assert not hasattr(imported, "sampleId")
    finally:
        pipe.__exit__(None, None, None)


# ------------------------------------------------------------------ post-import action


def test_tag_merges_into_the_imported_version_and_never_touches_failed_files():
    pipe = pipeline(POST_IMPORT_ACTION="TAG")
    try:
        pipe.double.fail_source("bad", "Invalid BAM")
        pipe.put("t/good.ubam", tags={"team": "genomics"})
        pipe.put("t/bad.ubam", tags={"team": "genomics"})
        pipe.put("t/full.ubam", tags={f"k{i}": "v" for i in range(9)})
        pipe.deliver(pipe._stored[-3:])
        run_without_state_machine(pipe)
        objects = pipe.objects()
        good = objects["t/good.ubam"]
        assert tagging(pipe, "t/good.ubam") == {
            "team": "genomics",
            post_import.READ_SET_ID_TAG: good["readSetId"],
            post_import.IMPORTED_TAG: "true",
        }
        assert good["postImport"] == "DONE" and good["postImportAction"] == "TAG" and good["postImportAt"]
        assert tagging(pipe, "t/bad.ubam") == {"team": "genomics"}
        assert "postImport" not in objects["t/bad.ubam"]
        full = objects["t/full.ubam"]
        assert full["postImport"] == "SKIPPED" and "S3 allows 10" in full["postImportNote"]
        assert tagging(pipe, "t/full.ubam") == {f"k{i}": "v" for i in range(9)}  # the user's tags kept
    finally:
        pipe.__exit__(None, None, None)


def test_delete_adds_a_delete_marker_only_for_imported_keys():
    pipe = pipeline(POST_IMPORT_ACTION="DELETE")
    try:
        pipe.double.fail_source("bad", "Invalid BAM")
        pipe.upload(["d/good.ubam", "d/bad.ubam"])
        run_without_state_machine(pipe)
        versions = pipe.s3.list_object_versions(Bucket=BUCKET, Prefix="d/")
        markers = {m["Key"] for m in versions.get("DeleteMarkers", []) if m["IsLatest"]}
        assert markers == {"d/good.ubam"}
        assert {v["Key"] for v in versions["Versions"]} == {"d/good.ubam", "d/bad.ubam"}  # still recoverable
        assert pipe.objects()["d/good.ubam"]["postImport"] == "DONE"
    finally:
        pipe.__exit__(None, None, None)


def test_delete_spares_a_key_uploaded_again_since():
    pipe = pipeline(POST_IMPORT_ACTION="DELETE")
    try:
        pipe.upload(["d/again.ubam"])
        (batch,) = _starter_inputs(pipe)
        out = pipe.invoke("import_start", batch)
        pipe.double.advance(700)
        pipe.double.advance(1)
        pipe.upload(["d/again.ubam"])  # a new version while the first was importing
        pipe.invoke("import_finalize", out)
        first = min(pipe.items(tracking.KIND_OBJECT), key=lambda i: i["receivedAt"])
        assert first["postImport"] == "SKIPPED" and "newer version" in first["postImportNote"]
        assert not pipe.s3.list_object_versions(Bucket=BUCKET, Prefix="d/").get("DeleteMarkers")
    finally:
        pipe.__exit__(None, None, None)


def test_a_read_set_not_active_yet_is_left_pending_then_the_sweep_finishes():
    pipe = pipeline(POST_IMPORT_ACTION="TAG")
    try:
        pipe.upload(["p/slow.ubam"])
        (batch,) = _starter_inputs(pipe)
        out = pipe.invoke("import_start", batch)
        pipe.double.advance(700)
        (read_set,) = pipe.double.read_sets.values()
        read_set["status"] = "ACTIVATING"
        pipe.invoke("import_finalize", out)
        item = pipe.objects()["p/slow.ubam"]
        assert item["status"] == tracking.IMPORTED and item["postImport"] == "PENDING"
        assert "ACTIVATING" in item["postImportNote"]
        assert tagging(pipe, "p/slow.ubam") == {}
        assert pipe.sweep()["sweep"]["postImportTried"] == 1  # still not ACTIVE: stays pending
        read_set["status"] = "ACTIVE"
        pipe.sweep()
        item = pipe.objects()["p/slow.ubam"]
        assert item["postImport"] == "DONE" and "postImportNote" not in item
        assert tagging(pipe, "p/slow.ubam")[post_import.READ_SET_ID_TAG] == read_set["id"]
        assert not pipe.items(post_import.KIND_POST_IMPORT)  # the bookkeeping item is gone
        assert "postImportTried" not in pipe.sweep()["sweep"]
    finally:
        pipe.__exit__(None, None, None)


def test_pending_gives_up_after_its_tries(monkeypatch):
    monkeypatch.setattr(post_import, "MAX_ATTEMPTS", 3)
    pipe = pipeline(POST_IMPORT_ACTION="DELETE")
    try:
        pipe.upload(["p/never.ubam"])
        (batch,) = _starter_inputs(pipe)
        out = pipe.invoke("import_start", batch)
        pipe.double.advance(700)
        (read_set,) = pipe.double.read_sets.values()
        read_set["status"] = "ACTIVATING"
        pipe.invoke("import_finalize", out)
        for _ in range(4):
            pipe.sweep()
        item = pipe.objects()["p/never.ubam"]
        assert item["postImport"] == "FAILED" and "gave up after 3 tries" in item["postImportNote"]
        assert not pipe.s3.list_object_versions(Bucket=BUCKET, Prefix="p/").get("DeleteMarkers")
    finally:
        pipe.__exit__(None, None, None)


def test_a_reason_that_quotes_an_identifier_is_redacted_in_logs_and_notices(pipe, caplog):
    secret = "PATIENT-SECRET-" + "x" * 200  # too long: the validation message quotes it
    pipe.put("r/long.ubam", tags={"SubjectId": secret})
    with caplog.at_level(logging.INFO, logger="omics_autoload_runtime"):
        pipe.deliver(pipe._stored[-1:])
        run_without_state_machine(pipe)
    item = pipe.objects()["r/long.ubam"]
    assert item["status"] == tracking.FAILED and "PATIENT-SECRET" in item["reason"]  # the table keeps it
    (failed,) = [r for r in caplog.records if getattr(r, "event", None) == "file_failed"]
    assert "subjectId <redacted>" in failed.reason
    assert "PATIENT-SECRET" not in caplog.text
    assert all("PATIENT-SECRET" not in json.dumps({k: str(v) for k, v in r.__dict__.items()}) for r in caplog.records)
    (notice,) = received_notices(pipe)
    assert "subjectId <redacted>" in notice["Message"] and "PATIENT-SECRET" not in json.dumps(notice)
