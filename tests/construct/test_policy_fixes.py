"""The defects issue 12 found where AWS enforces, each pinned by the template (or runtime) that fixes it."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from botocore.exceptions import ParamValidationError
from omics_autoload_runtime import errors
from support.synth import pipeline_definition, resources_of_type

from omics_autoload_construct import OmicsAutoLoad


def test_a_transient_error_while_parking_the_token_is_retried():
    wait = json.loads(pipeline_definition())["States"]["WaitForCompletion"]
    retried = {error for retry in wait["Retry"] for error in retry["ErrorEquals"]}
    assert {"OmicsThrottled", "OmicsUnavailable"} <= retried


def test_a_bucket_of_another_stack_gets_its_notification_from_this_stack():
    # Without the import by attributes, synthesis fails with CDK's DependencyCycle.
    app = cdk.App()
    data = cdk.Stack(app, "Data")
    bucket = s3.Bucket(data, "Runs")
    pipeline = cdk.Stack(app, "Pipeline")
    OmicsAutoLoad(pipeline, "AutoLoad", bucket=bucket, dashboard=False)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Pipeline").template
    assert resources_of_type(template, "Custom::S3BucketNotifications")
    assert not resources_of_type(assembly.get_stack_by_name("Data").template, "Custom::S3BucketNotifications")


def test_reserved_concurrency_caps_every_function():
    app = cdk.App()
    stack = cdk.Stack(app, "Capped")
    OmicsAutoLoad(stack, "AutoLoad", reserved_concurrent_executions=5, dashboard=False)
    functions = resources_of_type(app.synth().get_stack_by_name("Capped").template, "AWS::Lambda::Function")
    ours = [f for f in functions.values() if f["Properties"]["Handler"].startswith("omics_autoload_runtime.")]
    assert len(ours) == 7
    assert {f["Properties"]["ReservedConcurrentExecutions"] for f in ours} == {5}


def test_a_malformed_request_is_rejected_not_retried():
    error = errors.translate(ParamValidationError(report="sampleId is too long"), "StartReadSetImportJob")
    assert isinstance(error, errors.ImportRejected)
