"""Completion: hands each finished import job back to its waiting workflow, and the sweep.

Runtime: ``omics_autoload_runtime.handlers.completion`` (``logic.completion``). One function
serves two triggers: the ``Read Set Import Job Status Change`` event (best effort) and a
scheduled sweep that polls jobs whose event may be lost, resolves orphaned mates, retries
pending post-import actions, frees what a dead execution left claimed and samples the
backlog gauges. Both triggers are children of the import workflow, so their construct
ids (and CloudFormation logical ids) stay where they always were.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.contract import PostImportAction
from omics_autoload_runtime.domain.limits import IMPORT_JOB_TERMINAL_STATUSES

from . import _functions, _nag, post_import
from .stores import ISequenceStore


def grant_sweep(
    function: lambda_.Function,
    *,
    executions: str,
    table: dynamodb.ITable,
    post_import_action: PostImportAction,
    bucket: s3.IBucket,
    key_prefix: _functions.Prefixes,
    store: ISequenceStore,
) -> None:
    """What the sweep does beyond the other task functions: executions, post-import retries."""
    # It checks whether a batch's execution still runs before freeing its read sets.
    function.add_to_role_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions]))
    # It retries the post-import actions whose read set was not ACTIVE yet...
    post_import.grant_post_import_action(
        post_import_action, function, bucket=bucket, key_prefix=key_prefix, store=store
    )
    if post_import_action is not PostImportAction.KEEP:
        # ...and deletes the bookkeeping item of each it resolved.
        post_import.grant_marker_deletes(function, table)
    _nag.acknowledge(
        function.role or function,
        {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{_nag.rendered(function, executions)}]"]},
        "Execution names are made at run time; DescribeExecution is limited to this state machine's executions.",
    )


def add_triggers(
    scope: Construct, function: lambda_.IFunction, *, sweep_interval: Duration
) -> tuple[events.Rule, events.Rule]:
    """Terminal job events (best effort) and the scheduled sweep, as children of ``scope``."""
    job_status = events.Rule(
        scope,
        "JobStatusChange",
        description="omics-autoload: HealthOmics read set import job reached a final status",
        event_pattern=events.EventPattern(
            source=[contract.OMICS_EVENT_SOURCE],
            detail_type=[contract.IMPORT_JOB_EVENT],
            detail={"status": list(IMPORT_JOB_TERMINAL_STATUSES)},
        ),
        targets=[targets.LambdaFunction(function, retry_attempts=8)],
    )
    sweep = events.Rule(
        scope,
        "Sweep",
        description="omics-autoload: polls jobs whose events may be lost; resolves orphaned mates",
        schedule=events.Schedule.rate(sweep_interval),
        targets=[targets.LambdaFunction(function, retry_attempts=2)],
    )
    return job_status, sweep
