"""Helpers for the tests of the operations commands: run the CLI, snapshot the table,
and answer CloudFormation as for a deployed example stack."""

from __future__ import annotations

import json

import boto3
from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.cli.main import main
from support.pipeline import REGION, TABLE

INTAKE = "SequencingIngest-AutoLoadIntakeFunction4FF13CEC-Ab12Cd34"
COMPLETION = "SequencingIngest-AutoLoadImportWorkflowCompletionFunction0A1B2C3D-Ef56Gh78"


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(pipe):
    return sorted(json.dumps(item, sort_keys=True, default=str) for item in pipe.items())


def stack_resources(sqs_urls):
    """ListStackResources of a deployed example stack (logical ids as the construct names them)."""
    from datetime import UTC, datetime

    rows = [
        ("AutoLoadTrackingTable4B714BE7", TABLE, "AWS::DynamoDB::Table"),
        ("AutoLoadIntakeFunction4FF13CEC", INTAKE, "AWS::Lambda::Function"),
        ("AutoLoadImportWorkflowCompletionFunction6D5E8E5B", COMPLETION, "AWS::Lambda::Function"),
        ("AutoLoadImportWorkflowStartFunction9A0B1C2D", "start-fn", "AWS::Lambda::Function"),
        ("AutoLoadIntakeDeadLetterQueueC71C3DE8", sqs_urls["intake"], "AWS::SQS::Queue"),
        ("AutoLoadStarterDeadLetterQueueCFD8B592", sqs_urls["starter"], "AWS::SQS::Queue"),
        ("AutoLoadImportWorkflowDeadLetterQueue6B6ED1ED", sqs_urls["workflow"], "AWS::SQS::Queue"),
        ("AutoLoadBucketF98E59DC", "sequencing-runs", "AWS::S3::Bucket"),
    ]
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        {
            "LogicalResourceId": logical,
            "PhysicalResourceId": physical,
            "ResourceType": kind,
            "LastUpdatedTimestamp": stamp,
            "ResourceStatus": "CREATE_COMPLETE",
        }
        for logical, physical, kind in rows
    ]


def stub_stack(resources, stack="SequencingIngest"):
    """CloudFormation answers as for a deployed stack (moto cannot deploy the construct's
    template); the Stubber checks the request and response shapes against the service model."""
    from botocore.stub import Stubber

    client = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources[:5], "NextToken": "page-2"}, {"StackName": stack}
    )
    stubber.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources[5:]}, {"StackName": stack, "NextToken": "page-2"}
    )
    stubber.add_client_error(
        "list_stack_resources", "ValidationError", "Stack with id NoSuchStack does not exist", 400,
        expected_params={"StackName": "NoSuchStack"},
    )
    stubber.activate()
    clients.override("cloudformation", client)
    return stubber
