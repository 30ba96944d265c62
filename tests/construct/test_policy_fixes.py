"""The defects issue 12 found where AWS enforces, each pinned by the template (or runtime) that fixes it."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ParamValidationError
from omics_autoload_runtime import errors
from omics_autoload_runtime.adapters import tracking
from support.pipeline import Pipeline
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


def test_a_sample_sheet_s3_refuses_fails_the_files_it_covers_with_the_reason():
    # Only a missing sheet (NoSuchKey) means "no sheet": ids falling back to file names
    # would hide a bucket or key policy that denies the read.
    sheet = "denied/omics-samplesheet.csv"
    original = BaseClient._make_api_call

    def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "GetObject" and params.get("Key") == sheet:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, operation)
        return original(client, operation, params)

    with Pipeline() as pipe, mock.patch.object(BaseClient, "_make_api_call", make_api_call):
        pipe.put(sheet, body=b"source1,source2,subject_id,sample_id\nS1_R1.fastq.gz,,SUBJ,SAMPLE\n")
        pipe.upload(["denied/S1_R1.fastq.gz"])
        item = pipe.objects()["denied/S1_R1.fastq.gz"]
        assert item["status"] == tracking.FAILED
        assert "AccessDenied" in item["reason"] and "redrive" in item["reason"], item["reason"]
        assert pipe.items(tracking.KIND_READSET) == []
