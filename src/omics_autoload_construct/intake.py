"""Intake: S3 ``ObjectCreated`` → intake Lambda → one tracking item per object version."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from omics_autoload_runtime.settings import Settings

from . import _defaults, _functions, _nag, _props


class TriggerMode(enum.Enum):
    """How the bucket tells the intake function about new objects."""

    S3_NOTIFICATIONS = "S3_NOTIFICATIONS"
    """S3 event notifications, added next to the bucket's other notifications (default)."""
    EVENTBRIDGE = "EVENTBRIDGE"
    """EventBridge ``Object Created`` events, for buckets whose notifications belong to
    someone else. EventBridge notifications must be enabled on the bucket."""


def dead_letter_queue(scope: Construct, id: str, encryption_key: kms.IKey | None) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.KMS if encryption_key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    _nag.acknowledge(
        queue,
        {_nag.AWS_SOLUTIONS: ["SQS3"]},
        "This queue is itself the dead-letter destination of failed events; a dead-letter "
        "queue for it would never receive anything.",
    )
    return queue


class Intake(Construct):
    """The intake function and the bucket trigger that invokes it.

    The function decodes each key, classifies the object with the read-set assembly
    rules and writes one tracking item per object version with a conditional put, so
    duplicate S3 deliveries never create a second item. Events that fail after the
    asynchronous retries land in ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        settings: Settings | None = None,
        encryption_key: kms.IKey | None = None,
        trigger_mode: TriggerMode = TriggerMode.S3_NOTIFICATIONS,
        key_prefixes: Sequence[str] | None = None,
        key_suffixes: Sequence[str] = (),
        metrics_namespace: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        environment: Mapping[str, str] | None = None,
        key_prefix: str | None = None,
    ) -> None:
        """
        :param bucket: the bucket to watch.
        :param table: the tracking table.
        :param settings: the pipeline settings every handler reads (``Settings``); the
            table is filled in from this part. Default: ``Settings()``.
        :param encryption_key: encrypts the dead-letter queue, logs and environment.
            Default: AWS managed keys.
        :param trigger_mode: Default: ``TriggerMode.S3_NOTIFICATIONS``.
        :param key_prefixes: only objects under these prefixes (one notification per
            prefix and suffix; prefixes must not overlap, as S3 requires). An event for
            another key is recorded SKIPPED, unread. Default: the whole bucket.
        :param key_suffixes: only objects whose keys end so (one notification per
            suffix). Default: every object, so that each one is recorded, imported or not.
        :param metrics_namespace: CloudWatch namespace. Default: ``settings.metrics_namespace``.
        :param log_retention: Default: one year.
        :param environment: deprecated: hand-built variables; give ``settings``.
        :param key_prefix: deprecated single form of ``key_prefixes``.
        """
        super().__init__(scope, id)
        settings = _props.settings_of(self, settings, environment)
        prefixes, problems = _props.key_prefixes_of(self, key_prefix, key_prefixes)
        if problems:
            raise ValueError("invalid Intake props:\n- " + "\n- ".join(problems))
        self.key_prefixes = prefixes
        # The namespace the handlers write their metric lines (EMF) under; the prefixes intake refuses others by.
        settings = settings.replace(
            table_name=table.table_name,
            metrics_namespace=metrics_namespace or settings.metrics_namespace,
            key_prefixes=prefixes,
        )
        self.bucket = bucket
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", encryption_key)
        self.function = _functions.handler_function(
            self,
            "Function",
            module="intake",
            description="omics-autoload: records every new S3 object and queues read sets",
            settings=settings,
            encryption_key=encryption_key,
            log_retention=log_retention,
            dead_letter_queue=self.dead_letter_queue,
        )
        self.function.configure_async_invoke(
            retry_attempts=2, on_failure=destinations.SqsDestination(self.dead_letter_queue)
        )
        _functions.grant_table(self.function, table)
        _functions.acknowledge_queue_grant(self.function)
        _functions.grant_read_objects(self.function, bucket, prefixes)
        _functions.acknowledge_object_wildcard(self.function, bucket, prefixes)
        if settings.sample_sheet_name or settings.illumina_sheet_name:
            # Without ListBucket, S3 answers a missing sample sheet with AccessDenied, and
            # a real refusal could not be told from "no sheet in this folder".
            self.function.add_to_role_policy(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
            )

        if trigger_mode is TriggerMode.S3_NOTIFICATIONS:
            destination = s3n.LambdaDestination(self.function)
            # One configuration per prefix and suffix: S3 filters AND one prefix with one
            # suffix, and the prefixes were checked not to overlap (S3 refuses overlaps).
            suffixes: list[str | None] = [*key_suffixes] or [None]
            prefix_filters: list[str | None] = [*prefixes] or [None]
            for prefix in prefix_filters:
                for suffix in suffixes:
                    filters = (
                        [s3.NotificationKeyFilter(prefix=prefix, suffix=suffix)] if prefix or suffix else []
                    )
                    bucket.add_event_notification(s3.EventType.OBJECT_CREATED, destination, *filters)
        else:
            detail: dict[str, object] = {"bucket": {"name": [bucket.bucket_name]}}
            if prefixes or key_suffixes:
                # One wildcard per prefix and suffix: EventBridge ORs the list, each entry
                # ANDs a prefix and a suffix, as S3 notification filters do.
                detail["object"] = {
                    "key": [
                        {"wildcard": f"{_escape_wildcard(prefix)}*{_escape_wildcard(suffix)}"}
                        for prefix in (prefixes or [""])
                        for suffix in (key_suffixes or [""])
                    ]
                }
            # The dead-letter queue is encrypted with the pipeline's key: EventBridge must
            # be let use it, or failed events are lost.
            _defaults.allow_service_on_key(encryption_key, self, "events")
            self.rule = events.Rule(
                self,
                "ObjectCreated",
                event_pattern=events.EventPattern(
                    source=["aws.s3"], detail_type=["Object Created"], detail=detail
                ),
                targets=[
                    targets.LambdaFunction(
                        self.function,
                        dead_letter_queue=self.dead_letter_queue,
                        retry_attempts=8,
                        max_event_age=Duration.hours(24),
                    )
                ],
            )



def _escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")
