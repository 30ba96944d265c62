"""Every AWS call of the e2e pipeline, evaluated against the synthesized policies.

moto allows everything; here each call a handler (or the state machine) makes is
turned into the IAM request AWS would authorize and decided against that function's
role in the synthesized example app (``support.iam_eval``). The harness's own resource
names are translated to the template's, so a resource or condition key the policy does
not name fails here as it would in a real account.
"""

from __future__ import annotations

import functools
from collections import Counter

from support import pipeline
from support.call_recorder import STATE_MACHINE, Call, iam_requests, recording
from support.iam_eval import Request, Template
from support.pipeline import Pipeline
from support.synth import example_template

FILES = [
    "runs/240101_A01/NA12878_S1_L001_R1_001.fastq.gz",
    "runs/240101_A01/NA12878_S1_L001_R2_001.fastq.gz",
    "runs/240101_A01/NA12891_S2_L001_R1_001.fastq.gz",
    "runs/240101_A01/NA12891_S2_L001_R2_001.fastq.gz",
    "runs/240101_A01/RunInfo.xml",
]
# Harness handler name -> the function's handler module.
MODULES = {name: "import_slot" if name == "capacity" else name for name in pipeline.HANDLERS}


@functools.cache
def _recorded() -> tuple[list[Call], str]:
    with recording() as calls, Pipeline(reference=False, state_machine=True) as pipe:
        pipe.upload(FILES)
        pipe.run()
        assert pipe.all_terminal() and not pipe.handler_failures, pipe.handler_failures
        store_id = pipe.store_id
    return list(calls), store_id


def _template_names(template: Template, store_id: str) -> dict[str, str]:
    """Harness name -> the name the template gives the same resource."""
    (table,) = template.of_type("AWS::DynamoDB::Table")
    (machine,) = template.of_type("AWS::StepFunctions::StateMachine")
    (store,) = template.of_type("AWS::Omics::SequenceStore")
    (bucket,) = [b for b in template.of_type("AWS::S3::Bucket") if b.startswith("AutoLoadBucket")]
    (role,) = [r for r in template.of_type("AWS::IAM::Role") if "ImportRole" in r]
    functions = template.of_type("AWS::Lambda::Function")
    (namespace,) = {
        f["Properties"].get("Environment", {}).get("Variables", {}).get("METRICS_NAMESPACE")
        for f in functions.values()
    } - {None}
    return {
        pipeline.TABLE: template.attribute(table, "Ref"),
        pipeline.BUCKET: template.attribute(bucket, "Ref"),
        pipeline.STATE_MACHINE_NAME: template.attribute(machine, "Name"),
        pipeline.ROLE_ARN: template.role_arn(role),
        store_id: template.attribute(store, "SequenceStoreId"),
        "OmicsAutoLoadTest": namespace,
    }


def _translate(value, names: dict[str, str]):
    if isinstance(value, list):
        return [_translate(v, names) for v in value]
    # Longest first: the state machine's harness name is part of the import role's.
    for harness in sorted(names, key=len, reverse=True):
        value = value.replace(harness, names[harness])
    return value


def _principal(template: Template, function: str) -> str:
    if function == STATE_MACHINE:
        (machine,) = template.of_type("AWS::StepFunctions::StateMachine").values()
        return str(template.resolve(machine["Properties"]["RoleArn"]))
    handler = f"omics_autoload_runtime.handlers.{MODULES[function]}.handler"
    (logical_id,) = [
        k for k, f in template.of_type("AWS::Lambda::Function").items() if f["Properties"]["Handler"] == handler
    ]
    return template.function_role(logical_id)


def _requests(template: Template) -> list[tuple[Call, Request]]:
    calls, store_id = _recorded()
    names = _template_names(template, store_id)
    out = []
    for call in calls:
        for action, resource, context in iam_requests(call):
            context = {k: _translate(v, names) for k, v in context.items()}
            request = Request(_principal(template, call.function), action, _translate(resource, names), context)
            out.append((call, request))
    return out


def test_every_call_of_every_function_and_the_state_machine_is_allowed():
    template = Template(example_template())
    refused = [
        f"{call.function} {call.service}:{call.operation}: {request.describe()}: {reason}"
        for call, request in _requests(template)
        if (reason := template.decide(request)) is not None
    ]
    assert refused == []


def test_the_run_exercised_every_function_and_the_state_machine():
    calls, _ = _recorded()
    by_function = Counter(call.function for call in calls)
    assert set(by_function) == {*pipeline.HANDLERS, STATE_MACHINE}
    print(f"\n[calls evaluated] {len(_requests(Template(example_template())))} by {dict(by_function)}")


def test_a_call_outside_the_policy_is_refused():
    # The evaluation is not vacuous: the intake may not start executions, and the start
    # function may not delete arbitrary items (its DeleteItem is limited by LeadingKeys).
    template = Template(example_template())
    intake, start = _principal(template, "intake"), _principal(template, "import_start")
    (machine,) = template.of_type("AWS::StepFunctions::StateMachine")
    (table,) = template.of_type("AWS::DynamoDB::Table")
    assert template.decide(Request(intake, "states:StartExecution", template.attribute(machine, "Arn"))) is not None
    delete = Request(start, "dynamodb:DeleteItem", template.attribute(table, "Arn"),
                     {"dynamodb:LeadingKeys": ["OBJ#s3://bucket/key"]})
    assert template.decide(delete) is not None
    assert template.decide(Request(start, delete.action, delete.resource, {"dynamodb:LeadingKeys": ["SLOT#1"]})) is None
