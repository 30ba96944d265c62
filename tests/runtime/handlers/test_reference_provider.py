"""The reference genome custom resource handlers, driven like the CDK Provider drives them.

``provide()`` plays the Provider framework: it calls ``on_event``, merges its answer into
the event, then calls ``is_complete`` every ``POLL`` simulated seconds until it says
done, and returns what the framework would send to CloudFormation.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.logic import reference_import
from omics_autoload_runtime.logic.reference_import import ReferenceImportError, is_complete, on_event
from support.omics_double import OmicsDouble

ROLE = "arn:aws:iam::123456789012:role/Stack-ReferenceImportRole-ABC123"
OTHER_ROLE = "arn:aws:iam::123456789012:role/someone-else"
FASTA = "s3://genomes-bucket/references/GRCh38/Homo_sapiens_assembly38.fasta.gz"
POLL = 30.0
JOB_SECONDS = 600.0


_DOUBLE: list[OmicsDouble] = []  # the current test's double, for wait()


@pytest.fixture(autouse=True)
def omics():
    # The handler asks for jobs created in the last days: the double's clock must be real.
    double = OmicsDouble(clock=time.time, job_duration_seconds=JOB_SECONDS)
    clients.override("omics", double.client)
    _DOUBLE[:] = [double]
    yield double
    clients.reset()


@pytest.fixture
def store(omics) -> str:
    return omics.create_reference_store()


def props(store: str, **overrides: Any) -> dict[str, Any]:
    return {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ReferenceStoreId": store,
        "SourceFile": FASTA,
        "ReferenceName": "GRCh38",
        "Description": "GRCh38 with alt contigs",
        "RoleArn": ROLE,
        "RemovalPolicy": "retain",
        **overrides,
    }


def event(
    request_type: str,
    properties: dict,
    physical_id: str | None = None,
    old: dict | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": request_id or str(uuid.uuid4()),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/Stack/guid",
        "LogicalResourceId": "ReferenceGenome",
        "ResourceType": "Custom::OmicsReferenceGenome",
        "ResponseURL": "https://cloudformation-custom-resource-response.invalid/presigned",
        "ResourceProperties": properties,
    }
    if physical_id is not None:
        ev["PhysicalResourceId"] = physical_id
    if old is not None:
        ev["OldResourceProperties"] = old
    return ev


def begin(ev: dict) -> dict:
    """onEvent, and the event the framework hands to every isComplete call."""
    result = on_event(ev)
    return {**ev, **result}


def wait(ev: dict, *, max_polls: int = 100) -> tuple[dict, int]:
    """isComplete until done: (the response sent to CloudFormation, polls that said no)."""
    for not_done in range(max_polls):
        result = is_complete(ev)
        if result["IsComplete"]:
            data = {**ev.get("Data", {}), **result.get("Data", {})}
            return {**ev, **result, "Data": data}, not_done
        assert "Data" not in result
        _DOUBLE[0].advance(POLL)  # the query interval passes
    raise AssertionError("the import never completed")


def provide(ev: dict) -> dict:
    return wait(begin(ev))[0]


def reference_of(omics: OmicsDouble, response: dict) -> dict:
    return omics.references[response["Data"]["ReferenceId"]]


# --------------------------------------------------------------------------- create
def test_create_imports_the_fasta_and_returns_the_reference(omics, store):
    response = provide(event("Create", props(store)))

    assert omics.api_calls("StartReferenceImportJob") == 1
    _, request = next(c for c in omics.calls if c[0] == "StartReferenceImportJob")
    assert request["roleArn"] == ROLE
    assert request["sources"] == [{"sourceFile": FASTA, "name": "GRCh38", "description": "GRCh38 with alt contigs"}]
    reference = reference_of(omics, response)
    assert reference["name"] == "GRCh38" and reference["sourceFile"] == FASTA
    assert response["Data"] == {"ReferenceArn": reference["arn"], "ReferenceId": reference["id"]}
    # The physical id names the reference, so Delete and Update need no lookup.
    assert response["PhysicalResourceId"].startswith(reference["arn"] + "#")


def test_polls_see_the_job_running_several_times_before_it_completes(omics, store):
    ev = begin(event("Create", props(store)))
    assert ev["PhysicalResourceId"].startswith(f"referenceImportJob/{store}/")

    response, not_done = wait(ev)

    assert not_done == JOB_SECONDS // POLL  # SUBMITTED, then IN_PROGRESS until done
    assert omics.api_calls("GetReferenceImportJob") >= not_done
    assert omics.api_calls("StartReferenceImportJob") == 1
    assert response["Data"]["ReferenceArn"].startswith(
        f"arn:aws:omics:us-east-1:123456789012:referenceStore/{store}/reference/"
    )


def test_description_is_optional(omics, store):
    properties = props(store)
    del properties["Description"]
    provide(event("Create", properties))
    _, request = next(c for c in omics.calls if c[0] == "StartReferenceImportJob")
    assert request["sources"] == [{"sourceFile": FASTA, "name": "GRCh38"}]


def test_duplicate_create_event_starts_one_job(omics, store):
    ev = event("Create", props(store))
    first = begin(ev)
    second = begin(dict(ev))  # the same request delivered again

    assert omics.import_jobs_started("reference") == 1
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    assert wait(first)[0]["Data"] == wait(second)[0]["Data"]
    assert omics.import_jobs_started("reference") == 1


def test_the_client_token_is_the_request_id(omics, store):
    ev = event("Create", props(store))
    begin(ev)
    _, request = next(c for c in omics.calls if c[0] == "StartReferenceImportJob")
    assert request["clientToken"] == ev["RequestId"]


# --------------------------------------------------------------------------- failure
def test_failed_import_fails_the_deployment_with_the_job_status_message(omics, store):
    omics.fail_next_job("Reference file is not a valid FASTA: line 1 does not start with '>'")
    ev = begin(event("Create", props(store)))
    with pytest.raises(ReferenceImportError, match="not a valid FASTA: line 1"):
        wait(ev)


def test_failed_source_fails_the_deployment_with_its_message(omics, store):
    omics.fail_source("Homo_sapiens", "Access denied reading the source file")
    ev = begin(event("Create", props(store)))
    with pytest.raises(ReferenceImportError, match="Access denied reading the source file"):
        wait(ev)


def test_cancelled_import_fails_the_deployment(omics, store):
    ev = begin(event("Create", props(store)))
    omics.cancel_job(ev["ImportJob"]["JobId"])
    omics.advance(5)
    with pytest.raises(ReferenceImportError, match="CANCEL"):
        is_complete(ev)


def test_a_start_the_service_refuses_fails_at_once(omics, store):
    with pytest.raises(ReferenceImportError, match="ResourceNotFoundException"):
        on_event(event("Create", props("1234567890")))


def test_missing_properties_are_named(omics, store):
    with pytest.raises(ReferenceImportError, match="SourceFile, RoleArn"):
        on_event(event("Create", {"ReferenceStoreId": store, "ReferenceName": "GRCh38"}))


# --------------------------------------------------------------------------- one import at a time
def test_waits_for_the_store_while_another_import_runs(omics, store):
    other = omics.client.start_reference_import_job(
        referenceStoreId=store,
        roleArn=OTHER_ROLE,
        sources=[{"sourceFile": "s3://genomes-bucket/other.fa", "name": "other"}],
    )
    ev = begin(event("Create", props(store)))  # refused: the store is busy, no failure

    assert ev["ImportJob"]["JobId"] is None
    assert ev["PhysicalResourceId"] == f"referenceImportJob/{store}/pending#" + ev["PhysicalResourceId"].split("#")[1]
    response, not_done = wait(ev)

    assert not_done > JOB_SECONDS // POLL  # waited for the other job, then for ours
    jobs = [j for j in omics.jobs.values() if j["kind"] == "reference"]
    assert [j["roleArn"] for j in jobs] == [OTHER_ROLE, ROLE]  # ours started once
    assert omics.jobs[other["id"]]["status"] == "COMPLETED"
    assert reference_of(omics, response)["name"] == "GRCh38"
    assert omics.peak_concurrent_jobs == 1


# --------------------------------------------------------------------------- update
def test_update_that_changes_nothing_imports_nothing(omics, store):
    created = provide(event("Create", props(store)))
    starts, calls = omics.api_calls("StartReferenceImportJob"), omics.api_calls()

    # Role, description and removal policy are not part of what is imported.
    new = props(store, RoleArn=OTHER_ROLE, Description="renamed", RemovalPolicy="destroy")
    updated = provide(event("Update", new, created["PhysicalResourceId"], old=props(store)))

    assert omics.api_calls("StartReferenceImportJob") == starts
    assert omics.api_calls() == calls  # not even a lookup
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert updated["Data"] == created["Data"]


@pytest.mark.parametrize(
    "change",
    [
        {"SourceFile": "s3://genomes-bucket/references/GRCh38/GRCh38_no_alt.fa"},
        {"ReferenceName": "GRCh38-no-alt"},
    ],
)
def test_update_that_changes_the_fasta_or_name_imports_a_new_reference(omics, store, change):
    created = provide(event("Create", props(store)))

    updated = provide(event("Update", props(store, **change), created["PhysicalResourceId"], old=props(store)))

    assert omics.api_calls("StartReferenceImportJob") == 2
    assert updated["PhysicalResourceId"] != created["PhysicalResourceId"]
    assert updated["Data"]["ReferenceId"] != created["Data"]["ReferenceId"]
    # The old reference stays until CloudFormation deletes the old physical id.
    assert created["Data"]["ReferenceId"] in omics.references


def test_rollback_to_the_earlier_properties_reuses_the_earlier_reference(omics, store):
    a, b = props(store), props(store, ReferenceName="GRCh38-no-alt")
    created = provide(event("Create", a))
    updated = provide(event("Update", b, created["PhysicalResourceId"], old=a))
    starts = omics.api_calls("StartReferenceImportJob")

    # A later resource fails: CloudFormation rolls this one back to the old properties.
    rolled_back = provide(event("Update", a, updated["PhysicalResourceId"], old=b))

    assert omics.api_calls("StartReferenceImportJob") == starts
    assert rolled_back["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert rolled_back["Data"] == created["Data"]


# --------------------------------------------------------------------------- delete
def test_delete_with_retain_keeps_the_reference(omics, store):
    created = provide(event("Create", props(store)))

    deleted = provide(event("Delete", props(store), created["PhysicalResourceId"]))

    assert omics.api_calls("DeleteReference") == 0
    assert created["Data"]["ReferenceId"] in omics.references
    assert deleted["PhysicalResourceId"] == created["PhysicalResourceId"]


def test_delete_with_destroy_deletes_the_reference(omics, store):
    destroy = props(store, RemovalPolicy="destroy")
    created = provide(event("Create", destroy))

    deleted = provide(event("Delete", destroy, created["PhysicalResourceId"]))

    assert omics.api_calls("DeleteReference") == 1
    assert created["Data"]["ReferenceId"] not in omics.references
    assert deleted["PhysicalResourceId"] == created["PhysicalResourceId"]
    # Deleting again (a retried request) tolerates the missing reference.
    provide(event("Delete", destroy, created["PhysicalResourceId"]))


def test_replaced_reference_is_deleted_when_cloudformation_deletes_the_old_id(omics, store):
    destroy = props(store, RemovalPolicy="destroy")
    created = provide(event("Create", destroy))
    changed = props(store, RemovalPolicy="destroy", ReferenceName="GRCh38-v2")
    updated = provide(event("Update", changed, created["PhysicalResourceId"], old=destroy))

    provide(event("Delete", destroy, created["PhysicalResourceId"]))  # cleanup phase

    assert created["Data"]["ReferenceId"] not in omics.references
    assert updated["Data"]["ReferenceId"] in omics.references


def test_destroy_fails_clearly_when_read_sets_use_the_reference(omics, store):
    destroy = props(store, RemovalPolicy="destroy")
    created = provide(event("Create", destroy))
    sequence_store = omics.create_sequence_store()
    omics.client.start_read_set_import_job(
        sequenceStoreId=sequence_store,
        roleArn=ROLE,
        sources=[
            {
                "sourceFiles": {"source1": "s3://genomes-bucket/NA12878.bam"},
                "sourceFileType": "BAM",
                "subjectId": "NA12878",
                "sampleId": "NA12878",
                "referenceArn": created["Data"]["ReferenceArn"],
            }
        ],
    )
    omics.advance(JOB_SECONDS)

    with pytest.raises(ReferenceImportError, match=r"ConflictException.*RETAIN"):
        on_event(event("Delete", destroy, created["PhysicalResourceId"]))


# --------------------------------------------------------------------------- timeouts
def test_deploy_after_a_timeout_adopts_the_running_import(omics, store):
    destroy = props(store, RemovalPolicy="destroy")
    first = begin(event("Create", destroy))
    # CloudFormation gives up after an hour: it deletes the half-created resource ...
    provide(event("Delete", destroy, first["PhysicalResourceId"]))
    assert omics.api_calls("DeleteReference") == 0  # nothing to delete yet: still running

    # ... and the next deployment waits for the same job instead of starting another.
    response = provide(event("Create", destroy))

    assert omics.import_jobs_started("reference") == 1
    assert omics.references[response["Data"]["ReferenceId"]]["creationJobId"] == first["ImportJob"]["JobId"]


def test_delete_after_a_timed_out_create_destroys_the_finished_import(omics, store):
    destroy = props(store, RemovalPolicy="destroy")
    first = begin(event("Create", destroy))
    omics.advance(JOB_SECONDS)  # the job finished after CloudFormation stopped waiting

    provide(event("Delete", destroy, first["PhysicalResourceId"]))

    assert omics.references == {}


def test_delete_of_a_create_that_never_started_does_nothing(omics, store):
    physical_id = f"referenceImportJob/{store}/pending#0123456789abcdef"
    provide(event("Delete", props(store, RemovalPolicy="destroy"), physical_id))
    assert omics.api_calls() == 0


def test_adoption_ignores_jobs_of_other_resources(omics, store):
    omics.client.start_reference_import_job(
        referenceStoreId=store,
        roleArn=OTHER_ROLE,
        sources=[{"sourceFile": FASTA, "name": "GRCh38"}],  # same file and name, other owner
    )
    omics.advance(JOB_SECONDS)

    response = provide(event("Create", props(store)))

    assert omics.import_jobs_started("reference") == 2
    assert omics.jobs[omics.references[response["Data"]["ReferenceId"]]["creationJobId"]]["roleArn"] == ROLE


def test_adoption_skips_an_earlier_import_whose_reference_was_deleted(omics, store):
    destroy = props(store, RemovalPolicy="destroy")
    created = provide(event("Create", destroy))
    provide(event("Delete", destroy, created["PhysicalResourceId"]))

    again = provide(event("Create", destroy))

    assert omics.import_jobs_started("reference") == 2
    assert again["Data"]["ReferenceId"] != created["Data"]["ReferenceId"]


def test_handlers_use_the_overridable_client(omics):
    assert reference_import.clients.client("omics") is omics.client


def test_throttling_while_polling_means_not_yet_not_failed(omics, store):
    ev = begin(event("Create", props(store)))
    omics.throttle_fraction = 1.0  # every call throttled, after botocore's own retries
    assert is_complete(ev) == {"IsComplete": False}
    omics.throttle_fraction = 0.0
    assert wait(ev)[0]["Data"]["ReferenceId"] in omics.references


def test_throttled_start_is_retried_by_the_polls(omics, store):
    omics.throttle_fraction = 1.0
    ev = begin(event("Create", props(store)))
    assert ev["ImportJob"]["JobId"] is None
    omics.throttle_fraction = 0.0
    response, _ = wait(ev)
    assert omics.import_jobs_started("reference") == 1
    assert response["Data"]["ReferenceId"] in omics.references
