"""Re-uploads: a new version of a tracked key is never confused with the tracked one.

HealthOmics reads ``s3://bucket/key`` without a version: StartImport checks the key's
current version first (a replaced version is SUPERSEDED, the newer one imported on its
own), Finalize checks it again after the job (``versionUncertain``) and takes each read
set's result by its source index; a new version of an imported file follows
``reupload_policy``.
"""

from __future__ import annotations

import contextlib

import pytest
from omics_autoload_runtime.adapters import tracking
from omics_autoload_runtime.logic.import_finalize import _source_of
from support.pipeline import EmfLog, Pipeline, _starter_inputs, run_without_state_machine

KEY = "re/a.ubam"


@contextlib.contextmanager
def pipeline(**options):
    """A pipeline whose HealthOmics double reads the version of S3 current at the job's read."""
    with Pipeline(**options) as pipe:
        EmfLog().install()
        pipe.double.read_objects_from(pipe.s3)
        yield pipe


@pytest.fixture
def pipe():
    with pipeline() as pipe:
        yield pipe


def versions(pipe):
    """The object items of KEY, in upload order."""
    uploaded = [stored.version_id for stored in pipe._stored]
    items = [i for i in pipe.items(tracking.KIND_OBJECT) if i["key"] == KEY]
    return sorted(items, key=lambda i: uploaded.index(i["versionId"]))


def holders(pipe, version_id):
    """The read sets in the store whose bytes are this version's."""
    return [
        rs for rs in pipe.double.read_sets.values()
        if any(v and v["versionId"] == version_id for v in rs["sourceVersions"].values())
    ]


def test_a_version_replaced_before_its_import_is_superseded_and_the_new_one_imported(pipe):
    first = pipe.put(KEY, b"version one")
    pipe.deliver([first])
    second = pipe.put(KEY, b"version two")  # its event comes after the start
    run_without_state_machine(pipe)
    (v1,) = versions(pipe)
    assert v1["status"] == tracking.SUPERSEDED
    assert f"version {second.version_id} of this object replaced this version ({first.version_id})" in v1["reason"]
    (read_set,) = pipe.items(tracking.KIND_READSET)
    assert read_set["status"] == tracking.SUPERSEDED
    assert not pipe.double.read_sets  # nothing was imported for version one

    pipe.deliver([second])
    run_without_state_machine(pipe)
    v1, v2 = versions(pipe)
    assert (v1["status"], v2["status"]) == (tracking.SUPERSEDED, tracking.IMPORTED)
    (held,) = holders(pipe, second.version_id)
    assert v2["readSetId"] == held["id"] and len(pipe.double.read_sets) == 1


def test_a_new_version_of_an_imported_file_is_imported_as_a_new_read_set(pipe):
    (first,) = pipe.upload([KEY])
    run_without_state_machine(pipe)
    (second,) = pipe.upload([KEY], body=b"corrected")
    run_without_state_machine(pipe)
    v1, v2 = versions(pipe)
    assert (v1["status"], v2["status"]) == (tracking.IMPORTED, tracking.IMPORTED)
    assert v1["supersededBy"] == second.version_id and "reason" not in v2
    assert v2["readSetKey"] == f"{v1['readSetKey']}@{second.version_id}"
    assert [rs["id"] for rs in holders(pipe, first.version_id)] == [v1["readSetId"]]
    assert [rs["id"] for rs in holders(pipe, second.version_id)] == [v2["readSetId"]]
    pipe.deliver([second], duplicates=True)  # a redelivered event changes nothing
    assert not _starter_inputs(pipe) and len(pipe.double.read_sets) == 2


def test_hold_keeps_a_new_version_of_an_imported_file_for_an_operator():
    with pipeline(env={"REUPLOAD_POLICY": "HOLD"}) as pipe:
        pipe.upload([KEY])
        run_without_state_machine(pipe)
        pipe.upload([KEY], body=b"corrected")
        run_without_state_machine(pipe)
        v1, v2 = versions(pipe)
        assert (v1["status"], v2["status"]) == (tracking.IMPORTED, tracking.HELD)
        assert f"run `omics-autoload redrive --key s3://sequencing-runs/{KEY} --new-version`" in v2["reason"]
        assert len(pipe.double.read_sets) == 1


def test_a_key_changed_during_the_import_leaves_the_version_uncertain(pipe):
    (first,) = pipe.upload([KEY])
    (batch,) = _starter_inputs(pipe)
    out = pipe.invoke("import_start", batch)
    second = pipe.put(KEY, b"uploaded while the job runs")
    pipe.double.advance(pipe.double.job_duration_seconds + 10)
    pipe.invoke("import_finalize", out)
    (v1,) = versions(pipe)
    assert v1["status"] == tracking.IMPORTED and v1["versionUncertain"] is True
    assert f"the key got a newer version ({second.version_id}) while it was being imported" in v1["reason"]
    assert f"rather than this one's ({first.version_id})" in v1["reason"]


def test_a_read_set_takes_the_result_at_its_source_index_not_by_path():
    same_path = {"source1": "s3://b/re/a.bam"}
    sources = [
        {"sourceFiles": same_path, "readSetId": "first", "status": "FINISHED"},
        {"sourceFiles": same_path, "readSetId": "second", "status": "FINISHED"},
    ]
    assert _source_of({"source1": same_path["source1"], "sourceIndex": 1}, sources)["readSetId"] == "second"
    assert _source_of({"source1": same_path["source1"]}, sources) is None
