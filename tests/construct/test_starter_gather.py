"""The starter's gather queue (issue 14): encrypted, TLS-only, dead-lettered, and the only
queue the starter may send to; its event source gathers up to a job for up to 60 s."""

from __future__ import annotations

import json

from aws_cdk import Duration
from omics_autoload_runtime import contract
from support.synth import example_template, resources_of_type

from omics_autoload_construct.starter import check_batching_window


def _gather_queue(template):
    (logical_id,) = [k for k in resources_of_type(template, "AWS::SQS::Queue") if "StarterGatherQueue" in k]
    return logical_id, template["Resources"][logical_id]["Properties"]


def test_the_gather_queue_is_encrypted_with_the_key_and_dead_lettered():
    template = example_template()
    logical_id, queue = _gather_queue(template)
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert "StarterDeadLetterQueue" in queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert queue["VisibilityTimeout"] >= 6 * 60  # six times the starter's timeout (Lambda's advice)
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": logical_id} in p["Properties"]["Queues"]
    ]
    (statements,) = policies
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )


def test_its_event_source_gathers_a_job_for_at_most_the_window():
    template = example_template()
    logical_id, _ = _gather_queue(template)
    (mapping,) = [
        m["Properties"]
        for m in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    ]
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == contract.GATHER_WINDOW_SECONDS
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (stream,) = [
        m["Properties"]
        for m in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
        if "StreamArn" in json.dumps(m["Properties"]["EventSourceArn"])
    ]
    assert stream["MaximumBatchingWindowInSeconds"] == contract.STREAM_BATCHING_WINDOW_SECONDS


def test_only_the_starter_may_send_to_it():
    template = example_template()
    logical_id, _ = _gather_queue(template)
    senders = []
    queue_arn = {"Fn::GetAtt": [logical_id, "Arn"]}
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if any(a.startswith("sqs:SendMessage") for a in actions) and queue_arn in resources:
                senders += [r["Ref"] for r in policy["Properties"]["Roles"]]
    assert senders and all("Starter" in role for role in senders)
    functions = resources_of_type(template, "AWS::Lambda::Function")
    with_url = [
        k
        for k, f in functions.items()
        if f["Properties"].get("Environment", {}).get("Variables", {}).get("GATHER_QUEUE_URL")
    ]
    assert with_url and all("Starter" in k for k in with_url)


def test_a_gather_window_beyond_lambdas_limit_is_refused_with_the_fix():
    problem = check_batching_window(Duration.seconds(301), "gather_window", 60)
    assert problem and "gather_window must be 0-300 seconds" in problem and "Duration.seconds(60)" in problem
