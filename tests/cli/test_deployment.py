"""Finding the tracking table, dead-letter queues and functions among a stack's resources."""

from __future__ import annotations

import pytest
from omics_autoload_runtime.cli.deployment import deployment_from_resources
from omics_autoload_runtime.cli.errors import Usage

from cli.deployed import COMPLETION, INTAKE


def test_deployment_from_resources_pairs_queues_with_functions():
    resources = [
        {"LogicalResourceId": lid, "PhysicalResourceId": pid, "ResourceType": kind}
        for lid, pid, kind in (
            ("AutoLoadTrackingTable4B714BE7", "tbl", "AWS::DynamoDB::Table"),
            ("AutoLoadIntakeFunction4FF13CEC", INTAKE, "AWS::Lambda::Function"),
            ("AutoLoadImportWorkflowCompletionFunctionAB12", COMPLETION, "AWS::Lambda::Function"),
            ("AutoLoadImportWorkflowStartFunctionCD34", "start", "AWS::Lambda::Function"),
            ("AutoLoadIntakeDeadLetterQueueC71C3DE8", "https://q/intake", "AWS::SQS::Queue"),
            ("AutoLoadImportWorkflowDeadLetterQueue6B6ED1ED", "https://q/wf", "AWS::SQS::Queue"),
        )
    ]
    deployment = deployment_from_resources(resources)
    assert deployment.table == "tbl"
    assert deployment.intake_function == INTAKE and deployment.completion_function == COMPLETION
    assert {q.role: q.function for q in deployment.queues} == {"intake": INTAKE, "workflow": COMPLETION}
    with pytest.raises(Usage, match="2 tracking tables"):
        deployment_from_resources(
            [*resources, {**resources[0], "LogicalResourceId": "OtherTrackingTable", "PhysicalResourceId": "t2"}]
        )
