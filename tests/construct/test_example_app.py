"""The example app as a reviewer sees it: rule packs, cfn-lint, the template."""

from __future__ import annotations

import json

import pytest
from support.synth import example_template, resources_of_type, validation_report


def test_every_cdk_nag_finding_is_fixed_or_acknowledged_with_a_reason():
    report = validation_report()
    # A missing report reads as no plugin reports: make sure the three packs really ran.
    assert {p["pluginName"] for p in report["pluginReports"]} == {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"}
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description'][:120]}"
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation["violatingConstructs"]
    ]
    assert findings == []
    acknowledged = [
        violation
        for plugin in report["pluginReports"]
        for violation in plugin.get("suppressedViolations", [])
    ]
    for violation in acknowledged:
        assert len(violation["reason"]) >= 40, violation["acknowledgedId"]


def test_the_rule_packs_really_run(tmp_path):
    """The same packs on a bucket without our defaults do report findings."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from support.synth import _example_module

    app = _example_module().build_app(outdir=str(tmp_path))
    bare = cdk.Stack(app, "Bare")
    s3.Bucket(bare, "Plain")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p.get("violations", [])}
    expected = {"AwsSolutions-S1", "HIPAA.Security-S3BucketLoggingEnabled", "NIST.800.53.R5-S3BucketSSLRequestsOnly"}
    assert expected <= rules


def test_the_template_passes_cfn_lint():
    from cfnlint.api import ManualArgs, lint

    matches = lint(
        json.dumps(example_template()),
        config=ManualArgs(regions=["us-east-1", "eu-west-2"], ignore_checks=["W3005"]),
    )
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []


def test_stateful_resources_are_retained_by_default():
    template = example_template()
    for kind in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Omics::SequenceStore", "AWS::KMS::Key"):
        resources = resources_of_type(template, kind)
        assert resources, kind
        for logical_id, resource in resources.items():
            assert resource.get("DeletionPolicy") == "Retain", logical_id


@pytest.mark.parametrize("kind", ["AWS::S3::Bucket"])
def test_buckets_are_private_encrypted_and_tls_only(kind):
    template = example_template()
    for logical_id, bucket in resources_of_type(template, kind).items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical_id
        policies = [
            p for p in resources_of_type(template, "AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": logical_id}
        ]
        statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool") == {"aws:SecureTransport": "false"}
            for s in statements
        ), logical_id
