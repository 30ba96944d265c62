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

The completion listener and the sweep are wired in ``completion``, the post-import
grants in ``post_import``, the AcquireSlot function in ``_import_slot``: one file per
stage, named as in the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.contract import PostImportAction
from omics_autoload_runtime.settings import Settings

from . import _defaults, _functions, _import_slot, _nag, _props, completion, post_import
from .intake import dead_letter_queue
from .stores import ISequenceStore


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
        settings: Settings | None = None,
        key_prefixes: Sequence[str] | None = None,
        encryption_key: kms.IKey | None = None,
        retry_interval: Duration = Duration.seconds(2),
        quota_retry_interval: Duration = Duration.minutes(1),
        max_import_duration: Duration = Duration.days(7),
        sweep_interval: Duration | None = None,
        metrics_namespace: str | None = None,
        post_import_action: PostImportAction | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        max_concurrent_import_jobs: int | None = None,
        poll_interval: Duration | None = None,
        environment: Mapping[str, str] | None = None,
        key_prefix: str | None = None,
    ) -> None:
        """
        :param bucket: the bucket the source files are in; the import role may read it.
        :param table: the tracking table.
        :param sequence_store: where read sets are imported.
        :param settings: the pipeline settings every handler reads (``Settings``). The
            table, the sequence store, the import role and the state machine are filled in
            from this part; the props below win over the settings' values. Default:
            ``Settings()``.
        :param key_prefixes: the import role (and the functions that check or tag
            sources) read only objects under these prefixes. Default: the whole bucket.
        :param encryption_key: encrypts the state machine, logs and environments.
            Default: AWS owned or managed keys.
        :param retry_interval: first wait after a throttled or failed HealthOmics call;
            doubles up to 2 minutes, 8 attempts, full jitter. Default: 2 s.
        :param quota_retry_interval: first wait when the concurrent import job quota is
            full; grows 1.5x up to 15 minutes, 30 attempts (about 6 hours), full jitter.
            Default: 1 minute.
        :param max_import_duration: an import job still running after this is recorded
            as failed. Default: 7 days.
        :param sweep_interval: how often the sweep looks for jobs due a poll and for
            orphaned mates. Each job is polled after ``settings.first_poll_seconds`` and
            then at doubling intervals. Default: 5 minutes.
        :param metrics_namespace: CloudWatch namespace. Default: ``settings.metrics_namespace``.
        :param post_import_action: what to do with a source object once its read set is
            ACTIVE. Default: ``settings.post_import_action``.
        :param log_retention: Default: one year.
        :param max_concurrent_import_jobs: import jobs this pipeline runs at once, 1-1000;
            further batches wait in a first-in, first-out queue. HealthOmics' own quota on
            concurrent import jobs is per account and Region, shared by read set and
            reference imports (and other pipelines), and adjustable in Service Quotas: keep
            this at or below it minus what else imports. A batch waits for a slot at most
            ``max_import_duration``. Default: ``settings.max_concurrent_import_jobs``.
        :param poll_interval: deprecated name of ``sweep_interval``.
        :param environment: deprecated: hand-built variables; give ``settings``.
        :param key_prefix: deprecated single form of ``key_prefixes``.
        """
        super().__init__(scope, id)
        base = _props.settings_of(self, settings, environment)
        prefixes, prefix_problems = _props.key_prefixes_of(self, key_prefix, key_prefixes)
        if prefix_problems:
            raise ValueError("invalid ImportWorkflow props:\n- " + "\n- ".join(prefix_problems))
        key_prefix_list = list(prefixes)
        self.key_prefixes = prefixes
        sweep_interval = _props.renamed(
            self,
            "poll_interval",
            poll_interval,
            "sweep_interval",
            sweep_interval,
            Duration.seconds(contract.SWEEP_INTERVAL_SECONDS),
        )
        metrics_namespace = metrics_namespace or base.metrics_namespace
        post_import_action = post_import_action or base.post_import_action
        if max_concurrent_import_jobs is None:
            max_concurrent_import_jobs = base.max_concurrent_import_jobs
        problem = _import_slot.check_max_concurrent_import_jobs(max_concurrent_import_jobs)
        if problem:
            raise ValueError(problem)
        stack = Stack.of(self)
        self.import_role = _defaults.omics_service_role(
            self, "ImportRole", description="omics-autoload: HealthOmics reads the source files of read set imports"
        )
        _functions.grant_read_objects(self.import_role, bucket, key_prefix_list)
        _functions.grant_bucket_location(self.import_role, bucket)
        _functions.acknowledge_object_wildcard(self.import_role, bucket, key_prefix_list)
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", encryption_key)

        state_machine_name = Names.unique_resource_name(self, max_length=80, separator="-")
        state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        env = base.replace(
            table_name=table.table_name,
            sequence_store_id=sequence_store.sequence_store_id,
            import_role_arn=self.import_role.role_arn,
            # The sweep checks batches' executions; the ARN is known before the state machine exists.
            state_machine_arn=state_machine_arn,
            post_import_action=post_import_action,
            max_concurrent_import_jobs=max_concurrent_import_jobs,
            # The namespace the handlers write their metric lines (EMF) under.
            metrics_namespace=metrics_namespace,
        )

        def function(fid: str, module: str, description: str, timeout: int = 60):
            fn = _functions.handler_function(
                self,
                fid,
                module=module,
                description=f"omics-autoload: {description}",
                settings=env,
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
            iam.PolicyStatement(actions=["omics:StartReadSetImportJob"], resources=[sequence_store.sequence_store_arn])
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
        # StartImport records (and counts) files it fails or skips before any import job.
        self.completion_function = function(
            "CompletionFunction", "completion", "hands finished jobs back to their workflow", timeout=300
        )
        self.capacity_function = _import_slot.import_slot_function(
            self,
            "CapacityFunction",
            table=table,
            settings=env,
            encryption_key=encryption_key,
            log_retention=log_retention,
            dead_letter_queue=self.dead_letter_queue,
        )
        # Finalize and RecordFailure release a batch's slot (StartImport too when it has no job,
        # the sweep when an execution leaked one) and hand it to the next waiter.
        for fn in (self.start_function, self.finalize_function, self.completion_function):
            _import_slot.grant_slot_deletes(fn, table)
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
        # StartImport checks each source's current version, Finalize (and the sweep's) again after.
        for fn in (self.start_function, self.finalize_function, self.completion_function):
            _functions.grant_version_check(fn, bucket, key_prefix_list)
        self.execution_arn_pattern = _functions.execution_arns(self, state_machine_name)
        # Finalize acts on imported objects; the sweep retries when a read set was not ACTIVE yet.
        post_import.grant_post_import_action(
            post_import_action, self.finalize_function, bucket=bucket, key_prefix=key_prefix_list, store=sequence_store
        )
        completion.grant_sweep(
            self.completion_function,
            executions=self.execution_arn_pattern,
            table=table,
            post_import_action=post_import_action,
            bucket=bucket,
            key_prefix=key_prefix_list,
            store=sequence_store,
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

        self.job_status_rule, self.sweep_rule = completion.add_triggers(
            self, self.completion_function, sweep_interval=sweep_interval
        )

    def _definition(
        self, retry_interval: Duration, quota_retry_interval: Duration, max_import_duration: Duration
    ) -> sfn.IChainable:
        def retry(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
            """Transient errors, and crashes of the function (every task is idempotent)."""
            task.add_retry(
                errors=[str(error) for error in contract.TRANSIENT_ERRORS],
                interval=retry_interval,
                backoff_rate=2,
                max_attempts=8,
                max_delay=Duration.minutes(2),
                jitter_strategy=sfn.JitterType.FULL,
            )
            task.add_retry(
                errors=list(contract.LAMBDA_ERRORS),
                interval=retry_interval,
                backoff_rate=2,
                max_attempts=6,
                max_delay=Duration.minutes(2),
                jitter_strategy=sfn.JitterType.FULL,
            )
            return task

        record_failure = retry(
            tasks.LambdaInvoke(
                self,
                "RecordFailure",
                lambda_function=self.finalize_function,
                payload_response_only=True,
                result_path=sfn.JsonPath.DISCARD,
            )
        )
        record_failure.next(
            sfn.Fail(self, "ImportFailed", error="ImportFailed", cause="see each file's reason in the table")
        )

        def retrying(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
            retry(task)
            task.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
            return task

        start = tasks.LambdaInvoke(
            self,
            "StartImport",
            lambda_function=self.start_function,
            payload_response_only=True,
        )
        start.add_retry(
            errors=[str(error) for error in contract.QUOTA_ERRORS],
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
