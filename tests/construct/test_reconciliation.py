"""Reconciliation in the template: its schedule, its alarm, and policies evaluated as IAM would.

The configurations (``support.configurations``): Maximal reads an S3 Inventory report
(its own KMS-encrypted destination bucket), BroughtTopic lists the bucket every 6 hours.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from omics_autoload_runtime import contract
from support.configurations import configurations
from support.iam_eval import Request

from omics_autoload_construct import OmicsAutoLoad, Reconciliation

HANDLER = "omics_autoload_runtime.handlers.reconcile.handler"


def _function(name):
    configuration = configurations()[name]
    (logical_id,) = [
        logical_id
        for logical_id, resource in configuration.template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("Handler") == HANDLER
    ]
    return configuration, logical_id


def _resource_arn(configuration, evaluator, prefix):
    (logical_id,) = [
        logical_id
        for logical_id, resource in configuration.template["Resources"].items()
        if resource["Type"] == "AWS::S3::Bucket" and logical_id.startswith(prefix)
    ]
    return evaluator.attribute(logical_id, "Arn")


@pytest.mark.parametrize(("name", "rate"), [("Maximal", "rate(1 day)"), ("BroughtTopic", "rate(6 hours)")])
def test_the_function_runs_on_its_schedule_with_the_bucket_and_prefixes(name, rate):
    configuration, logical_id = _function(name)
    resources = configuration.template["Resources"]
    function = resources[logical_id]["Properties"]
    assert function["Timeout"] == 900
    (rule,) = [
        r for r in resources.values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"].get("ScheduleExpression") == rate
    ]
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    env = function["Environment"]["Variables"]
    assert json.loads(env[contract.Env.KEY_PREFIXES]) == ["runs/", "aligned/"]
    assert env[contract.Env.BUCKET_NAME]
    assert env[contract.Env.RECONCILE_PAGES_PER_RUN] == str(contract.RECONCILE_PAGES_PER_RUN)
    if name == "Maximal":
        assert env[contract.Env.INVENTORY_PREFIX] == "inventory/user-bucket/daily"
        assert env[contract.Env.INVENTORY_BUCKET] == {"Ref": next(
            k for k in resources if k.startswith("Inventory") and resources[k]["Type"] == "AWS::S3::Bucket"
        )}
    else:
        assert env[contract.Env.INVENTORY_BUCKET] == ""


@pytest.mark.parametrize("name", ["Maximal", "BroughtTopic"])
def test_it_lists_only_the_watched_prefixes(name):
    configuration, logical_id = _function(name)
    evaluator = configuration.evaluator()
    role = evaluator.function_role(logical_id)
    bucket = _resource_arn(configuration, evaluator, "UserBucket" if name == "Maximal" else "AutoLoadBucket")
    for prefix in ("runs/", "aligned/"):
        listing = Request(role, "s3:ListBucketVersions", bucket, {"s3:prefix": prefix})
        assert evaluator.decide(listing) is None, evaluator.decide(listing)
    for prefix in ("", "other-team/", "run"):
        assert evaluator.decide(Request(role, "s3:ListBucketVersions", bucket, {"s3:prefix": prefix})) is not None
    assert evaluator.decide(Request(role, "s3:ListBucketVersions", bucket)) is not None  # no prefix: whole bucket


def test_it_reads_the_inventory_folder_only():
    configuration, logical_id = _function("Maximal")
    evaluator = configuration.evaluator()
    role = evaluator.function_role(logical_id)
    inventory = _resource_arn(configuration, evaluator, "Inventory")
    folder = "inventory/user-bucket/daily"
    allowed = [
        Request(role, "s3:ListBucket", inventory, {"s3:prefix": f"{folder}/"}),
        Request(role, "s3:GetObject", f"{inventory}/{folder}/2026-01-02T01-00Z/manifest.json"),
        Request(role, "s3:GetObject", f"{inventory}/{folder}/data/8d3e.csv.gz"),
    ]
    for request in allowed:
        assert evaluator.decide(request) is None, (request.describe(), evaluator.decide(request))
    refused = [
        Request(role, "s3:ListBucket", inventory, {"s3:prefix": ""}),
        Request(role, "s3:GetObject", f"{inventory}/inventory/other-bucket/daily/manifest.json"),
    ]
    for request in refused:
        assert evaluator.decide(request) is not None, request.describe()


@pytest.mark.parametrize("name", ["Maximal", "BroughtTopic"])
def test_untracked_objects_raise_an_alarm(name):
    resources = configurations()[name].template["Resources"]
    alarms = [
        r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("MetricName") == contract.Metric.UNTRACKED_OBJECTS
    ]
    (alarm,) = alarms
    assert alarm["Threshold"] == 1 and alarm["Statistic"] == "Sum" and alarm["Period"] == 3600
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert [d["Name"] for d in alarm["Dimensions"]] == [contract.Dimension.SEQUENCE_STORE_ID]
    assert alarm["AlarmActions"]


def test_without_reconciliation_there_is_no_function():
    template = configurations()["ZeroConfig"].template
    handlers = [r["Properties"].get("Handler") for r in template["Resources"].values()
                if r["Type"] == "AWS::Lambda::Function"]
    assert HANDLER not in handlers


@pytest.mark.parametrize(
    ("reconciliation", "fragment"),
    [
        (Reconciliation(pages_per_run=0), "pages_per_run must be a whole number from 1 to 1000"),
        (Reconciliation(pages_per_run=5000), "not 5000"),
        (Reconciliation(inventory_prefix="inventory/b/daily"), "both inventory_bucket and inventory_prefix"),
        (Reconciliation(schedule=cdk.Duration.seconds(10)), "a whole number of minutes, at least one"),
        ("daily", "reconciliation must be a Reconciliation(...)"),
    ],
)
def test_a_wrong_reconciliation_is_refused_with_the_fix(reconciliation, fragment):
    with pytest.raises(ValueError) as error:
        OmicsAutoLoad(cdk.Stack(cdk.App(), "Bad"), "AutoLoad", reconciliation=reconciliation)
    assert fragment in str(error.value)
