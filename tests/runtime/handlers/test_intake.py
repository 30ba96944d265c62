"""intake.handler against moto (S3, DynamoDB with stream) and the HealthOmics double."""

from __future__ import annotations

import gzip
import threading

import pytest
from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.handlers import intake as intake_function
from support.pipeline import BUCKET, TABLE, EmfLog, Pipeline, exact_total


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        pipeline.metric_log = EmfLog().install()
        yield pipeline


def read_set(pipe, key_fragment):
    found = [i for i in pipe.items(tracking.KIND_READSET) if key_fragment in i["pk"]]
    assert len(found) == 1, found
    return found[0]


def queued_images(pipe, pk):
    records = pipe.stream_records()
    return [r for r in records if pipe_matches(r) and tracking.deserialize(r["dynamodb"]["NewImage"])["pk"] == pk]


def pipe_matches(record):
    from support.pipeline import matches_filter

    return matches_filter(tracking.STARTER_FILTER_PATTERN, record)


def test_url_encoded_keys_are_decoded(pipe):
    stored = pipe.put("run 1/sample+A (2)_R1.fastq.gz")
    record = pipe.s3_record(stored)
    assert record["s3"]["object"]["key"] == "run+1/sample%2BA+%282%29_R1.fastq.gz"
    pipe.invoke("intake", {"Records": [record]})
    item = pipe.objects()["run 1/sample+A (2)_R1.fastq.gz"]
    assert item["uri"] == f"s3://{BUCKET}/run 1/sample+A (2)_R1.fastq.gz"
    assert item["status"] == tracking.WAITING_FOR_MATE
    assert item["sk"] == f"V#{stored.version_id}"


def test_test_event_and_other_events_are_ignored(pipe):
    assert pipe.invoke("intake", {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})["objects"] == 0
    record = pipe.s3_record(pipe.put("a.fastq.gz"))
    record["eventName"] = "ObjectRemoved:Delete"
    assert pipe.invoke("intake", {"Records": [record]})["objects"] == 0
    assert pipe.items() == []


def test_skips_are_recorded_with_reason_and_counted(pipe):
    pipe.upload(["run/notes.txt", "run/S1_S1_L001_I1_001.fastq.gz", "run/empty.fastq.gz"])
    pipe.upload(["run/zero.fastq.gz"], body=b"")
    objects = pipe.objects()
    assert objects["run/notes.txt"]["status"] == "SKIPPED"
    assert "not a sequence file" in objects["run/notes.txt"]["reason"]
    assert "index read" in objects["run/S1_S1_L001_I1_001.fastq.gz"]["reason"]
    assert "zero-byte" in objects["run/zero.fastq.gz"]["reason"]
    assert objects["run/empty.fastq.gz"]["status"] == "QUEUED"
    assert pipe.metric_log.total("FilesReceived") == 4
    assert exact_total(pipe.metric_log, "FilesSkipped", SequenceStoreId=pipe.store_id) == 3
    assert pipe.metric_log.total("FilesSkipped", Reason="IndexRead") == 1


def test_single_file_read_set_is_queued_once(pipe):
    pipe.upload(["run/sample.ubam"])
    rs = read_set(pipe, "sample#UBAM")
    assert rs["status"] == tracking.QUEUED and tracking.readset_sources(rs)[0].endswith("sample.ubam")
    assert rs["attempt"] == 0 and rs["fileType"] == "UBAM"
    assert len(queued_images(pipe, rs["pk"])) == 1


def test_duplicate_delivery_changes_nothing(pipe):
    stored = [pipe.put("run/S1_R1.fastq.gz"), pipe.put("run/S1_R2.fastq.gz"), pipe.put("run/x.txt")]
    pipe.deliver(stored)
    before = sorted(map(repr, pipe.items()))
    first = pipe.stream_records()
    pipe.deliver(stored)
    pipe.deliver(stored[::-1], per_event=1)
    assert sorted(map(repr, pipe.items())) == before
    assert pipe.stream_records() == []  # not even a no-op write
    assert sum(1 for r in first if pipe_matches(r)) == 1


def test_mates_in_reverse_order_queue_the_pair(pipe):
    pipe.upload(["run/S1_S1_L002_R2_001.fastq.gz"])
    rs = read_set(pipe, "S1_S1_L002#FASTQ#PAIRED")
    assert rs["status"] == tracking.WAITING_FOR_MATE and "file1" not in rs
    pipe.upload(["run/S1_S1_L002_R1_001.fastq.gz"])
    rs = read_set(pipe, "S1_S1_L002#FASTQ#PAIRED")
    assert rs["status"] == tracking.QUEUED
    r1, r2 = tracking.readset_sources(rs)
    assert r1.endswith("R1_001.fastq.gz") and r2.endswith("R2_001.fastq.gz")
    assert {o["status"] for o in pipe.objects().values()} == {tracking.QUEUED}


def _writes_of(pipe, deliver):
    """The DynamoDB writes (PutItem, UpdateItem, transactions) intake makes in ``deliver()``."""
    from omics_autoload_runtime.adapters import clients

    real, writes = clients.client("dynamodb"), []

    class Counting:
        def __getattr__(self, name):
            if name in ("put_item", "update_item", "transact_write_items"):
                writes.append(name)
            return getattr(real, name)

    clients.override("dynamodb", Counting())
    try:
        deliver()
    finally:
        clients.override("dynamodb", real)
    return writes


def test_the_mate_that_completes_a_pair_queues_it_in_three_writes(pipe):
    # Issue 14: put QUEUED, join-and-queue the read set in one write, queue its partner's file.
    first = _writes_of(pipe, lambda: pipe.upload(["run/S9_R1_001.fastq.gz"]))
    assert first == ["put_item", "update_item"]  # recorded, joined (the pair waits)
    stored = pipe.put("run/S9_R2_001.fastq.gz")
    second = _writes_of(pipe, lambda: pipe.deliver([stored]))
    assert second == ["put_item", "update_item", "update_item"]
    rs = read_set(pipe, "S9#FASTQ#PAIRED")
    assert rs["status"] == tracking.QUEUED and rs[contract.DUE_QUEUE] == contract.DueQueue.READSET
    assert {o["status"] for o in pipe.objects().values()} == {tracking.QUEUED}
    again = _writes_of(pipe, lambda: pipe.deliver([stored]))  # a redelivery changes nothing
    assert {o["status"] for o in pipe.objects().values()} == {tracking.QUEUED} and "transact_write_items" not in again


@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_mates_queue_exactly_once(pipe, attempt):
    r1, r2 = pipe.put(f"run{attempt}/S_R1.fq.gz"), pipe.put(f"run{attempt}/S_R2.fq.gz")
    barrier = threading.Barrier(2)
    results = []

    def deliver(stored):
        barrier.wait()
        results.append(intake_function.handler({"Records": [pipe.s3_record(stored)]}))

    threads = [threading.Thread(target=deliver, args=(s,)) for s in (r1, r2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rs = read_set(pipe, f"run{attempt}/S#FASTQ#PAIRED")
    assert rs["status"] == tracking.QUEUED
    assert len(queued_images(pipe, rs["pk"])) == 1
    assert {o["status"] for o in pipe.objects().values()} == {tracking.QUEUED}


def test_second_file_claiming_a_mate_slot_is_a_recorded_conflict(pipe):
    pipe.upload(["run/S1_R1.fastq.gz", "run/S1_R1.fq.gz"])
    objects = pipe.objects()
    assert objects["run/S1_R1.fastq.gz"]["status"] == tracking.WAITING_FOR_MATE
    loser = objects["run/S1_R1.fq.gz"]
    assert loser["status"] == tracking.SKIPPED
    assert "conflict" in loser["reason"] and "S1_R1.fastq.gz" in loser["reason"]
    rs = read_set(pipe, "run/S1#FASTQ#PAIRED")
    assert rs["file1"]["uri"].endswith("S1_R1.fastq.gz")


def test_new_version_of_a_single_file_gets_its_own_read_set_unless_the_first_failed(pipe):
    pipe.upload(["run/a.ubam"])
    pipe.double.advance(1)  # receivedAt orders the versions
    pipe.upload(["run/a.ubam"])
    versions = sorted(pipe.items(tracking.KIND_OBJECT), key=lambda i: i["receivedAt"])
    assert [v["status"] for v in versions] == [tracking.QUEUED, tracking.QUEUED]  # never a conflict
    assert versions[1]["readSetKey"] == f"{versions[0]['readSetKey']}@{versions[1]['versionId']}"
    tracker = tracking.Tracking(TABLE)
    rs = tracker.get_read_set(versions[0]["readSetKey"])
    tracking.Tracking(TABLE).table.update(rs["pk"], "RS", set={"status": tracking.FAILED})
    pipe.double.advance(1)
    pipe.upload(["run/a.ubam"])
    rs = tracker.get_read_set(versions[0]["readSetKey"])
    assert rs["status"] == tracking.QUEUED and rs["attempt"] == 1
    newest = sorted(pipe.items(tracking.KIND_OBJECT), key=lambda i: i["receivedAt"])[-1]
    assert rs["file1"]["sk"] == newest["sk"] and newest["status"] == tracking.QUEUED


def test_eventbridge_keys_work_encoded_or_not(pipe):
    plain = pipe.put("eb run/S 1.ubam")
    pipe.invoke("intake", pipe.eventbridge_event(plain))
    encoded = pipe.put("eb run/S 2.ubam")
    pipe.invoke("intake", pipe.eventbridge_event(encoded, encode=True))
    literal_plus = pipe.put("eb/a+b.ubam")
    pipe.invoke("intake", pipe.eventbridge_event(literal_plus))
    objects = pipe.objects()
    assert {"eb run/S 1.ubam", "eb run/S 2.ubam", "eb/a+b.ubam"} <= set(objects)
    assert all(o["status"] == tracking.QUEUED for o in objects.values())


def test_sqs_and_sns_wrapped_notifications(pipe):
    import json

    stored = pipe.put("wrapped/x.ubam")
    body = json.dumps({"Records": [pipe.s3_record(stored)]})
    pipe.invoke("intake", {"Records": [{"eventSource": "aws:sqs", "body": body}]})
    pipe.invoke("intake", {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": body}}]})
    assert pipe.status("wrapped/x.ubam") == tracking.QUEUED
    assert len(pipe.items(tracking.KIND_OBJECT)) == 1


def test_bam_without_reference_is_skipped_with_reason():
    with Pipeline(reference=False) as pipe:
        pipe.upload(["run/aligned.bam", "run/aligned.cram", "run/reads.ubam"])
        objects = pipe.objects()
        for key in ("run/aligned.bam", "run/aligned.cram"):
            assert objects[key]["status"] == tracking.SKIPPED
            assert objects[key]["reason"].startswith("no reference genome configured")
        assert objects["run/reads.ubam"]["status"] == tracking.QUEUED


def _bam(with_sq: bool) -> bytes:
    text = b"@HD\tVN:1.6\n" + (b"@SQ\tSN:chr1\tLN:1000\n" if with_sq else b"@RG\tID:x\n")
    refs = (1).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"chr1\0" + (1000).to_bytes(4, "little")
    body = b"BAM\x01" + len(text).to_bytes(4, "little") + text + (refs if with_sq else (0).to_bytes(4, "little"))
    return gzip.compress(body)


def test_unaligned_bam_is_sniffed_as_ubam():
    with Pipeline(reference=False) as pipe:
        pipe.upload(["run/unaligned.bam"], body=_bam(with_sq=False))
        pipe.upload(["run/aligned.bam"], body=_bam(with_sq=True))
        objects = pipe.objects()
        assert objects["run/unaligned.bam"]["fileType"] == "UBAM"
        assert objects["run/unaligned.bam"]["status"] == tracking.QUEUED
        assert objects["run/aligned.bam"]["status"] == tracking.SKIPPED


def test_sniffing_is_off_when_bam_is_unaligned_is_set():
    with Pipeline(reference=False, options=AssemblyOptions(bam_is_unaligned=True)) as pipe:
        pipe.upload(["run/any.bam"], body=b"not even a bam")
        assert pipe.objects()["run/any.bam"]["fileType"] == "UBAM"


def test_tags_become_metadata_overrides(pipe):
    pipe.put("tagged/x.ubam", tags={"SampleId": "NA12878", "subject_id": "P-7"})
    pipe.deliver([pipe._stored[-1]])
    rs = read_set(pipe, "tagged/x#UBAM")
    assert rs["file1"]["overrides"] == {"sample_id": "NA12878", "subject_id": "P-7"}


def test_a_malformed_record_does_not_stop_the_batch(pipe):
    good = pipe.put("ok/x.ubam")
    result = pipe.invoke("intake", {"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}, pipe.s3_record(good)]})
    assert result["statuses"] == {"MALFORMED": 1, tracking.QUEUED: 1}


def test_an_exception_for_one_object_is_recorded_and_the_batch_goes_on(pipe, monkeypatch):
    from omics_autoload_runtime.logic import intake as module

    real = module.classify

    def flaky(uri, **kwargs):
        if "boom" in uri:
            raise ValueError("bad name")
        return real(uri, **kwargs)

    monkeypatch.setattr(module, "classify", flaky)
    pipe.upload(["x/boom.ubam", "x/fine.ubam"])
    objects = pipe.objects()
    assert objects["x/boom.ubam"]["status"] == tracking.FAILED
    assert "bad name" in objects["x/boom.ubam"]["reason"]
    assert objects["x/fine.ubam"]["status"] == tracking.QUEUED


def test_dynamodb_unavailable_raises_so_the_event_is_retried(pipe):
    stored = pipe.put("x/a.ubam")
    pipe.ddb.delete_table(TableName=TABLE)
    with pytest.raises(Exception, match=r"ResourceNotFound|not found|Requested resource"):
        intake_function.handler({"Records": [pipe.s3_record(stored)]})


def test_a_throttled_record_does_not_hold_back_the_others_of_its_event(pipe, monkeypatch):
    """The event is delivered again (the handler raises), but only after every other record
    was recorded: each delivery makes progress, and the redelivery changes nothing for them."""
    from botocore.exceptions import ClientError

    stored = [pipe.put("burst/A.ubam"), pipe.put("burst/B.ubam"), pipe.put("burst/C.ubam")]
    real = tracking.Tracking.put_object

    def throttled_for_b(self, item):
        if item["uri"].endswith("/B.ubam"):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}, "ResponseMetadata": {}}, "PutItem"
            )
        return real(self, item)

    monkeypatch.setattr(tracking.Tracking, "put_object", throttled_for_b)
    event = {"Records": [pipe.s3_record(s) for s in stored]}
    with pytest.raises(ClientError, match="ThrottlingException"):
        pipe.invoke("intake", event)
    assert set(pipe.objects()) == {"burst/A.ubam", "burst/C.ubam"}
    monkeypatch.setattr(tracking.Tracking, "put_object", real)
    pipe.invoke("intake", event)  # Lambda's retry of the same event
    objects = pipe.objects()
    assert {key: item["status"] for key, item in objects.items()} == dict.fromkeys(
        ("burst/A.ubam", "burst/B.ubam", "burst/C.ubam"), tracking.QUEUED
    )


def test_mates_that_arrive_at_once_queue_their_pair_with_their_joins(pipe, monkeypatch):
    # Neither saw the other before joining (both read the read set at the same moment): each
    # join leaves its mark, the second takes QUEUED from the first's mark; no write of its own.
    monkeypatch.setattr(tracking.Tracking, "completes_pair", lambda self, pk, mate: False)
    _writes_of(pipe, lambda: pipe.upload(["run/S8_R1_001.fastq.gz"]))
    stored = pipe.put("run/S8_R2_001.fastq.gz")
    second = _writes_of(pipe, lambda: pipe.deliver([stored]))
    assert second == ["put_item", "update_item", "update_item", "update_item"]  # put, join, both files
    rs = read_set(pipe, "S8#FASTQ#PAIRED")
    assert rs["status"] == tracking.QUEUED and rs[contract.DUE_QUEUE] == contract.DueQueue.READSET
    assert {o["status"] for o in pipe.objects().values()} == {tracking.QUEUED}
