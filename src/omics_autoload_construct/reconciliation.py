"""Reconciliation: a scheduled check for objects whose S3 event never came.

Runtime: ``omics_autoload_runtime.logic.reconcile`` (and ``omics-autoload reconcile``).
Each run compares the bucket under the watched prefixes, from its S3 Inventory report when
one is named here or else from ListObjectVersions, with the tracking table, and sends every
current object version that has no item through intake. A run reads at most
``pages_per_run`` pages of 1,000 object versions and stores where it stopped, so a bucket
of millions is covered across runs. The count found is the metric ``UntrackedObjects``.

Cost of a pass per million objects (us-east-1 list prices): ListObjectVersions 1,000
requests = $0.005 (nothing with an inventory report, which S3 bills at $0.0025 per million
objects listed), DynamoDB 1,000,000 strongly consistent reads in BatchGetItem (1 read
request unit each on demand: $0.125), Lambda about 130 s of 512 MB ($0.0009, modelled as in
``benchmarks/prices.py``). About $0.13 per million objects per pass, plus intake for what it finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.settings import Settings

from . import _defaults, _functions, _nag
from .intake import dead_letter_queue

MAX_PAGES_PER_RUN = 1000  # 1,000,000 versions: about what one 15-minute run can compare


@dataclass(frozen=True)
class Reconciliation:
    """The opt-in reconciliation of ``OmicsAutoLoad(reconciliation=Reconciliation(...))``.

    :param schedule: how often a run starts. Default: once a day.
    :param pages_per_run: pages of 1,000 object versions one run compares at most, 1-1000;
        a pass over N objects takes N / (1,000 x pages_per_run) runs. Default: 100.
    :param inventory_bucket: the destination bucket of the watched bucket's S3 Inventory
        (CSV format; all versions or current only). Default: none: the bucket is listed.
    :param inventory_prefix: the folder of that inventory's deliveries:
        ``<destination prefix>/<watched bucket>/<inventory configuration id>``. Required
        with ``inventory_bucket``.
    """

    schedule: Duration | None = None
    pages_per_run: int = contract.RECONCILE_PAGES_PER_RUN
    inventory_bucket: s3.IBucket | None = None
    inventory_prefix: str | None = None

    def problems(self) -> list[str]:
        problems = []
        if isinstance(self.pages_per_run, bool) or not isinstance(self.pages_per_run, int) or not (
            1 <= self.pages_per_run <= MAX_PAGES_PER_RUN
        ):
            problems.append(
                f"reconciliation pages_per_run must be a whole number from 1 to {MAX_PAGES_PER_RUN},"
                f" not {self.pages_per_run!r}"
            )
        if self.schedule is not None and not isinstance(self.schedule, Duration):
            problems.append("reconciliation schedule must be a Duration, such as Duration.days(1)")
        elif self.schedule is not None and (self.schedule.to_seconds() < 60 or self.schedule.to_seconds() % 60):
            problems.append("reconciliation schedule must be a whole number of minutes, at least one")
        if (self.inventory_bucket is None) != (self.inventory_prefix is None):
            problems.append(
                "reconciliation needs both inventory_bucket and inventory_prefix"
                " (<destination prefix>/<watched bucket>/<inventory id>), or neither"
            )
        if self.inventory_prefix is not None and (
            not isinstance(self.inventory_prefix, str) or "*" in self.inventory_prefix
        ):
            problems.append(f"reconciliation inventory_prefix {self.inventory_prefix!r} must be a folder path")
        return problems


class ObjectReconciliation(Construct):
    """The reconciliation function and its schedule (see ``Reconciliation``)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        settings: Settings,
        reconciliation: Reconciliation,
        key_prefixes: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, id)
        problems = reconciliation.problems()
        if problems:
            raise ValueError("invalid Reconciliation:\n- " + "\n- ".join(problems))
        inventory = reconciliation.inventory_bucket
        inventory_prefix = (reconciliation.inventory_prefix or "").strip("/")
        settings = settings.replace(
            table_name=table.table_name,
            bucket_name=bucket.bucket_name,
            key_prefixes=tuple(key_prefixes),
            inventory_bucket=inventory.bucket_name if inventory else "",
            inventory_prefix=inventory_prefix,
            reconcile_pages_per_run=reconciliation.pages_per_run,
        )
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", encryption_key)
        self.function = _functions.handler_function(
            self,
            "Function",
            module="reconcile",
            description="omics-autoload: finds objects whose S3 event never came and sends them through intake",
            settings=settings,
            encryption_key=encryption_key,
            log_retention=log_retention,
            dead_letter_queue=self.dead_letter_queue,
            timeout=Duration.minutes(15),
            memory_size=512,
        )
        # It runs intake in-process: intake's grants, and the listing of the watched prefixes only.
        _functions.grant_table(self.function, table)
        _functions.acknowledge_queue_grant(self.function)
        _functions.grant_read_objects(self.function, bucket, key_prefixes)
        _functions.acknowledge_object_wildcard(self.function, bucket, key_prefixes)
        listing = iam.PolicyStatement(actions=["s3:ListBucketVersions"], resources=[bucket.bucket_arn])
        if key_prefixes:
            listing.add_condition("StringLike", {"s3:prefix": [f"{prefix}*" for prefix in key_prefixes]})
        self.function.add_to_role_policy(listing)
        if settings.sample_sheet_name:
            # As intake: a missing sample sheet must answer NoSuchKey, not AccessDenied.
            self.function.add_to_role_policy(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
            )
        if inventory is not None:
            folder = f"{inventory_prefix}/" if inventory_prefix else ""
            self.function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[inventory.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{folder}*"]}},
                )
            )
            self.function.add_to_role_policy(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[inventory.arn_for_objects(f"{folder}*")])
            )
            if inventory.encryption_key is not None:
                self.function.add_to_role_policy(
                    iam.PolicyStatement(actions=["kms:Decrypt"], resources=[inventory.encryption_key.key_arn])
                )
            reports = _nag.rendered(self, inventory.arn_for_objects(f"{folder}*"))
            _nag.acknowledge(
                self.function.role or self.function,
                {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{reports}]"]},
                "S3 writes inventory reports under dated folders; reading is limited to this inventory's folder.",
            )
        # EventBridge sends an undeliverable run to the queue, encrypted with the pipeline's key.
        _defaults.allow_service_on_key(encryption_key, self, "events")
        self.rule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.rate(reconciliation.schedule or Duration.days(1)),
            targets=[
                targets.LambdaFunction(
                    self.function, dead_letter_queue=self.dead_letter_queue, retry_attempts=2,
                    max_event_age=Duration.hours(1),
                )
            ],
        )
