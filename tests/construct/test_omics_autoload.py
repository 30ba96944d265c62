"""OmicsAutoLoad with every option on, and the errors a user gets for bad props."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from support.synth import REFERENCE_ARN, maximal_template, maximal_validation_report, resources_of_type

from omics_autoload_construct import OmicsAutoLoad


def _unacknowledged(report):
    return [
        f"{v['ruleName']} at {c['constructPath']}"
        for p in report["pluginReports"]
        for v in p.get("violations", [])
        for c in v["violatingConstructs"]
    ]


def test_maximal_configuration_passes_the_rule_packs():
    report = maximal_validation_report()
    # A missing report reads as no plugin reports: make sure the three packs really ran.
    assert {p["pluginName"] for p in report["pluginReports"]} == {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"}
    assert _unacknowledged(report) == []


def test_eventbridge_mode_replaces_s3_notifications_and_filters_keys():
    template = maximal_template()
    for notifications in resources_of_type(template, "Custom::S3BucketNotifications").values():
        # The user's bucket has EventBridge on; the construct adds no notification of its own.
        config = notifications["Properties"]["NotificationConfiguration"]
        assert "LambdaFunctionConfigurations" not in config and "QueueConfigurations" not in config
        assert config.get("EventBridgeConfiguration") == {}
    patterns = [r["Properties"].get("EventPattern") for r in resources_of_type(template, "AWS::Events::Rule").values()]
    (created,) = [p for p in patterns if p and p.get("detail-type") == ["Object Created"]]
    assert created["source"] == ["aws.s3"]
    assert created["detail"]["object"]["key"] == [{"wildcard": "runs/*.fastq.gz"}, {"wildcard": "runs/*.bam"}]


def _policy_statements(template, role_fragment):
    out = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"].get("Roles", []))
        if role_fragment in roles:
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def test_import_role_reads_only_the_prefix_and_decrypts_with_the_bucket_key():
    template = maximal_template()
    (role_id,) = [k for k in resources_of_type(template, "AWS::IAM::Role") if "ImportWorkflowImportRole" in k]
    role = template["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "omics.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    statements = _policy_statements(template, role_id)
    reads = [s for s in statements if "s3:GetObject" in s["Action"]]
    assert len(reads) == 1 and json.dumps(reads[0]["Resource"]).endswith('"/runs/*"]]}')
    decrypt = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypt and "UserKey" in json.dumps(decrypt[0]["Resource"])


def test_only_the_start_function_may_pass_the_import_role_and_only_to_omics():
    template = maximal_template()
    passers = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "iam:PassRole" in statement["Action"] and "ImportWorkflowImportRole" in json.dumps(statement):
                passers.append((json.dumps(policy["Properties"]["Roles"]), statement))
    assert len(passers) == 1
    roles, statement = passers[0]
    assert "StartFunction" in roles
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "omics.amazonaws.com"}}
    assert "ImportRole" in json.dumps(statement["Resource"])


# Every action the construct grants on Resource "*", and why: none of them supports a
# resource-level permission (AWS Service Authorization Reference).
WILDCARD_RESOURCE_ACTIONS = {
    "dynamodb:ListStreams": "no resource types; added by the stream event source mapping",
    "xray:PutTraceSegments": "no resource types; Step Functions tracing",
    "xray:PutTelemetryRecords": "no resource types; Step Functions tracing",
    "xray:GetSamplingRules": "no resource types; Step Functions tracing",
    "xray:GetSamplingTargets": "no resource types; Step Functions tracing",
    "logs:CreateLogDelivery": "no resource types; Step Functions logging",
    "logs:GetLogDelivery": "no resource types; Step Functions logging",
    "logs:UpdateLogDelivery": "no resource types; Step Functions logging",
    "logs:DeleteLogDelivery": "no resource types; Step Functions logging",
    "logs:ListLogDeliveries": "no resource types; Step Functions logging",
    "logs:PutResourcePolicy": "no resource types; Step Functions logging",
    "logs:DescribeResourcePolicies": "no resource types; Step Functions logging",
    "logs:DescribeLogGroups": "no resource types; Step Functions logging",
}


@pytest.mark.parametrize("template_of", ["example", "maximal"])
def test_wildcard_resources_only_for_actions_without_resource_level_permissions(template_of):
    from support.synth import example_template

    template = example_template() if template_of == "example" else maximal_template()
    construct_policies = {
        k: p for k, p in resources_of_type(template, "AWS::IAM::Policy").items()
        if k.startswith("AutoLoad") and "Notifications" not in k
    }
    assert construct_policies
    for logical_id, policy in construct_policies.items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] != "*":
                continue
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            assert set(actions) <= set(WILDCARD_RESOURCE_ACTIONS), (logical_id, actions)


def test_handlers_get_the_options_reference_and_topic():
    template = maximal_template()
    functions = resources_of_type(template, "AWS::Lambda::Function")
    start = next(f for k, f in functions.items() if "StartFunction" in k)
    env = start["Properties"]["Environment"]["Variables"]
    assert env["REFERENCE_ARN"] == ""
    ((parameter_id, parameter),) = resources_of_type(template, "AWS::SSM::Parameter").items()
    assert env["REFERENCE_PARAMETER_NAME"] == parameter["Properties"]["Name"]
    (policy,) = [p for k, p in resources_of_type(template, "AWS::IAM::Policy").items() if "StartFunction" in k]
    reads = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "ssm:GetParameter" in s["Action"]]
    assert reads and parameter_id in json.dumps(reads)
    options = json.loads(env["ASSEMBLY_OPTIONS"])
    assert options["orphan_policy"] == "IMPORT_SINGLE" and options["max_sources_per_job"] == 50
    assert env["LOG_IDENTIFIERS"] == "true"
    assert env["OMICS_CALLS_PER_SECOND"] == "2.5"
    assert "NOTIFICATION_TOPIC_ARN" in env


def test_intake_gets_the_prefixes_that_wait_for_a_sheet_its_timeout_and_the_marker():
    functions = resources_of_type(maximal_template(), "AWS::Lambda::Function")
    intake = next(f for k, f in functions.items() if "IntakeFunction" in k)
    env = intake["Properties"]["Environment"]["Variables"]
    assert json.loads(env["REQUIRE_SHEET_PREFIXES"]) == ["runs/novaseq/"]
    assert env["SHEET_WAIT_SECONDS"] == "43200"
    assert env["RUN_COMPLETE_MARKER"] == "CopyComplete.txt"


@pytest.mark.parametrize(
    ("props", "fragment"),
    [
        ({"require_sample_sheet": "runs/"}, "list of key prefixes, e.g. ['runs/']"),
        ({"require_sample_sheet": ["/runs", ""]}, "give key prefixes such as 'runs/'"),
        ({"require_sample_sheet": True, "illumina_sheet_name": None}, "needs illumina_sheet_name"),
        ({"run_complete_marker": "CopyComplete.txt"}, "run_complete_marker needs require_sample_sheet"),
        ({"require_sample_sheet": True, "run_complete_marker": "/Logs/"}, "path from the run folder"),
        ({"require_sample_sheet": True, "sample_sheet_timeout": cdk.Duration.seconds(5)}, "between 1 minute"),
    ],
)
def test_sheet_wait_props_name_the_fix(props, fragment):
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ValueError, match="invalid OmicsAutoLoad props") as error:
        OmicsAutoLoad(stack, "AutoLoad", **props)
    assert fragment in str(error.value)


def test_alarms_notify_the_topic():
    template = maximal_template()
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    descriptions = " ".join(a["Properties"].get("AlarmDescription", "") for a in alarms.values())
    for words in ("failed to import", "dead-letter", "non-final state", "executions failed", "timed out",
                  "function errors", "throttled"):
        assert words in descriptions, words
    (topic_id,) = resources_of_type(template, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    (topic,) = resources_of_type(template, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]


def test_dashboard_shows_imports_failures_backlog_and_latency():
    (dashboard,) = resources_of_type(maximal_template(), "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Files per hour", "Backlog", "Object created", "Latest failures and their reasons"):
        assert title in body


def test_every_bad_prop_is_reported_at_once():
    stack = cdk.Stack(cdk.App(), "Bad")
    bucket = s3.Bucket(stack, "B")
    with pytest.raises(ValueError) as error:
        OmicsAutoLoad(
            stack,
            "AutoLoad",
            bucket=bucket,
            bucket_props={"versioned": False},
            reference_arn=REFERENCE_ARN,
            reference=object(),  # type: ignore[arg-type]
            read_set_patterns=["(unclosed"],
            max_sources_per_job=101,
            key_prefix="/runs",
            omics_calls_per_second=0,
            max_concurrent_import_jobs=0,
            illumina_sheet_name="omics-samplesheet.csv",
            illumina_sheet_columns={"patient": ["Patient_ID"]},
            batching_window=cdk.Duration.minutes(6),
        )
    message = str(error.value)
    expected = ("bucket_props", "reference", "(unclosed", "101", "key_prefix", "max_concurrent_import_jobs")
    assert "batching_window must be 0-300 seconds" in message
    for fragment in (*expected, "omics_calls_per_second", "other than sample_sheet_name", "['patient']"):
        assert fragment in message, fragment


@pytest.mark.parametrize("value", [0, 1001, 2.5, True])
def test_max_concurrent_import_jobs_must_be_1_to_1000(value):
    from omics_autoload_construct._import_slot import check_max_concurrent_import_jobs

    assert "max_concurrent_import_jobs" in (check_max_concurrent_import_jobs(value) or "")
    assert check_max_concurrent_import_jobs(1) is None and check_max_concurrent_import_jobs(1000) is None


def test_post_import_tagging_may_touch_only_the_watched_objects():
    template = maximal_template()
    (policy,) = [
        p for k, p in resources_of_type(template, "AWS::IAM::Policy").items() if "FinalizeFunction" in k
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (tagging,) = [s for s in statements if "s3:PutObjectTagging" in s["Action"]]
    assert json.dumps(tagging["Resource"]).endswith('"/runs/*"]]}')
    assert not [s for s in statements if "s3:DeleteObject" in s["Action"]]
    functions = resources_of_type(template, "AWS::Lambda::Function")
    finalize = next(f for k, f in functions.items() if "FinalizeFunction" in k)
    assert finalize["Properties"]["Environment"]["Variables"]["POST_IMPORT_ACTION"] == "TAG"


def test_transition_adds_a_lifecycle_rule_on_the_imported_tag():
    from aws_cdk.assertions import Match, Template

    from omics_autoload_construct import PostImportAction

    stack = cdk.Stack(cdk.App(), "Transition")
    OmicsAutoLoad(stack, "AutoLoad", post_import_action=PostImportAction.TRANSITION, dashboard=False)
    Template.from_stack(stack).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "TagFilters": [{"Key": "omics-autoload:imported", "Value": "true"}],
                                "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 0}],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_a_static_reference_arn_is_passed_as_it_is():
    from aws_cdk.assertions import Match, Template

    stack = cdk.Stack(cdk.App(), "Static")
    OmicsAutoLoad(stack, "AutoLoad", reference_arn=REFERENCE_ARN, dashboard=False)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "omics_autoload_runtime.handlers.import_start.handler",
            "Environment": {
                "Variables": Match.object_like({"REFERENCE_ARN": REFERENCE_ARN, "REFERENCE_PARAMETER_NAME": ""})
            },
        },
    )


KEY_PROPERTY = {
    "AWS::Logs::LogGroup": ("KmsKeyId",),
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
    "AWS::StepFunctions::StateMachine": ("EncryptionConfiguration", "KmsKeyId"),
    "AWS::Omics::SequenceStore": ("SseConfig", "KeyArn"),
    "AWS::Omics::ReferenceStore": ("SseConfig", "KeyArn"),
    "AWS::Lambda::Function": ("KmsKeyArn",),
}


def test_the_one_encryption_key_encrypts_everything_the_construct_creates():
    template = maximal_template()
    (key_id,) = [k for k in resources_of_type(template, "AWS::KMS::Key") if k.startswith("UserKey")]
    unencrypted = []
    for kind, path in KEY_PROPERTY.items():
        for logical_id, resource in resources_of_type(template, kind).items():
            if not logical_id.startswith(("AutoLoad", "Reference")) or "BucketNotificationsHandler" in logical_id:
                continue
            value = resource["Properties"]
            for part in path:
                value = value.get(part, {}) if isinstance(value, dict) else {}
            if key_id not in json.dumps(value):
                unencrypted.append(f"{kind} {logical_id}")
    assert unencrypted == []
    assert not [k for k in resources_of_type(template, "AWS::KMS::Key") if k.startswith("AutoLoad")]


def _function_statements(template, fragment):
    return [
        statement
        for logical_id, policy in resources_of_type(template, "AWS::IAM::Policy").items()
        if fragment in logical_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement):
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def test_starter_may_describe_only_the_import_workflow_executions():
    # The starter takes over a stale claim only when DescribeExecution says its batch's
    # workflow no longer runs; without the grant every such batch fails until its DLQ.
    template = maximal_template()
    (statement,) = [s for s in _function_statements(template, "Starter") if "states:DescribeExecution" in _actions(s)]
    resource = json.dumps(statement["Resource"])
    assert ":execution:" in resource and "ImportWorkflowStateMachine" in resource
    assert resource.endswith(':*"]]}')


def test_the_sweep_may_also_delete_post_import_markers():
    # With a post-import action, the sweep deletes the POST#<read set> item it resolved.
    template = maximal_template()
    deletes = [s for s in _function_statements(template, "CompletionFunction") if "dynamodb:DeleteItem" in _actions(s)]
    keys = sorted(k for s in deletes for k in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
    assert keys == ["POST#*", "SLOT#*", "SLOTQ"]
    for fragment in ("FinalizeFunction", "StartFunction", "CapacityFunction"):
        for s in _function_statements(template, fragment):
            if "dynamodb:DeleteItem" in _actions(s):
                assert "POST#*" not in json.dumps(s), fragment


def test_only_the_start_function_reads_the_reference_parameter():
    template = maximal_template()
    readers = [
        logical_id
        for logical_id, policy in resources_of_type(template, "AWS::IAM::Policy").items()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("ssm:") for a in _actions(s))
        and logical_id.startswith("AutoLoad")
    ]
    assert readers and all("StartFunction" in r for r in readers), readers


def test_cloudwatch_may_use_the_key_of_the_alarm_topic_it_publishes_to():
    # An alarm action publishing to an SSE-KMS topic fails (silently) unless the key
    # policy lets CloudWatch use the customer-managed key.
    template = maximal_template()
    (topic,) = resources_of_type(template, "AWS::SNS::Topic").values()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    (statement,) = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_eventbridge_mode_turns_eventbridge_on_for_the_bucket_it_creates():
    # Without it, S3 sends no Object Created events and nothing is ever imported.
    from omics_autoload_construct import TriggerMode

    app = cdk.App()
    stack = cdk.Stack(app, "EventBridgeBucket")
    OmicsAutoLoad(stack, "AutoLoad", trigger_mode=TriggerMode.EVENTBRIDGE, dashboard=False)
    template = app.synth().get_stack_by_name("EventBridgeBucket").template
    (bucket_id,) = [k for k in resources_of_type(template, "AWS::S3::Bucket") if k.startswith("AutoLoadBucket")]
    (notifications,) = resources_of_type(template, "Custom::S3BucketNotifications").values()
    assert notifications["Properties"]["BucketName"] == {"Ref": bucket_id}
    config = notifications["Properties"]["NotificationConfiguration"]
    assert config == {"EventBridgeConfiguration": {}}


def test_a_lone_file_waits_2_s_for_its_batch_and_a_full_batch_not_at_all():
    from support.synth import example_template

    # Lambda invokes the starter when BatchSize records are buffered or the window ends,
    # whichever comes first: a lone file waits the window only (slow bursts gather in the
    # starter's queue: test_starter_gather).
    mappings = resources_of_type(example_template(), "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [m for m in mappings if "FilterCriteria" in m["Properties"]]
    assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["Properties"]["BatchSize"] == 100
