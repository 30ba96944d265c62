"""The import workflow: one Step Functions execution per HealthOmics import job.

AcquireSlot ─► StartImport ─► (no job? done) ─► WaitForCompletion ─► Finalize
     └──────────────┴──── any failure ───────────┴─────────────┴─► RecordFailure ─► Fail

``AcquireSlot`` admits at most ``max_concurrent_import_jobs`` batches at once; the others
wait in a first-in, first-out queue, parked on their task token (no polling, no retry
backoff), and each Finalize or RecordFailure hands its slot to the oldest waiter
(``omics_autoload_runtime.adapters.import_slots``). Every HealthOmics call also takes a token from a
per-API rate limit shared by all functions (``omics_autoload_runtime.adapters.rate_limit``).

``WaitForCompletion`` parks a task token in the tracking table and costs nothing while
the job runs, however long: the ``Read Set Import Job Status Change`` event, or the
scheduled sweep that polls jobs with growing intervals (events are best effort), hands
the job's final status back. State transitions per job are therefore the same for a
ten-minute import and for a three-day one.
"""

from __future__ import annotations

import enum

from aws_cdk import ArnFormat, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from . import _capacity, _defaults, _functions, _nag
from .intake import dead_letter_queue
from .stores import ISequenceStore


class PostImportAction(enum.Enum):
    """What happens to a source object once its read set is ACTIVE (never on failure)."""

    KEEP = "KEEP"
    """Leave the object as it is (default)."""
    TAG = "TAG"
    """Tag it ``omics-autoload:read-set-id=<id>`` and ``omics-autoload:imported=true``."""
    TRANSITION = "TRANSITION"
    """Tag it as with TAG; a lifecycle rule on the tag moves it to a cheaper storage class
    (added to buckets the construct creates; add it yourself to your own bucket)."""
    DELETE = "DELETE"
    """Delete it. On a versioned bucket this adds a delete marker: the data stays
    recoverable until a lifecycle rule expires noncurrent versions."""


TRANSIENT_ERRORS = ["OmicsThrottled", "OmicsUnavailable"]
QUOTA_ERRORS = ["OmicsQuotaExceeded"]
TERMINAL_JOB_STATUSES = ["COMPLETED", "COMPLETED_WITH_FAILURES", "FAILED", "CANCELLED"]
# Partition keys of the post-import bookkeeping items (``omics_autoload_runtime.logic.post_import``).
POST_IMPORT_MARKER_KEYS = ["POST#*"]


class ImportWorkflow(Construct):
    """State machine, task functions, completion listener and the HealthOmics import role."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        sequence_store: ISequenceStore,
        environment: dict[str, str],
        key_prefix: str | None = None,
        encryption_key: kms.IKey | None = None,
        retry_interval: Duration = Duration.seconds(2),
        quota_retry_interval: Duration = Duration.minutes(1),
        max_import_duration: Duration = Duration.days(7),
        poll_interval: Duration = Duration.minutes(5),
        metrics_namespace: str = "OmicsAutoLoad",
        post_import_action: PostImportAction = PostImportAction.KEEP,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        max_concurrent_import_jobs: int = 10,
    ) -> None:
        """
        :param bucket: the bucket the source files are in; the import role may read it.
        :param table: the tracking table.
        :param sequence_store: where read sets are imported.
        :param environment: the pipeline settings every handler reads.
        :param key_prefix: the import role reads only objects under this prefix.
            Default: the whole bucket.
        :param encryption_key: encrypts the state machine, logs and environments.
            Default: AWS owned or managed keys.
        :param retry_interval: first wait after a throttled or failed HealthOmics call;
            doubles up to 2 minutes, 8 attempts, full jitter. Default: 2 s.
        :param quota_retry_interval: first wait when the concurrent import job quota is
            full; grows 1.5x up to 15 minutes, 30 attempts (about 6 hours), full jitter.
            Default: 1 minute.
        :param max_import_duration: an import job still running after this is recorded
            as failed. Default: 7 days.
        :param poll_interval: how often the sweep looks for jobs due a poll and for
            orphaned mates. Each job is polled after ``FIRST_POLL_SECONDS`` and then at
            doubling intervals. Default: 5 minutes.
        :param metrics_namespace: CloudWatch namespace. Default: ``OmicsAutoLoad``.
        :param post_import_action: what to do with a source object once its read set is
            ACTIVE. Default: ``PostImportAction.KEEP``.
        :param log_retention: Default: one year.
        :param max_concurrent_import_jobs: import jobs this pipeline runs at once, 1-1000;
            further batches wait in a first-in, first-out queue. HealthOmics' own quota on
            concurrent import jobs is per account and Region, shared by read set and
            reference imports (and other pipelines), and adjustable in Service Quotas: keep
            this at or below it minus what else imports. A batch waits for a slot at most
            ``max_import_duration``. Default: 10.
        """
        super().__init__(scope, id)
        problem = _capacity.check_max_concurrent_import_jobs(max_concurrent_import_jobs)
        if problem:
            raise ValueError(problem)
        stack = Stack.of(self)
        self.import_role = _defaults.omics_service_role(
            self, "ImportRole", description="omics-autoload: HealthOmics reads the source files of read set imports"
        )
        _functions.grant_read_objects(self.import_role, bucket, key_prefix)
        _functions.grant_bucket_location(self.import_role, bucket)
        _functions.acknowledge_object_wildcard(self.import_role, bucket, key_prefix)
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", encryption_key)

        env = {
            **environment,
            "IMPORT_ROLE_ARN": self.import_role.role_arn,
            "POST_IMPORT_ACTION": post_import_action.value,
            "MAX_CONCURRENT_IMPORT_JOBS": str(max_concurrent_import_jobs),
            # The namespace PutMetricData is granted for below.
            "METRICS_NAMESPACE": metrics_namespace,
        }
        state_machine_name = Names.unique_resource_name(self, max_length=80, separator="-")
        state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

        def function(fid: str, module: str, description: str, timeout: int = 60):
            fn = _functions.handler_function(
                self,
                fid,
                module=module,
                description=f"omics-autoload: {description}",
                environment=env,
                encryption_key=encryption_key,
                log_retention=log_retention,
                timeout=Duration.seconds(timeout),
                dead_letter_queue=self.dead_letter_queue,
            )
            _functions.grant_table(fn, table)
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["omics:GetReadSetImportJob"],
                    resources=[sequence_store.sequence_store_arn],
                )
            )
            return fn

        self.start_function = function("StartFunction", "import_start", "starts HealthOmics import jobs")
        self.start_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["omics:StartReadSetImportJob"], resources=[sequence_store.sequence_store_arn]
            )
        )
        self.start_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.import_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "omics.amazonaws.com"}},
            )
        )
        self.wait_function = function("WaitFunction", "import_wait", "parks the task token of a running job")
        self.finalize_function = function(
            "FinalizeFunction", "import_finalize", "records the outcome of each file", timeout=300
        )
        _functions.allow_put_metrics(self.finalize_function, metrics_namespace)
        # StartImport records (and counts) files it fails or skips before any import job.
        _functions.allow_put_metrics(self.start_function, metrics_namespace)
        self.completion_function = function(
            "CompletionFunction", "completion", "hands finished jobs back to their workflow", timeout=300
        )
        self.capacity_function = _capacity.capacity_function(
            self,
            "CapacityFunction",
            table=table,
            environment=env,
            encryption_key=encryption_key,
            log_retention=log_retention,
            dead_letter_queue=self.dead_letter_queue,
        )
        # Finalize and RecordFailure release a batch's slot (StartImport too when it has no job,
        # the sweep when an execution leaked one) and hand it to the next waiter.
        for fn in (self.start_function, self.finalize_function, self.completion_function):
            _capacity.grant_slot_deletes(fn, table)
        for fn in (
            self.wait_function,
            self.completion_function,
            self.finalize_function,
            self.start_function,
            self.capacity_function,
        ):
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[state_machine_arn],
                )
            )
        # The sweep checks whether a batch's execution still runs before freeing its read sets.
        self.execution_arn_pattern = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.completion_function.add_environment("STATE_MACHINE_ARN", state_machine_arn)
        self.completion_function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[self.execution_arn_pattern])
        )
        _functions.allow_put_metrics(self.completion_function, metrics_namespace)
        # Finalize acts on imported objects; the sweep retries when a read set was not ACTIVE yet.
        for fn in (self.finalize_function, self.completion_function):
            self._grant_post_import_action(post_import_action, bucket, key_prefix, sequence_store, fn)
        if post_import_action is not PostImportAction.KEEP:
            # The sweep deletes the bookkeeping item of a post-import action it has resolved.
            self.completion_function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:DeleteItem"],
                    resources=[table.table_arn],
                    conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": POST_IMPORT_MARKER_KEYS}},
                )
            )
        _nag.acknowledge(
            self.completion_function.role or self.completion_function,
            {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{_nag.rendered(self, self.execution_arn_pattern)}]"]},
            "Execution names are made at run time; DescribeExecution is limited to this state machine's executions.",
        )

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(
                self._definition(retry_interval, quota_retry_interval, max_import_duration)
            ),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=_defaults.log_group(
                    self,
                    "StateMachineLogs",
                    encryption_key=encryption_key,
                    retention=log_retention,
                    removal_policy=RemovalPolicy.RETAIN,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,  # inputs name S3 keys; keep them out of logs
            ),
        )
        if encryption_key is not None:
            _defaults.encrypt_state_machine(
                self.state_machine.node.default_child,  # type: ignore[arg-type]
                self.state_machine.role,
                encryption_key,
                state_machine_arn=state_machine_arn,
            )
        _nag.acknowledge(
            self.state_machine.role,
            {
                _nag.AWS_SOLUTIONS: [
                    "IAM5[Resource::*]",
                    *(
                        f"IAM5[Resource::{_nag.rendered(self, fn.function_arn)}:*]"
                        for fn in (
                            self.capacity_function,
                            self.start_function,
                            self.wait_function,
                            self.finalize_function,
                        )
                    ),
                ],
                _nag.HIPAA: ["IAMNoInlinePolicy"],
                _nag.NIST: ["IAMNoInlinePolicy"],
            },
            "Step Functions' X-Ray and log-delivery actions support no resource-level "
            "permission; lambda:InvokeFunction names the four task functions (and their "
            "versions); the inline policy belongs to this state machine's role alone.",
        )
        _nag.acknowledge(
            self.import_role,
            {_nag.HIPAA: ["IAMNoInlinePolicy"], _nag.NIST: ["IAMNoInlinePolicy"]},
            "The import role's policy is written for HealthOmics reading these sources only.",
        )

        # Completion: terminal job events (best effort) and the scheduled sweep.
        self.job_status_rule = events.Rule(
            self,
            "JobStatusChange",
            description="omics-autoload: HealthOmics read set import job reached a final status",
            event_pattern=events.EventPattern(
                source=["aws.omics"],
                detail_type=["Read Set Import Job Status Change"],
                detail={"status": TERMINAL_JOB_STATUSES},
            ),
            targets=[targets.LambdaFunction(self.completion_function, retry_attempts=8)],
        )
        self.sweep_rule = events.Rule(
            self,
            "Sweep",
            description="omics-autoload: polls jobs whose events may be lost; resolves orphaned mates",
            schedule=events.Schedule.rate(poll_interval),
            targets=[targets.LambdaFunction(self.completion_function, retry_attempts=2)],
        )

    def _grant_post_import_action(
        self,
        action: PostImportAction,
        bucket: s3.IBucket,
        key_prefix: str | None,
        store: ISequenceStore,
        function: lambda_.Function,
    ) -> None:
        if action is PostImportAction.KEEP:
            return
        # The read set must be ACTIVE before its sources are touched.
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["omics:GetReadSetMetadata"], resources=[f"{store.sequence_store_arn}/readSet/*"]
            )
        )
        object_actions = (
            ["s3:DeleteObject"]
            if action is PostImportAction.DELETE
            else [
                "s3:PutObjectTagging",
                "s3:PutObjectVersionTagging",
                "s3:GetObjectTagging",
                "s3:GetObjectVersionTagging",
            ]
        )
        function.add_to_role_policy(
            iam.PolicyStatement(actions=object_actions, resources=[bucket.arn_for_objects(f"{key_prefix or ''}*")])
        )
        _functions.acknowledge_object_wildcard(function, bucket, key_prefix)
        _nag.acknowledge(
            function.role or function,
            {_nag.AWS_SOLUTIONS: [f"IAM5[Resource::{_nag.rendered(self, store.sequence_store_arn)}/readSet/*]"]},
            "Read sets are created by the imports; reading their metadata is limited to this sequence store.",
        )

    def _definition(
        self, retry_interval: Duration, quota_retry_interval: Duration, max_import_duration: Duration
    ) -> sfn.IChainable:
        record_failure = tasks.LambdaInvoke(
            self,
            "RecordFailure",
            lambda_function=self.finalize_function,
            payload_response_only=True,
            result_path=sfn.JsonPath.DISCARD,
        ).next(sfn.Fail(self, "ImportFailed", error="ImportFailed", cause="see each file's reason in the table"))

        def retrying(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
            task.add_retry(
                errors=TRANSIENT_ERRORS,
                interval=retry_interval,
                backoff_rate=2,
                max_attempts=8,
                max_delay=Duration.minutes(2),
                jitter_strategy=sfn.JitterType.FULL,
            )
            task.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
            return task

        start = tasks.LambdaInvoke(
            self,
            "StartImport",
            lambda_function=self.start_function,
            payload_response_only=True,
        )
        start.add_retry(
            errors=QUOTA_ERRORS,
            interval=quota_retry_interval,
            backoff_rate=1.5,
            max_attempts=30,
            max_delay=Duration.minutes(15),
            jitter_strategy=sfn.JitterType.FULL,
        )
        retrying(start)
        acquire = retrying(
            tasks.LambdaInvoke(
                self,
                "AcquireSlot",
                lambda_function=self.capacity_function,
                integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
                payload=sfn.TaskInput.from_object(
                    {"taskToken": sfn.JsonPath.task_token, "batchId": sfn.JsonPath.string_at("$.batchId")}
                ),
                result_path=sfn.JsonPath.DISCARD,
                task_timeout=sfn.Timeout.duration(max_import_duration),
            )
        )
        wait = tasks.LambdaInvoke(
            self,
            "WaitForCompletion",
            lambda_function=self.wait_function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "taskToken": sfn.JsonPath.task_token,
                    "jobId": sfn.JsonPath.string_at("$.jobId"),
                    "batchId": sfn.JsonPath.string_at("$.batchId"),
                }
            ),
            result_path="$.completion",
            task_timeout=sfn.Timeout.duration(max_import_duration),
        )
        # Parking the token may be throttled too: retried, or RecordFailure would free the
        # slot of a job HealthOmics is still running.
        retrying(wait)
        finalize = retrying(
            tasks.LambdaInvoke(
                self,
                "Finalize",
                lambda_function=self.finalize_function,
                payload=sfn.TaskInput.from_object(
                    {
                        "batchId": sfn.JsonPath.string_at("$.batchId"),
                        "jobId": sfn.JsonPath.string_at("$.jobId"),
                        "readSetKeys": sfn.JsonPath.list_at("$.readSetKeys"),
                        "completion": sfn.JsonPath.object_at("$.completion"),
                    }
                ),
                payload_response_only=True,
            )
        )
        has_job = (
            sfn.Choice(self, "HasJob")
            .when(sfn.Condition.is_null("$.jobId"), sfn.Succeed(self, "NothingToImport"))
            .otherwise(wait.next(finalize))
        )
        return acquire.next(start).next(has_job)
