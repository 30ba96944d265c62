"""Synthesize the example app once per test process (each jsii process costs ~0.5 GB)."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STACK = "SequencingIngest"
EXAMPLE_OUTDIR_ENV = "OMICS_EXAMPLE_OUTDIR"


def _example_module():
    spec = importlib.util.spec_from_file_location("omics_example_app", REPO / "examples" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def example_outdir() -> Path:
    """cdk.out of the example app, synthesized with the three cdk-nag packs.

    A nag finding makes synthesis raise; the report is still written, and the nag test
    reads it to show each finding, so the error is swallowed here. A process the suite
    starts (the demo) is given the session's in ``EXAMPLE_OUTDIR_ENV`` instead.
    """
    if os.environ.get(EXAMPLE_OUTDIR_ENV):
        return Path(os.environ[EXAMPLE_OUTDIR_ENV])
    outdir = Path(tempfile.mkdtemp(prefix="omics-example-"))
    _synth_keeping_the_report(_example_module().build_app(outdir=str(outdir)))
    return outdir


def _synth_keeping_the_report(app: Any) -> None:
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise


def example_template() -> dict[str, Any]:
    return json.loads((example_outdir() / f"{STACK}.template.json").read_text())


def validation_report() -> dict[str, Any]:
    path = example_outdir() / "validation-report.json"
    return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def state_machine_definitions(template: dict[str, Any]) -> dict[str, str]:
    """Each state machine's ASL, with CloudFormation intrinsics replaced by placeholders."""
    out = {}
    for logical_id, resource in resources_of_type(template, "AWS::StepFunctions::StateMachine").items():
        out[logical_id] = render_definition(resource["Properties"]["DefinitionString"])
    return out


def render_definition(definition: Any) -> str:
    if isinstance(definition, str):
        return definition
    if "Fn::Join" in definition:
        separator, parts = definition["Fn::Join"]
        return separator.join(render_definition(part) for part in parts)
    if "Fn::GetAtt" in definition:
        return "arn:aws:lambda:us-east-1:123456789012:function:" + definition["Fn::GetAtt"][0]
    if "Ref" in definition:
        return {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                "AWS::URLSuffix": "amazonaws.com"}.get(definition["Ref"], definition["Ref"])
    raise ValueError(f"cannot render {definition!r}")


def pipeline_definition() -> str:
    """The ASL of the example app's import workflow (Lambda ARNs named after their logical ids)."""
    definitions = state_machine_definitions(example_template())
    (definition,) = [d for k, d in definitions.items() if "ImportWorkflow" in k]
    return definition


def function_logical_ids() -> dict[str, str]:
    """Handler string (``omics_autoload_runtime.handlers.intake.handler``) → logical id of its function."""
    functions = resources_of_type(example_template(), "AWS::Lambda::Function")
    return {
        f["Properties"]["Handler"]: logical_id
        for logical_id, f in functions.items()
        if f["Properties"]["Handler"].startswith("omics_autoload_runtime.")
    }


def function_environment(handler: str) -> dict[str, Any]:
    functions = resources_of_type(example_template(), "AWS::Lambda::Function")
    return functions[function_logical_ids()[handler]]["Properties"]["Environment"]["Variables"]


def stream_filter_patterns() -> list[dict[str, Any]]:
    """The starter's event source mapping filter patterns, as DynamoDB will apply them."""
    mappings = resources_of_type(example_template(), "AWS::Lambda::EventSourceMapping")
    (mapping,) = [m for m in mappings.values() if "FilterCriteria" in m["Properties"]]  # the stream's
    return [json.loads(f["Pattern"]) for f in mapping["Properties"]["FilterCriteria"]["Filters"]]


REFERENCE_ARN = "arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/9876543210"


@functools.cache
def maximal_outdir() -> Path:
    """Every option on: the user's own KMS-encrypted bucket, EventBridge trigger, prefix and
    suffix filters, reconciliation, an imported reference genome, alarms with notifications, custom patterns,
    the batch operations role and bucket."""
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from omics_autoload_construct import (
        OmicsAutoLoad,
        OrphanPolicy,
        PostImportAction,
        Reconciliation,
        ReferenceGenome,
        ReferenceStore,
        TriggerMode,
    )

    outdir = Path(tempfile.mkdtemp(prefix="omics-maximal-"))
    app = _example_module().build_app(outdir=str(outdir))
    stack = cdk.Stack(app, "Maximal")
    stack.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
    key = kms.Key(stack, "UserKey", enable_key_rotation=True)
    logs_bucket = s3.Bucket(
        stack, "UserAccessLogs", enforce_ssl=True, versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    )
    bucket = s3.Bucket(
        stack, "UserBucket", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True,
        versioned=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        server_access_logs_bucket=logs_bucket, event_bridge_enabled=True,
    )
    reason = "The user's own buckets, outside the construct; the test app accepts these for itself."
    for rule in ("HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
                 "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
                 "HIPAA.Security::HIPAA.Security-S3DefaultEncryptionKMS",
                 "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
                 "AwsSolutions::AwsSolutions-S1",
                 "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled",
                 "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled"):
        for target in (bucket, logs_bucket):
            cdk.Validations.of(target).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
    OmicsAutoLoad(
        stack,
        "AutoLoad",
        bucket=bucket,
        trigger_mode=TriggerMode.EVENTBRIDGE,
        key_prefixes=["runs/"],
        key_suffixes=[".fastq.gz", ".bam"],
        reference=ReferenceGenome(
            stack,
            "Reference",
            fasta_bucket=bucket,
            fasta_key="references/GRCh38.fasta.gz",
            reference_store=ReferenceStore(stack, "References", encryption_key=key),
            encryption_key=key,
        ),
        encryption_key=key,
        read_set_patterns=[r"^(?P<sample>[A-Z]{2}\d+)-(?P<mate>[12])\.fq\.gz$"],
        orphan_policy=OrphanPolicy.IMPORT_SINGLE,
        max_sources_per_job=50,
        alarms=True,
        dashboard_name="omics-autoload-maximal",
        log_identifiers=True,
        post_import_action=PostImportAction.TAG,
        omics_calls_per_second=2.5,
        batch_operations=True,
        reconciliation=Reconciliation(schedule=cdk.Duration.hours(12)),
        require_sample_sheet=["runs/novaseq/"],
        sample_sheet_timeout=cdk.Duration.hours(12),
        run_complete_marker="CopyComplete.txt",
    )
    _synth_keeping_the_report(app)
    return outdir


def maximal_template() -> dict[str, Any]:
    return json.loads((maximal_outdir() / "Maximal.template.json").read_text())


def maximal_validation_report() -> dict[str, Any]:
    path = maximal_outdir() / "validation-report.json"
    return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}
