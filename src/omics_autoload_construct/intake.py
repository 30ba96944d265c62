"""Intake: S3 ``ObjectCreated`` → intake queue → intake Lambda → one tracking item per object version."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from aws_cdk.interfaces.aws_s3 import IBucketRef
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.settings import Settings

from . import _defaults, _functions, _nag, _props

DEFAULT_BATCHING_WINDOW = Duration.seconds(contract.INTAKE_BATCHING_WINDOW_SECONDS)
UNBATCHED_BATCH_SIZE = 10  # Lambda's most for an SQS source without a batching window
MAX_BATCHING_WINDOW_SECONDS = 300


def check_batching_window(window: Duration, name: str = "batching_window", example: int = 2) -> str | None:
    seconds = window.to_seconds()
    if 0 <= seconds <= MAX_BATCHING_WINDOW_SECONDS:
        return None
    return (
        f"{name} must be 0-{MAX_BATCHING_WINDOW_SECONDS} seconds (Lambda's limit), "
        f"not {seconds} s: give e.g. Duration.seconds({example})"
    )


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
    """The intake queue, the function that reads it, and the bucket trigger that fills it.

    The bucket's events go to ``queue`` (S3 notifications or an EventBridge rule); the
    function takes them in batches (``batching_window``), so one invocation reads each
    folder's sample sheets once for all its files, and a burst of uploads is taken at the
    pace the function keeps instead of as many invocations at once. The function decodes
    each key, classifies the object with the read-set assembly rules and writes one
    tracking item per object version with a conditional put, so duplicate deliveries never
    create a second item. A message that is not recorded comes back alone (partial batch
    responses); after five receives it lands in ``dead_letter_queue``, as do failed direct
    invocations (``omics-autoload redrive --dlq`` sends them back).
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
        batching_window: Duration = DEFAULT_BATCHING_WINDOW,
        max_concurrency: int | None = None,
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
        :param batching_window: how long the queue's event source gathers object events
            into one invocation (0-300 s; up to 100 events, 10 with no window). A lone
            file waits this long before it is recorded. Default: 3 seconds.
        :param max_concurrency: most invocations the queue's event source runs at once
            (2-1000). Default: Lambda's (up to 1,250 for a standard queue).
        :param environment: deprecated: hand-built variables; give ``settings``.
        :param key_prefix: deprecated single form of ``key_prefixes``.
        """
        super().__init__(scope, id)
        settings = _props.settings_of(self, settings, environment)
        prefixes, problems = _props.key_prefixes_of(self, key_prefix, key_prefixes)
        window = batching_window.to_seconds()
        window_problem = check_batching_window(batching_window, example=contract.INTAKE_BATCHING_WINDOW_SECONDS)
        if window_problem:
            problems.append(window_problem)
        if max_concurrency is not None and not 2 <= max_concurrency <= 1000:
            problems.append(f"max_concurrency must be 2-1000 (Lambda's limits), not {max_concurrency}")
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
        function_timeout = Duration.seconds(60)
        # A burst waits here when intake falls behind; an outage may last days.
        self.queue = _defaults.event_source_queue(
            self, "Queue", encryption_key, function_timeout, self.dead_letter_queue, retention=Duration.days(14)
        )
        self.function = _functions.handler_function(
            self,
            "Function",
            module="intake",
            description="omics-autoload: records every new S3 object and queues read sets",
            settings=settings,
            encryption_key=encryption_key,
            log_retention=log_retention,
            dead_letter_queue=self.dead_letter_queue,
            timeout=function_timeout,
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=contract.INTAKE_BATCH_SIZE if window > 0 else UNBATCHED_BATCH_SIZE,
                max_batching_window=batching_window if window > 0 else None,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )
        # Direct invocations (``omics-autoload redrive --dlq``) that keep failing.
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
            destination = _QueueDestination(self.queue, encryption_key)
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
            # The queues are encrypted with the pipeline's key: EventBridge must be let use
            # it, or events are lost.
            _defaults.allow_service_on_key(encryption_key, self, "events")
            self.rule = events.Rule(
                self,
                "ObjectCreated",
                event_pattern=events.EventPattern(
                    source=["aws.s3"], detail_type=["Object Created"], detail=detail
                ),
                targets=[_RuleToQueue(self.queue, self.dead_letter_queue)],
            )



def _from_source(service: str, source_arn: str, queue: sqs.IQueue, condition: str = "ArnLike") -> iam.PolicyStatement:
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal(service)],
        actions=["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        resources=[queue.queue_arn],
        conditions={
            condition: {"aws:SourceArn": source_arn},
            "StringEquals": {"aws:SourceAccount": Stack.of(queue).account},
        },
    )


@jsii.implements(events.IRuleTarget)
class _RuleToQueue:
    """The Object Created rule's target: the intake queue, failed events to its dead-letter queue.

    CDK's ``SqsQueue`` target drops the rule condition for an encrypted queue (unless the
    app sets a feature flag): any rule of any account could send. Here both queues name the rule."""

    def __init__(self, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue) -> None:
        self.queue, self.dead_letter_queue = queue, dead_letter_queue

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        rule_arn = rule.rule_ref.rule_arn
        for queue in (self.queue, self.dead_letter_queue):
            queue.add_to_resource_policy(_from_source("events.amazonaws.com", rule_arn, queue, "ArnEquals"))
        return events.RuleTargetConfig(
            arn=self.queue.queue_arn,
            target_resource=self.queue,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.dead_letter_queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=8, maximum_event_age_in_seconds=int(Duration.hours(24).to_seconds())
            ),
        )


@jsii.implements(s3.IBucketNotificationDestination)
class _QueueDestination:
    """S3 notifications to the intake queue, limited to the watched bucket of this account.

    CDK's ``SqsDestination`` lets S3 use the queue's key with no condition; here both the
    queue policy and the key policy name the bucket and the account (no confused deputy)."""

    def __init__(self, queue: sqs.IQueue, key: kms.IKey | None) -> None:
        self.queue = queue
        self.key = key

    def bind(self, scope: Construct, bucket: IBucketRef) -> s3.BucketNotificationDestinationConfig:
        self.queue.add_to_resource_policy(_from_source("s3.amazonaws.com", bucket.bucket_ref.bucket_arn, self.queue))
        _defaults.allow_service_on_key(self.key, scope, "s3")
        return s3.BucketNotificationDestinationConfig(
            arn=self.queue.queue_arn, type=s3.BucketNotificationDestinationType.QUEUE, dependencies=[self.queue]
        )


def _escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")
