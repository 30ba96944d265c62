"""Every AWS call of the e2e pipeline, evaluated against the synthesized policies.

moto allows everything; here each call a handler (or the state machine) makes is
turned into the IAM request AWS would authorize and decided against that function's
role (``support.iam_eval``) in every evaluated configuration (``support.configurations``):
one recorded run of the pipeline is re-mapped to each pipeline configuration's
resources, and the reference custom resource's handlers, driven like the CDK Provider
drives them, to the ReferenceGenome's. The harness's own resource names are translated
to the template's, so a resource or condition key the policy does not name fails here
as it would in a real account.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.handlers import reference_provider
from support import pipeline
from support.call_recorder import STATE_MACHINE, Call, iam_requests, recording
from support.configurations import NAMES, configurations
from support.iam_eval import Request, Template
from support.omics_double import OmicsDouble
from support.pipeline import Pipeline

PIPELINES = [name for name in NAMES if name != "ReferenceWithKey"]
FILES = [
    "runs/240101_A01/NA12878_S1_L001_R1_001.fastq.gz",
    "runs/240101_A01/NA12878_S1_L001_R2_001.fastq.gz",
    "runs/240101_A01/NA12891_S2_L001_R1_001.fastq.gz",
    "runs/240101_A01/NA12891_S2_L001_R2_001.fastq.gz",
    "runs/240101_A01/RunInfo.xml",
    "runs/240101_A01/NA12878.bam",  # aligned: the import needs the reference, when there is one
]
DROPPED = "runs/240102_A02/HG002.ubam"
# Harness handler name -> the function's handler (module.function).
HANDLERS = {name: f"{'import_slot' if name == 'capacity' else name}.handler" for name in pipeline.HANDLERS}
REFERENCE_HANDLERS: dict[str, Callable[..., Any]] = {
    "reference_on_event": reference_provider.on_event,
    "reference_is_complete": reference_provider.is_complete,
}
HANDLERS.update({name: f"reference_provider.{name.removeprefix('reference_')}" for name in REFERENCE_HANDLERS})
# The harness's names for the reference import (the template's come from its ReferenceGenome).
REFERENCE_ROLE = f"arn:aws:iam::{pipeline.ACCOUNT}:role/reference-import"
FASTA = "s3://genomes-bucket/hg38.fa"


@functools.cache
def _recorded(reference: bool = False) -> tuple[list[Call], dict[str, str]]:
    """One run of the pipeline: its calls, and the harness's names for the ids it made."""
    # The prefixes of the configurations that watch some (the files are all under runs/).
    env = {"KEY_PREFIXES": '["runs/", "aligned/"]'}
    with recording() as calls, Pipeline(reference=reference, state_machine=True, env=env) as pipe:
        pipe.upload(FILES)
        pipe.run()
        # An event that never came: reconciliation lists the prefixes and sends it through intake.
        pipe.put(DROPPED)
        pipe.settle()
        assert pipe.reconcile()["untracked"] == 1
        pipe.run()
        assert pipe.all_terminal() and not pipe.handler_failures, pipe.handler_failures
        made = {"store": pipe.store_id, "reference": pipe.reference_arn}
    return list(calls), made


def _template_names(template: Template, made: dict[str, str]) -> dict[str, str]:
    """Harness name -> the name the template gives the same resource."""
    (table,) = template.of_type("AWS::DynamoDB::Table")
    (machine,) = _import_workflow(template)
    (store,) = template.of_type("AWS::Omics::SequenceStore")
    # The data bucket: the construct's own, or the user's (Maximal); never the access logs.
    (bucket,) = [b for b in template.of_type("AWS::S3::Bucket") if "AccessLogs" not in b and "Inventory" not in b]
    (role,) = [r for r in template.of_type("AWS::IAM::Role") if r.startswith("AutoLoadImportWorkflowImportRole")]
    functions = template.of_type("AWS::Lambda::Function")
    (namespace,) = {
        f["Properties"].get("Environment", {}).get("Variables", {}).get("METRICS_NAMESPACE")
        for f in functions.values()
    } - {None}
    names = {
        pipeline.TABLE: template.attribute(table, "Ref"),
        pipeline.BUCKET: template.attribute(bucket, "Ref"),
        pipeline.STATE_MACHINE_NAME: template.attribute(machine, "Name"),
        pipeline.ROLE_ARN: template.role_arn(role),
        made["store"]: template.attribute(store, "SequenceStoreId"),
        "OmicsAutoLoadTest": namespace,
    }
    for reference in template.of_type("Custom::OmicsReference"):
        (parameter,) = template.of_type("AWS::SSM::Parameter")
        names[pipeline.REFERENCE_PARAMETER] = template.attribute(parameter, "Ref")
        names[made["reference"]] = template.attribute(reference, "ReferenceArn")
    return names


def _reference_names(template: Template, made: dict[str, str]) -> dict[str, str]:
    (store,) = template.of_type("AWS::Omics::ReferenceStore")
    (role,) = [r for r in template.of_type("AWS::IAM::Role") if "ImportRole" in r]
    return {made["store"]: template.attribute(store, "ReferenceStoreId"), REFERENCE_ROLE: template.role_arn(role)}


def _import_workflow(template: Template) -> list[str]:
    return [m for m in template.of_type("AWS::StepFunctions::StateMachine") if "ImportWorkflow" in m]


def _translate(value, names: dict[str, str]):
    if isinstance(value, list):
        return [_translate(v, names) for v in value]
    # Longest first: the state machine's harness name is part of the import role's.
    for harness in sorted(names, key=len, reverse=True):
        value = value.replace(harness, names[harness])
    return value


def _principal(template: Template, function: str) -> str:
    if function == STATE_MACHINE:
        (machine,) = _import_workflow(template)
        return str(template.resolve(template.resources[machine]["Properties"]["RoleArn"]))
    handler = f"omics_autoload_runtime.handlers.{HANDLERS[function]}"
    (logical_id,) = [
        k for k, f in template.of_type("AWS::Lambda::Function").items() if f["Properties"]["Handler"] == handler
    ]
    return template.function_role(logical_id)


@functools.cache
def _reference_recorded() -> tuple[list[Call], dict[str, str]]:
    """Create then delete (retained) a reference, as the Provider drives the two handlers."""
    # The handler asks for jobs created in the last days: the double's clock must be real.
    double = OmicsDouble(clock=time.time, job_duration_seconds=60)
    store_id = double.create_reference_store()
    properties = {
        "ReferenceStoreId": store_id, "SourceFile": FASTA, "ReferenceName": "hg38", "RoleArn": REFERENCE_ROLE,
        "RemovalPolicy": "retain",
    }
    clients.override("omics", double.client)
    try:
        # The recorder attributes calls to the harness's HANDLERS: these join them.
        with mock.patch.dict(pipeline.HANDLERS, REFERENCE_HANDLERS), recording() as calls:
            created = _provide(double, _event("Create", properties))
            _provide(double, _event("Delete", properties, created["PhysicalResourceId"]))
    finally:
        clients.reset()
    return list(calls), {"store": store_id}


def _event(request_type: str, properties: dict[str, Any], physical_id: str | None = None) -> dict[str, Any]:
    event = {
        "RequestType": request_type, "RequestId": str(uuid.uuid4()), "ResourceProperties": properties,
        "StackId": f"arn:aws:cloudformation:{pipeline.REGION}:{pipeline.ACCOUNT}:stack/Stack/guid",
        "LogicalResourceId": "Reference", "ResourceType": "Custom::OmicsReference",
    }
    return event if physical_id is None else {**event, "PhysicalResourceId": physical_id}


def _provide(double: OmicsDouble, event: dict[str, Any]) -> dict[str, Any]:
    event = {**event, **pipeline.HANDLERS["reference_on_event"](event, None)}
    for _ in range(100):
        result = pipeline.HANDLERS["reference_is_complete"](event, None)
        if result["IsComplete"]:
            return {**event, **result}
        double.advance(30)
    raise AssertionError("the reference import never completed")


def _has_function(template: Template, function: str) -> bool:
    handler = f"omics_autoload_runtime.handlers.{HANDLERS.get(function, '')}"
    return any(f["Properties"]["Handler"] == handler for f in template.of_type("AWS::Lambda::Function").values())


def _requests(template: Template, calls: list[Call], names: dict[str, str]) -> Iterator[tuple[Call, Request]]:
    for call in calls:
        if call.function == "reconcile" and not _has_function(template, call.function):
            continue  # reconciliation is opt-in: only the configurations that turn it on have it
        for action, resource, context in iam_requests(call):
            context = {k: _translate(v, names) for k, v in context.items()}
            yield call, Request(_principal(template, call.function), action, _translate(resource, names), context)


def _all_requests(name: str) -> tuple[Template, list[tuple[Call, Request]]]:
    """The configuration's evaluator and every recorded call, named as in its template."""
    template = configurations()[name].evaluator()
    if name in PIPELINES:
        # A configuration with a reference runs the pipeline with one (the starter reads its ARN).
        calls, made = _recorded(reference=bool(template.of_type("Custom::OmicsReference")))
        return template, list(_requests(template, calls, _template_names(template, made)))
    calls, made = _reference_recorded()
    return template, list(_requests(template, calls, _reference_names(template, made)))


@pytest.mark.parametrize("name", NAMES)
def test_every_call_of_every_function_and_the_state_machine_is_allowed(name):
    template, requests = _all_requests(name)
    refused = [
        f"{call.function} {call.service}:{call.operation}: {request.describe()}: {reason}"
        for call, request in requests
        if (reason := template.decide(request)) is not None
    ]
    assert requests
    assert refused == []


def test_the_runs_exercised_every_function_and_the_state_machine():
    by_function = Counter(call.function for call in _recorded()[0])
    assert set(by_function) == {*pipeline.HANDLERS, STATE_MACHINE}
    reference = Counter(call.operation for call in _reference_recorded()[0])
    assert {"StartReferenceImportJob", "GetReferenceImportJob"} <= set(reference), reference
    # Maximal has a reference: its run reads the reference ARN from the SSM parameter.
    assert "ssm:GetParameter" in {request.action for _, request in _all_requests("Maximal")[1]}
    # The configurations with reconciliation evaluate its listing of each watched prefix.
    for name in ("Maximal", "BroughtTopic"):
        listed = {r.context.get("s3:prefix") for c, r in _all_requests(name)[1] if c.function == "reconcile"
                  and r.action == "s3:ListBucketVersions"}
        assert listed == {"runs/", "aligned/"}, (name, listed)
    counts = {name: len(_all_requests(name)[1]) for name in NAMES}
    print(f"\n[calls evaluated] {counts} by {dict(by_function)}, reference: {dict(reference)}")


@pytest.mark.parametrize("name", PIPELINES)
def test_a_call_outside_the_policy_is_refused(name):
    # The evaluation is not vacuous: the intake may not start executions, and the start
    # function may not delete arbitrary items (its DeleteItem is limited by LeadingKeys).
    template = configurations()[name].evaluator()
    intake, start = _principal(template, "intake"), _principal(template, "import_start")
    (machine,) = _import_workflow(template)
    (table,) = template.of_type("AWS::DynamoDB::Table")
    assert template.decide(Request(intake, "states:StartExecution", template.attribute(machine, "Arn"))) is not None
    delete = Request(start, "dynamodb:DeleteItem", template.attribute(table, "Arn"),
                     {"dynamodb:LeadingKeys": ["OBJ#s3://bucket/key"]})
    assert template.decide(delete) is not None
    assert template.decide(Request(start, delete.action, delete.resource, {"dynamodb:LeadingKeys": ["SLOT#1"]})) is None


def test_a_retained_reference_may_not_be_deleted():
    # ReferenceWithKey retains its reference: its onEvent handler has no DeleteReference.
    template = configurations()["ReferenceWithKey"].evaluator()
    (store,) = template.of_type("AWS::Omics::ReferenceStore")
    store_arn = template.attribute(store, "Arn")
    on_event = _principal(template, "reference_on_event")
    assert template.decide(Request(on_event, "omics:DeleteReference", f"{store_arn}/reference/5000000005")) is not None
