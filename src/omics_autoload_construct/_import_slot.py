"""Construct side of the import-slot semaphore (runtime: ``handlers.import_slot``, ``adapters.import_slots``)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.settings import Settings

from . import _functions

MIN_CONCURRENT_IMPORT_JOBS = 1
MAX_CONCURRENT_IMPORT_JOBS = 1000


def check_max_concurrent_import_jobs(value: int) -> str | None:
    """A problem with the setting, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"max_concurrent_import_jobs must be a whole number, not {value!r}"
    if not MIN_CONCURRENT_IMPORT_JOBS <= value <= MAX_CONCURRENT_IMPORT_JOBS:
        return (
            f"max_concurrent_import_jobs must be {MIN_CONCURRENT_IMPORT_JOBS}-{MAX_CONCURRENT_IMPORT_JOBS}, "
            f"not {value}"
        )
    return None


def grant_slot_deletes(function: lambda_.Function, table: dynamodb.ITable) -> None:
    """DeleteItem on slot and waiter items only (``dynamodb:LeadingKeys``): a release or a grant deletes them."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["dynamodb:DeleteItem"],
            resources=[table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(contract.SLOT_DELETABLE_KEYS)}},
        )
    )


def import_slot_function(
    scope: Construct,
    id: str,
    *,
    table: dynamodb.ITable,
    settings: Settings,
    encryption_key: kms.IKey | None,
    log_retention: logs.RetentionDays,
    dead_letter_queue: sqs.IQueue,
) -> lambda_.Function:
    """The AcquireSlot task's function: takes an import slot or queues the batch for one."""
    function = _functions.handler_function(
        scope,
        id,
        module="import_slot",
        description="omics-autoload: admits a batch to a free import slot or queues it (FIFO)",
        settings=settings,
        encryption_key=encryption_key,
        log_retention=log_retention,
        timeout=Duration.seconds(60),
        dead_letter_queue=dead_letter_queue,
    )
    _functions.grant_table(function, table)
    grant_slot_deletes(function, table)
    return function
