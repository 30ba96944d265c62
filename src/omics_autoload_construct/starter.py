"""Starter: tracking-table stream → starter Lambda → one import workflow execution per batch."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Arn, ArnFormat, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.settings import Settings

from . import _defaults, _functions, _nag, _props
from .intake import check_batching_window, dead_letter_queue

# A lone file waits this long before its import starts; a burst does not wait (see Starter).
DEFAULT_BATCHING_WINDOW = Duration.seconds(contract.STREAM_BATCHING_WINDOW_SECONDS)
# While a burst is under way, read sets of small batches gather this long at most (see Starter).
DEFAULT_GATHER_WINDOW = Duration.seconds(contract.GATHER_WINDOW_SECONDS)


class Starter(Construct):
    """Reads ready read sets from the table's stream and starts import workflows.

    The event source mapping passes only read-set items whose new status is ``QUEUED``,
    waits up to ``batching_window`` to fill a batch of up to ``max_sources_per_job``
    read sets, bisects a failing batch, retries a bounded number of times and then
    sends the batch's description to ``dead_letter_queue``. Execution names are derived
    from the batch content, so a replayed batch starts nothing twice.

    The window is short on purpose, so a file that comes alone starts at once; Lambda
    invokes as soon as ``max_sources_per_job`` records are buffered, so a fast burst fills
    jobs anyway. A slow burst (a sequencing run uploading for hours, a file every few
    seconds) would make a small job per window: while batches keep being started, the
    handler sends small batches to ``gather_queue`` instead, whose event source waits up
    to ``gather_window`` (or a full job) before the same handler starts them.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
        settings: Settings | None = None,
        max_sources_per_job: int = 100,
        batching_window: Duration = DEFAULT_BATCHING_WINDOW,
        gather_window: Duration = DEFAULT_GATHER_WINDOW,
        retry_attempts: int = 10,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """
        :param table: the tracking table; it must have a stream.
        :param state_machine: the import workflow.
        :param settings: the pipeline settings every handler reads (``Settings``); the
            table and the state machine are filled in from this part. Default: ``Settings()``.
        :param max_sources_per_job: read sets per import job (1-100). Default: 100.
        :param batching_window: how long the stream waits to fill a batch that is not
            full yet (0-300 s); a full batch goes at once. Default: 2 s.
        :param gather_window: while a burst is under way, how long at most the read sets
            of a batch smaller than a job wait for more (0-300 s; 0: no gathering, every
            batch starts at once). Default: 60 s.
        :param retry_attempts: retries of a failing batch before it goes to the
            dead-letter queue. Default: 10.
        :param encryption_key: encrypts the dead-letter queue, logs and environment.
            Default: AWS managed keys.
        :param log_retention: Default: one year.
        :param environment: deprecated: hand-built variables; give ``settings``.
        """
        super().__init__(scope, id)
        settings = _props.settings_of(self, settings, environment).replace(
            table_name=table.table_name, state_machine_arn=state_machine.state_machine_arn
        )
        if not 1 <= max_sources_per_job <= 100:
            raise ValueError(f"max_sources_per_job must be 1-100 (HealthOmics limit), got {max_sources_per_job}")
        window_problem = check_batching_window(batching_window) or check_batching_window(
            gather_window, "gather_window", 60
        )
        if window_problem:
            raise ValueError(window_problem)
        if table.table_stream_arn is None:
            raise ValueError("the tracking table needs a stream (NEW_IMAGE) for the starter")
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", encryption_key)
        function_timeout = Duration.seconds(60)
        self.gather_queue: sqs.Queue | None = None
        if gather_window.to_seconds() > 0:
            self.gather_queue = _defaults.event_source_queue(
                self, "GatherQueue", encryption_key, function_timeout, self.dead_letter_queue
            )
            settings = settings.replace(gather_queue_url=self.gather_queue.queue_url)
        self.function = _functions.handler_function(
            self,
            "Function",
            module="starter",
            description="omics-autoload: batches queued read sets into import workflows",
            settings=settings,
            encryption_key=encryption_key,
            log_retention=log_retention,
            dead_letter_queue=self.dead_letter_queue,
            timeout=function_timeout,
        )
        _functions.grant_table(self.function, table)
        _functions.acknowledge_queue_grant(self.function)
        state_machine.grant_start_execution(self.function)
        if self.gather_queue is not None:
            self.gather_queue.grant_send_messages(self.function)
            self.function.add_event_source(
                sources.SqsEventSource(
                    self.gather_queue,
                    batch_size=max_sources_per_job,
                    max_batching_window=gather_window,
                    report_batch_item_failures=True,
                )
            )
        # A read set claimed by a batch long ago is taken over only when that batch's
        # execution no longer runs: the handler asks Step Functions (DescribeExecution).
        state_machine_name = Arn.split(state_machine.state_machine_arn, ArnFormat.COLON_RESOURCE_NAME).resource_name
        executions = _functions.execution_arns(self, str(state_machine_name))
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions])
        )
        self.function.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=max_sources_per_job,
                max_batching_window=batching_window,
                bisect_batch_on_error=True,
                retry_attempts=retry_attempts,
                report_batch_item_failures=True,
                parallelization_factor=1,
                on_failure=sources.SqsDlq(self.dead_letter_queue),
                # The contract's pattern: the runtime's tests and the e2e harness use the same one.
                filters=[lambda_.FilterCriteria.filter(contract.STARTER_FILTER_PATTERN)],
            )
        )
        _nag.acknowledge(
            self.function.role or self.function,
            {_nag.AWS_SOLUTIONS: ["IAM5[Resource::*]"]},
            "dynamodb:ListStreams, added by the event source mapping, supports no "
            "resource-level permission; every other statement names the table's stream.",
        )
        _nag.acknowledge(
            self.function.role or self.function,
            {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{_nag.rendered(self, executions)}]"]},
            "Execution names are made at run time; DescribeExecution is limited to the "
            "import workflow's executions.",
        )

