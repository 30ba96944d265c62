"""The parts the README says are usable alone, composed by hand without OmicsAutoLoad."""

from __future__ import annotations

import functools
import json

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from support.synth import resources_of_type

from omics_autoload_construct import ImportWorkflow, Intake, SequenceStore, Settings, Starter, TrackingTable


@functools.cache
def _template() -> dict:
    app = cdk.App()
    stack = cdk.Stack(app, "Parts")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
    table = TrackingTable(stack, "Tracking", encryption_key=key).table
    store = SequenceStore(stack, "Store", encryption_key=key)
    # The parts fill in the table, the store, the role and the state machine themselves.
    settings = Settings(sequence_store_id=store.sequence_store_id)
    Intake(
        stack, "Intake", bucket=bucket, table=table, settings=settings, encryption_key=key,
        metrics_namespace="Lab",
    )
    workflow = ImportWorkflow(
        stack, "Workflow", bucket=bucket, table=table, sequence_store=store,
        settings=settings, encryption_key=key, metrics_namespace="Lab",
    )
    Starter(
        stack, "Starter", table=table, state_machine=workflow.state_machine,
        settings=settings, encryption_key=key,
    )
    return app.synth().get_stack_by_name("Parts").template


def test_parts_with_a_key_let_cloudwatch_logs_use_it():
    # Their log groups are encrypted with the key: CloudWatch Logs refuses to create them
    # unless the key policy lets the logs service use the key.
    template = _template()
    log_keys = {
        json.dumps(g["Properties"].get("KmsKeyId"))
        for g in resources_of_type(template, "AWS::Logs::LogGroup").values()
    }
    assert log_keys and all("Key" in k for k in log_keys)
    ((_, key),) = resources_of_type(template, "AWS::KMS::Key").items()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    # logs.<region>.amazonaws.com (CDK's own delivery.logs statement is for vended logs only)
    logs = [s for s in statements if '"logs."' in json.dumps(s.get("Principal", {}))]
    assert len(logs) == 1
    assert "kms:GenerateDataKey*" in logs[0]["Action"] and "kms:Decrypt*" in logs[0]["Action"]


def test_metrics_namespace_reaches_the_handlers_and_no_role_may_put_metric_data():
    # The handlers write their metrics as log lines (EMF) under METRICS_NAMESPACE:
    # CloudWatch Logs extracts them, so no function needs cloudwatch:PutMetricData.
    template = _template()
    functions = resources_of_type(template, "AWS::Lambda::Function")
    publishers = ("intake", "import_start", "import_finalize", "completion")
    seen = set()
    for function in functions.values():
        module = function["Properties"]["Handler"].split(".")[-2]
        if module in publishers:
            assert function["Properties"]["Environment"]["Variables"]["METRICS_NAMESPACE"] == "Lab", module
            seen.add(module)
    assert seen == set(publishers)
    actions = [
        action
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert actions and not [a for a in actions if a.startswith("cloudwatch:")]
