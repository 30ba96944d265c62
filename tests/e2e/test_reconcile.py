"""Events that never came: reconciliation finds the objects and each is imported exactly once.

The harness drops some objects' S3 events (the objects are written, their notifications
never delivered); a scheduled reconciliation run compares the bucket with the tracking
table, sends the missing ones through intake, and the pipeline imports them. A second run
changes nothing. Objects are listed with ListObjectVersions, or read from an S3 Inventory
report written in the format S3 delivers (manifest.json + gzipped CSV).
"""

from __future__ import annotations

import dataclasses
import gzip
import json

import pytest
from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.logic import reconcile
from support.pipeline import BUCKET, EmfLog, Pipeline

from .test_pipeline import check

RUN = [
    f"runs/240101_A01/{sample}_S{n}_L001_R{read}_001.fastq.gz"
    for n, sample in ((1, "NA12878"), (2, "NA12891"))
    for read in (1, 2)
]
ALIGNED = ["aligned/HG002.ubam", "aligned/HG003.ubam"]
PREFIXES = ["runs/", "aligned/"]
INVENTORY_BUCKET = "inventory-reports"
INVENTORY_PREFIX = f"inventory/{BUCKET}/daily"


def _pipe(**env):
    variables = {contract.Env.KEY_PREFIXES: json.dumps(PREFIXES), **env}
    pipe = Pipeline(state_machine=True, env=variables)
    pipe.__enter__()
    pipe.cloudwatch = EmfLog().install()
    return pipe


@pytest.fixture
def pipe():
    pipeline = _pipe()
    yield pipeline
    pipeline.__exit__(None, None, None)


def _put_all(pipe, keys):
    stored = [pipe.put(key) for key in keys]
    pipe.settle()  # the objects are old enough for their events to have come
    return [dataclasses.replace(s, time=tracking.iso()) for s in stored]


def _object_items(pipe):
    return sorted((i["pk"], i["sk"], i["status"], i.get("updatedAt")) for i in pipe.items(tracking.KIND_OBJECT))


def test_dropped_events_are_found_and_imported_exactly_once(pipe):
    outside = "other-team/notes.fastq.gz"
    stored = _put_all(pipe, [*RUN, *ALIGNED, outside])
    by_key = {s.key: s for s in stored}
    delivered = [by_key[RUN[0]], by_key[RUN[2]], by_key[ALIGNED[0]]]
    pipe.deliver(delivered)  # the events of RUN[1], RUN[3] and ALIGNED[1] never come

    summary = pipe.reconcile()
    assert summary["source"] == "listing"
    assert summary["untracked"] == 3
    assert summary["passComplete"] is True
    assert pipe.cloudwatch.total(contract.Metric.UNTRACKED_OBJECTS) == 3
    pipe.run()
    check(pipe, dict.fromkeys([*RUN, *ALIGNED], tracking.IMPORTED))
    assert len(pipe.double.read_sets) == 4  # two pairs, two uBAMs: each once
    assert outside not in pipe.objects()  # not watched, never listed

    before = _object_items(pipe)
    again = pipe.reconcile()
    assert again["untracked"] == 0 and again["statuses"] == {}
    assert _object_items(pipe) == before
    assert pipe.cloudwatch.total(contract.Metric.UNTRACKED_OBJECTS) == 3  # the second run published 0
    pipe.run()
    assert len(pipe.double.read_sets) == 4


def test_young_objects_are_left_for_their_event(pipe):
    pipe.put(ALIGNED[0])  # just written: its event may still be on its way
    assert pipe.reconcile()["untracked"] == 0
    assert pipe.items(tracking.KIND_OBJECT) == []


def test_a_pass_is_bounded_per_run_and_resumes_from_its_marker(monkeypatch):
    monkeypatch.setattr(reconcile, "PAGE_SIZE", 2)
    keys = [f"runs/r{n}/S{n}.ubam" for n in range(5)] + [f"aligned/A{n}.ubam" for n in range(3)]
    pipe = _pipe(**{contract.Env.RECONCILE_PAGES_PER_RUN: "2"})
    try:
        _put_all(pipe, keys)
        runs = []
        while not runs or not runs[-1]["passComplete"]:
            runs.append(pipe.reconcile())
            assert len(runs) < 10
        assert [r["pages"] for r in runs] == [2, 2, 1]  # runs/: 3 pages of 2, aligned/: 2
        assert sum(r["untracked"] for r in runs) == len(keys)
        assert sorted(pipe.objects()) == sorted(keys)
        pk, sk = reconcile.marker_key(BUCKET)
        state = tracking.ItemTable(tracking_table_name()).get(pk, sk)
        assert state["passes"] == 1 and "marker" not in state and state["untrackedFound"] == len(keys)
        # The next pass starts over and finds nothing new.
        assert pipe.reconcile()["untracked"] == 0
    finally:
        pipe.__exit__(None, None, None)


def tracking_table_name():
    from support.pipeline import TABLE

    return TABLE


# ------------------------------------------------------------------ S3 Inventory

ALL_VERSIONS = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass"
CURRENT_ONLY = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass"


def _csv(rows):
    return gzip.compress("".join(",".join(f'"{v}"' for v in row) + "\n" for row in rows).encode())


def _write_report(pipe, schema, rows, delivery="2026-01-02T01-00Z", checksum=True):
    s3 = pipe.s3
    if INVENTORY_BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=INVENTORY_BUCKET)
    data_key = f"{INVENTORY_PREFIX}/data/8d3e4a0c-1f7e-4f0e-9d57-{delivery[:10]}.csv.gz"
    s3.put_object(Bucket=INVENTORY_BUCKET, Key=data_key, Body=_csv(rows))
    manifest = {
        "sourceBucket": BUCKET,
        "destinationBucket": f"arn:aws:s3:::{INVENTORY_BUCKET}",
        "version": "2016-11-30",
        "creationTimestamp": "1767315600000",
        "fileFormat": "CSV",
        "fileSchema": schema,
        "files": [{"key": data_key, "size": 1, "MD5checksum": "00000000000000000000000000000000"}],
    }
    folder = f"{INVENTORY_PREFIX}/{delivery}"
    s3.put_object(Bucket=INVENTORY_BUCKET, Key=f"{folder}/manifest.json", Body=json.dumps(manifest).encode())
    if checksum:
        s3.put_object(Bucket=INVENTORY_BUCKET, Key=f"{folder}/manifest.checksum", Body=b"0" * 32)


def _inventory_pipe():
    return _pipe(**{contract.Env.INVENTORY_BUCKET: INVENTORY_BUCKET, contract.Env.INVENTORY_PREFIX: INVENTORY_PREFIX})


def test_an_inventory_report_with_every_version_is_read():
    pipe = _inventory_pipe()
    try:
        old = pipe.put("aligned/HG009.ubam")  # an older version, replaced below
        stored = _put_all(pipe, [*ALIGNED, "aligned/HG009.ubam", "runs/name with space.ubam"])
        pipe.deliver([stored[0]])
        when = "2026-01-01T00:00:00.000Z"
        rows = [
            [BUCKET, s.key.replace(" ", "+"), s.version_id, "true", "false", s.size, when, s.etag, "STANDARD"]
            for s in stored
        ]
        rows += [
            [BUCKET, old.key, old.version_id, "false", "false", old.size, when, old.etag, "STANDARD"],
            [BUCKET, "aligned/deleted.ubam", "v-marker", "true", "true", "", when, "", ""],
            [BUCKET, "other-team/x.ubam", "v1", "true", "false", 4, when, "abc", "STANDARD"],
        ]
        _write_report(pipe, ALL_VERSIONS, rows)
        _write_report(pipe, ALL_VERSIONS, [], delivery="2026-01-03T01-00Z", checksum=False)  # still being written
        summary = pipe.reconcile()
        assert summary["source"] == "inventory", summary
        assert summary["untracked"] == 3, summary  # ALIGNED[1], the current HG009, the key with a space
        pipe.run()
        check(pipe, {s.key: tracking.IMPORTED for s in stored})
        versions = {i["sk"] for i in pipe.items(tracking.KIND_OBJECT) if i["key"] == "aligned/HG009.ubam"}
        assert versions == {f"V#{stored[2].version_id}"}  # the replaced version is not imported
        assert pipe.reconcile()["untracked"] == 0
    finally:
        pipe.__exit__(None, None, None)


def test_an_inventory_of_current_versions_is_matched_by_key():
    pipe = _inventory_pipe()
    try:
        stored = _put_all(pipe, ALIGNED)
        pipe.deliver([stored[0]])
        rows = [[BUCKET, s.key, s.size, "2026-01-01T00:00:00.000Z", s.etag, "STANDARD"] for s in stored]
        _write_report(pipe, CURRENT_ONLY, rows)
        assert pipe.reconcile()["untracked"] == 1
        (item,) = [i for i in pipe.items(tracking.KIND_OBJECT) if i["key"] == ALIGNED[1]]
        assert item["sk"] == f"V#{stored[1].version_id}"  # the version HeadObject named
        assert pipe.reconcile()["untracked"] == 0
    finally:
        pipe.__exit__(None, None, None)


def test_without_a_complete_report_the_bucket_is_listed():
    pipe = _inventory_pipe()
    try:
        _put_all(pipe, ALIGNED)
        _write_report(pipe, ALL_VERSIONS, [], checksum=False)
        summary = pipe.reconcile()
        assert summary["source"] == "listing"
        assert "no complete inventory report" in summary["note"]
        assert summary["untracked"] == 2
    finally:
        pipe.__exit__(None, None, None)


def test_an_unversioned_bucket_is_matched_on_its_null_versions(pipe, monkeypatch):
    from omics_autoload_runtime.adapters import bucket_listing
    from omics_autoload_runtime.adapters.table import ItemTable
    from omics_autoload_runtime.settings import get

    pipe.s3.create_bucket(Bucket="plain-bucket")
    for key in ALIGNED:
        pipe.s3.put_object(Bucket="plain-bucket", Key=key, Body=b"@r\nA\n+\nI\n")
    pipe.settle()

    def no_head(*args):
        raise AssertionError("a listed version is known: no HeadObject per object")

    monkeypatch.setattr(bucket_listing, "current_version_id", no_head)
    cfg = get().replace(bucket_name="plain-bucket")
    progress = reconcile.Reconciler(cfg, ItemTable(tracking_table_name())).scan()
    assert [(u.key, u.version_id) for u in progress.untracked] == [(k, None) for k in sorted(ALIGNED)]


def test_a_run_stops_before_its_lambda_time_runs_out(monkeypatch):
    from omics_autoload_runtime.handlers import reconcile as reconcile_function

    monkeypatch.setattr(reconcile, "PAGE_SIZE", 1)
    pipe = _pipe()
    try:
        _put_all(pipe, ["runs/r1/S1.ubam", *ALIGNED])

        class Context:  # 60 s left: less than a page's reserve
            @staticmethod
            def get_remaining_time_in_millis():
                return 60_000

        summary = reconcile_function.handler({}, Context())
        assert (summary["pages"], summary["untracked"], summary["passComplete"]) == (1, 1, False)
        pk, sk = reconcile.marker_key(BUCKET)
        assert tracking.ItemTable(tracking_table_name()).get(pk, sk)["marker"]["source"] == "listing"
    finally:
        pipe.__exit__(None, None, None)
