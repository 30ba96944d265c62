"""Metrics, alarms, notifications and the dashboard of the pipeline.

Every custom metric is published by the handlers with the dimension
``SequenceStoreId`` (and again with ``FileType`` or ``Reason`` for detail), so that the
``metric_*`` methods below return plain metrics that alarms can use. Metric and
dimension names are the contract's (``contract.Metric``, ``contract.Dimension``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from omics_autoload_runtime.contract import Dimension, Metric


class PipelineMetrics:
    """Factory of the pipeline's metrics, with stable names and dimensions."""

    def __init__(self, namespace: str, sequence_store_id: str) -> None:
        self.namespace = namespace
        self.sequence_store_id = sequence_store_id

    def metric(self, name: Metric, *, statistic: str = "Sum", **options: Any) -> cloudwatch.Metric:
        options.setdefault("period", Duration.minutes(5))
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=str(name),
            dimensions_map={str(Dimension.SEQUENCE_STORE_ID): self.sequence_store_id},
            statistic=statistic,
            **options,
        )


def dead_letter_depth(queues: Sequence[sqs.IQueue], **options: Any) -> cloudwatch.IMetric:
    """Messages waiting in all the pipeline's dead-letter queues."""
    options.setdefault("period", Duration.minutes(5))
    metrics = {
        f"q{i}": queue.metric_approximate_number_of_messages_visible(statistic="Maximum", **options)
        for i, queue in enumerate(queues)
    }
    return cloudwatch.MathExpression(
        expression=" + ".join(metrics), using_metrics=metrics, label="Dead-letter messages", period=options["period"]
    )


INTAKE_BACKLOG_ALARM_SECONDS = 900  # a burst of 10,000 files is recorded well within it


def intake_backlog_age(queue: sqs.IQueue, **options: Any) -> cloudwatch.IMetric:
    """How long the oldest object event has waited in the intake queue (seconds)."""
    options.setdefault("period", Duration.minutes(5))
    options.setdefault("statistic", "Maximum")
    return queue.metric_approximate_age_of_oldest_message(**options)


class PipelineAlarms(Construct):
    """Opt-in alarms with defaults a person on call can live with; all notify one topic."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metrics: PipelineMetrics,
        functions: Sequence[lambda_.IFunction],
        state_machine: sfn.IStateMachine,
        dead_letter_queues: Sequence[sqs.IQueue],
        topic: sns.ITopic,
        untracked_objects: bool = False,
        intake_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, id)
        action = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(aid: str, metric: cloudwatch.IMetric, description: str, threshold: float = 1) -> None:
            created = cloudwatch.Alarm(
                self,
                aid,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        alarm(
            "ImportFailures",
            metrics.metric(Metric.FILES_FAILED),
            "Files failed to import in the last 5 minutes; `omics-autoload status` lists each reason.",
        )
        alarm(
            "DeadLetters",
            dead_letter_depth(dead_letter_queues),
            "Events could not be processed and wait in a dead-letter queue; `omics-autoload redrive --dlq`.",
        )
        alarm(
            "StuckItems",
            metrics.metric(Metric.STUCK_ITEMS, statistic="Maximum"),
            "Objects or read sets have stayed in a non-final state longer than the stuck threshold.",
        )
        alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=Duration.minutes(5)),
            "Import workflow executions failed; the files of each are recorded FAILED with a reason.",
        )
        alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=Duration.minutes(5)),
            "Import workflow executions timed out.",
        )
        if intake_queue is not None:
            alarm(
                "IntakeBacklog",
                intake_backlog_age(intake_queue),
                "New objects have waited over 15 minutes in the intake queue to be recorded: the intake "
                "function is failing, throttled or cannot read the queue (its key); see its errors and logs.",
                threshold=INTAKE_BACKLOG_ALARM_SECONDS,
            )
        if untracked_objects:  # with reconciliation: its runs publish the count, zero included
            alarm(
                "UntrackedObjects",
                metrics.metric(Metric.UNTRACKED_OBJECTS, period=Duration.hours(1)),
                "Reconciliation found objects whose S3 event never came and sent them through intake: "
                "check the bucket's notifications (or EventBridge rule) and the intake dead-letter queue.",
            )
        for function in functions:
            name = function.node.scope.node.id if function.node.scope else function.node.id
            label = f"{name}{function.node.id}" if function.node.id != "Function" else name
            alarm(f"{label}Errors", function.metric_errors(period=Duration.minutes(5)), f"{label} function errors.")
            alarm(
                f"{label}Throttles", function.metric_throttles(period=Duration.minutes(5)), f"{label} throttled."
            )


def alarm_topic(scope: Construct, id: str, encryption_key: kms.IKey | None) -> sns.Topic:
    from aws_cdk import Stack

    from . import _defaults

    # Alarm actions publish to an SSE-KMS topic only when the key policy lets
    # CloudWatch use the key; otherwise every notification is dropped silently.
    _defaults.allow_service_on_key(encryption_key, scope, "cloudwatch")
    topic = sns.Topic(
        scope,
        id,
        display_name="omics-autoload alarms and failed imports",
        master_key=encryption_key,
        enforce_ssl=True,
    )
    # A topic policy replaces SNS's default policy: without this statement the TLS-only
    # Deny is all there is, and CloudWatch alarms may not publish.
    stack = Stack.of(scope)
    alarms = f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["sns:Publish"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": alarms},
            },
        )
    )
    return topic


class PipelineDashboard(Construct):
    """A CloudWatch dashboard laid out for the person on call."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        metrics: PipelineMetrics,
        dead_letter_queues: Sequence[sqs.IQueue],
        state_machine: sfn.IStateMachine,
        failure_log_groups: Sequence[str],
        dashboard_name: str | None = None,
        intake_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, id)
        hour = Duration.hours(1)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    "## omics-autoload\nFiles imported, failed and skipped; backlog; latency. "
                    "`omics-autoload status --stack <name>` lists each failed or stuck file with its reason."
                ),
                width=24,
                height=2,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Files per hour",
                left=[
                    metrics.metric(Metric.FILES_IMPORTED, period=hour, label="imported"),
                    metrics.metric(Metric.FILES_FAILED, period=hour, label="failed"),
                    metrics.metric(Metric.FILES_SKIPPED, period=hour, label="skipped"),
                    metrics.metric(Metric.FILES_RECEIVED, period=hour, label="received"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Bytes imported per hour",
                left=[metrics.metric(Metric.BYTES_IMPORTED, period=hour, label="bytes")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Backlog",
                left=[
                    metrics.metric(Metric.WAITING_FOR_MATE, statistic="Maximum", label="waiting for mate"),
                    metrics.metric(Metric.STUCK_ITEMS, statistic="Maximum", label="stuck"),
                    dead_letter_depth(dead_letter_queues),
                ],
                right=[intake_backlog_age(intake_queue, label="oldest unrecorded upload (s)")] if intake_queue else [],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Object created → imported (seconds)",
                left=[
                    metrics.metric(Metric.IMPORT_LATENCY, statistic="p50", label="p50"),
                    metrics.metric(Metric.IMPORT_LATENCY, statistic="p90", label="p90"),
                    metrics.metric(Metric.IMPORT_LATENCY, statistic="Maximum", label="max"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Import workflow executions",
                left=[
                    state_machine.metric_started(label="started"),
                    state_machine.metric_succeeded(label="succeeded"),
                    state_machine.metric_failed(label="failed"),
                    state_machine.metric_timed_out(label="timed out"),
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.LogQueryWidget(
                title="Latest failures and their reasons",
                log_group_names=list(failure_log_groups),
                query_lines=[
                    "fields @timestamp, key, reason",
                    'filter event = "file_failed"',
                    "sort @timestamp desc",
                    "limit 50",
                ],
                width=24,
                height=8,
            )
        )
