"""Several watched prefixes: one trigger filter per prefix, and every object grant names only them.

The grants are proven by evaluating the synthesized policies (``support.iam_eval``) as IAM
would, for a key under each watched prefix (allowed) and a key beside them (denied), in
each configuration of ``support.configurations`` that watches prefixes.
"""

from __future__ import annotations

import json
import warnings

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from support.configurations import configurations
from support.iam_eval import Request

from omics_autoload_construct import Intake, OmicsAutoLoad, TrackingTable

PREFIXED = {"Maximal": ("runs/", "aligned/"), "BroughtTopic": ("runs/", "aligned/")}
OUTSIDE = "other-team/secret_S1_L001_R1_001.fastq.gz"
FILE = "run1/NA12878_S1_L001_R1_001.fastq.gz"


def _function_roles(template, evaluator, module):
    """Role ARNs of the pipeline functions whose handler is ``handlers.<module>``."""
    return [
        evaluator.function_role(logical_id)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler") == f"omics_autoload_runtime.handlers.{module}.handler"
    ]


def _import_role(template, evaluator):
    (role,) = [
        evaluator.role_arn(logical_id)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        and "read set imports" in str(resource["Properties"].get("Description", ""))
    ]
    return role


def _object_readers(name):
    """(who, role ARN, action) for every principal that reads or tags the watched objects."""
    configuration = configurations()[name]
    template, evaluator = configuration.template, configuration.evaluator()
    readers = [("import role", _import_role(template, evaluator), "s3:GetObject")]
    for module, actions in (
        ("intake", ("s3:GetObject", "s3:GetObjectTagging")),
        ("import_start", ("s3:GetObject",)),  # the version check
        ("import_finalize", ("s3:GetObject", "s3:PutObjectTagging")),  # post_import_action TAG
        ("completion", ("s3:GetObject",)),
        ("reconcile", ("s3:GetObject", "s3:GetObjectTagging")),  # runs intake in-process
    ):
        for role in _function_roles(template, evaluator, module):
            for action in actions:
                if action == "s3:PutObjectTagging" and name != "Maximal":
                    continue
                readers.append((module, role, action))
    return configuration, evaluator, readers


def _bucket_arn(configuration, evaluator):
    (bucket_id,) = [
        logical_id
        for logical_id, resource in configuration.template["Resources"].items()
        if resource["Type"] == "AWS::S3::Bucket" and logical_id.startswith(("UserBucket", "AutoLoadBucket"))
    ]
    return evaluator.attribute(bucket_id, "Arn")


@pytest.mark.parametrize("name", sorted(PREFIXED))
def test_objects_under_each_watched_prefix_are_readable_and_nothing_beside_them(name):
    configuration, evaluator, readers = _object_readers(name)
    bucket = _bucket_arn(configuration, evaluator)
    assert len(readers) >= 6
    for who, role, action in readers:
        for prefix in PREFIXED[name]:
            allowed = Request(role, action, f"{bucket}/{prefix}{FILE}")
            assert evaluator.decide(allowed) is None, (who, allowed.describe(), evaluator.decide(allowed))
        for key in (OUTSIDE, FILE, "runs", "aligned"):  # beside the prefixes, and the prefix without its '/'
            refused = Request(role, action, f"{bucket}/{key}")
            assert evaluator.decide(refused) is not None, (who, refused.describe())


def test_without_prefixes_the_whole_bucket_is_read():
    configuration, evaluator, readers = _object_readers("ZeroConfig")
    bucket = _bucket_arn(configuration, evaluator)
    for who, role, action in readers:
        assert evaluator.decide(Request(role, action, f"{bucket}/{OUTSIDE}")) is None, who


def test_s3_notifications_filter_each_prefix():
    template = configurations()["BroughtTopic"].template
    (notifications,) = [
        r for r in template["Resources"].values() if r["Type"] == "Custom::S3BucketNotifications"
    ]
    configs = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    prefixes = sorted(
        rule["Value"]
        for config in configs
        for rule in config["Filter"]["Key"]["FilterRules"]
        if rule["Name"] == "prefix"
    )
    assert prefixes == ["aligned/", "runs/"]
    assert len(configs) == 2


def test_the_eventbridge_rule_matches_each_prefix_with_each_suffix():
    template = configurations()["Maximal"].template
    (rule,) = [
        r for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
    ]
    keys = rule["Properties"]["EventPattern"]["detail"]["object"]["key"]
    assert sorted(k["wildcard"] for k in keys) == [
        "aligned/*.bam", "aligned/*.fastq.gz", "runs/*.bam", "runs/*.fastq.gz"
    ]


@pytest.mark.parametrize(
    ("props", "fragment"),
    [
        ({"key_prefixes": "runs/"}, "key_prefixes=['runs/'], not key_prefixes='runs/'"),
        ({"key_prefixes": ["runs/", 7]}, "every prefix must be a string"),
        ({"key_prefixes": ["/runs/"]}, "must not start with '/'"),
        ({"key_prefixes": ["runs/", "runs/2024/"]}, "'runs/' and 'runs/2024/' overlap"),
        ({"key_prefixes": [""]}, "leave key_prefixes out to watch the whole bucket"),
        ({"key_prefixes": 5}, "must be a list of strings"),
        ({"key_prefixes": ["runs/"], "key_prefix": "runs/"}, "not both"),
        ({"key_prefix": ["runs/"]}, "key_prefix must be a string"),
    ],
)
def test_a_wrong_key_prefixes_value_is_refused_with_the_fix(props, fragment):
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ValueError) as error:
        OmicsAutoLoad(stack, "AutoLoad", **props)
    assert fragment in str(error.value)


def test_the_intake_part_alone_refuses_them_too():
    stack = cdk.Stack(cdk.App(), "Bad")
    table = TrackingTable(stack, "Tracking").table
    with pytest.raises(ValueError, match="overlap"):
        Intake(stack, "Intake", bucket=s3.Bucket(stack, "B"), table=table, key_prefixes=["a/", "a/b/"])


def test_key_prefix_still_works_and_warns():
    stack = cdk.Stack(cdk.App(), "Old")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto_load = OmicsAutoLoad(stack, "AutoLoad", key_prefix="runs/", dashboard=False)
    assert auto_load.key_prefixes == ("runs/",)
    assert auto_load.key_prefix == "runs/"
    assert any("key_prefixes=['runs/']" in str(w.message) for w in caught)
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp(r"key_prefix is deprecated: use key_prefixes=\['runs/'\]")
    )
    environment = json.dumps(Template.from_stack(stack).find_resources("AWS::Lambda::Function"))
    assert '"KEY_PREFIXES": "[\\"runs/\\"]"' in environment
