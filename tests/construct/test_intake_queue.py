"""The intake queue: the bucket's events wait there (encrypted, TLS-only, 14 days,
dead-lettered after five receives) and reach the intake function in batches; only the
watched bucket of this account may send to it."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from omics_autoload_runtime import contract
from support.configurations import configurations
from support.iam_eval import ACCOUNT, Request, service
from support.synth import example_template, resources_of_type

from omics_autoload_construct import Intake, OmicsAutoLoad, TrackingTable


def _intake_queue(template):
    (logical_id,) = [
        k for k in resources_of_type(template, "AWS::SQS::Queue") if "IntakeQueue" in k and "DeadLetter" not in k
    ]
    return logical_id, template["Resources"][logical_id]["Properties"]


def _mapping(template, logical_id):
    (mapping,) = [
        m["Properties"]
        for m in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    ]
    return mapping


def test_s3_notifications_go_to_the_encrypted_dead_lettered_queue_not_the_function():
    template = example_template()
    logical_id, queue = _intake_queue(template)
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert queue["MessageRetentionPeriod"] == 14 * 86400
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert "IntakeDeadLetterQueue" in queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert queue["VisibilityTimeout"] >= 6 * 60  # six times the function's timeout (Lambda's advice)
    (notifications,) = resources_of_type(template, "Custom::S3BucketNotifications").values()
    config = notifications["Properties"]["NotificationConfiguration"]
    assert "LambdaFunctionConfigurations" not in config
    (queued,) = config["QueueConfigurations"]
    assert queued["QueueArn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    assert queued["Events"] == ["s3:ObjectCreated:*"]
    # S3 no longer invokes the function, so nothing may.
    permissions = resources_of_type(template, "AWS::Lambda::Permission").values()
    assert not [p for p in permissions if p["Properties"]["Principal"] == "s3.amazonaws.com"]


def test_the_function_takes_batches_and_reports_failed_messages_alone():
    template = example_template()
    logical_id, _ = _intake_queue(template)
    mapping = _mapping(template, logical_id)
    assert mapping["BatchSize"] == contract.INTAKE_BATCH_SIZE
    assert mapping["MaximumBatchingWindowInSeconds"] == contract.INTAKE_BATCHING_WINDOW_SECONDS
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # A lone file: the intake window, then the stream's; well within the 10 s.
    assert contract.INTAKE_BATCHING_WINDOW_SECONDS + contract.STREAM_BATCHING_WINDOW_SECONDS <= 5


@pytest.mark.parametrize("name", ["ZeroConfig", "BroughtTopic"])
def test_only_the_watched_bucket_of_this_account_may_send(name):
    configuration = configurations()[name]
    template = configuration.evaluator()
    (path,) = [p for p in configuration.requests(template) if p[0] == "S3 notification -> intake queue"]
    allowed = path[1]
    assert template.decide(allowed) is None
    for context in (
        {**allowed.context, "aws:SourceArn": "arn:aws:s3:::someone-elses-bucket"},
        {**allowed.context, "aws:SourceAccount": "999999999999", "AWS:SourceOwner": "999999999999"},
    ):
        refused = Request(allowed.principal, allowed.action, allowed.resource, context)
        assert template.decide(refused) is not None, refused.describe()
    other_service = Request(service("sns.amazonaws.com"), allowed.action, allowed.resource, allowed.context)
    assert template.decide(other_service) is not None


def test_eventbridge_mode_targets_the_queue():
    template = configurations()["EventBridge"].template
    logical_id, _ = _intake_queue(template)
    (rule,) = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == ["Object Created"]
    ]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    assert "IntakeDeadLetterQueue" in target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]


def test_windows_and_concurrency_beyond_lambdas_limits_are_refused_with_the_fix():
    app = cdk.App()
    stack = cdk.Stack(app, "Limits")
    with pytest.raises(ValueError, match=r"intake_batching_window must be 0-300 seconds.*Duration.seconds\(3\)"):
        OmicsAutoLoad(stack, "AutoLoad", intake_batching_window=Duration.seconds(301))
    table = TrackingTable(stack, "Table")
    from aws_cdk import aws_s3 as s3

    bucket = s3.Bucket(stack, "Bucket")
    with pytest.raises(ValueError, match="max_concurrency must be 2-1000"):
        Intake(stack, "Intake", bucket=bucket, table=table.table, max_concurrency=1)
    # No window: Lambda takes at most 10 messages a batch.
    intake = Intake(stack, "Unbatched", bucket=bucket, table=table.table, batching_window=Duration.seconds(0))
    assert intake.queue is not None
    template = cdk.assertions.Template.from_stack(stack).to_json()
    logical_id = stack.get_logical_id(intake.queue.node.default_child)
    mapping = _mapping(template, logical_id)
    assert mapping["BatchSize"] == 10 and "MaximumBatchingWindowInSeconds" not in mapping


def test_a_reserved_cap_caps_the_queues_poller_too():
    app = cdk.App()
    stack = cdk.Stack(app, "Capped", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    auto_load = OmicsAutoLoad(stack, "AutoLoad", reserved_concurrent_executions=5, dashboard=False)
    template = cdk.assertions.Template.from_stack(stack).to_json()
    mapping = _mapping(template, stack.get_logical_id(auto_load.intake.queue.node.default_child))
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_an_alarm_fires_when_new_objects_wait_in_the_queue():
    from omics_autoload_construct.monitoring import INTAKE_BACKLOG_ALARM_SECONDS

    template = configurations()["EventBridge"].template  # alarms=True
    logical_id, _ = _intake_queue(template)
    (alarm,) = [
        a["Properties"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
    ]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical_id, "QueueName"]}}]
    assert alarm["Threshold"] == INTAKE_BACKLOG_ALARM_SECONDS and alarm["Statistic"] == "Maximum"
    assert alarm["AlarmActions"]
