"""``OmicsAutoLoad``: every object that lands in a bucket becomes a HealthOmics read set."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from omics_autoload_runtime import contract
from omics_autoload_runtime.contract import Metric, PostImportAction, ReuploadPolicy
from omics_autoload_runtime.domain.illumina_sheet import SheetColumns
from omics_autoload_runtime.domain.options import AssemblyOptions
from omics_autoload_runtime.settings import Settings

from . import _defaults, _functions, _import_slot, _props, monitoring
from .batch_operations import BatchOperations
from .import_workflow import ImportWorkflow
from .intake import DEFAULT_BATCHING_WINDOW as INTAKE_BATCHING_WINDOW
from .intake import Intake, TriggerMode
from .reconciliation import ObjectReconciliation, Reconciliation
from .reference_genome import IReferenceGenome, reference_set
from .starter import DEFAULT_BATCHING_WINDOW, DEFAULT_GATHER_WINDOW, Starter, check_batching_window
from .stores import ISequenceStore, SequenceStore
from .tracking_table import TrackingTable


class OrphanPolicy(enum.Enum):
    """What happens to a FASTQ mate whose partner never arrives."""

    REPORT = "REPORT"
    """Not imported; recorded with a reason naming the missing mate (default)."""
    IMPORT_SINGLE = "IMPORT_SINGLE"
    """Imported as a single-end read set."""


class OmicsAutoLoad(Construct):
    """Automatic, monitored, secure import of sequencing files from S3 into HealthOmics.

    Example::

        OmicsAutoLoad(stack, "AutoLoad")

    creates a private, encrypted, versioned bucket, a sequence store and the import
    pipeline; every FASTQ / BAM / CRAM / uBAM object written to the bucket becomes a
    read set, or is recorded in the tracking table with the reason why not.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket | None = None,
        bucket_props: dict[str, Any] | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        trigger_mode: TriggerMode = TriggerMode.S3_NOTIFICATIONS,
        key_prefixes: Sequence[str] | None = None,
        key_suffixes: Sequence[str] = (),
        sequence_store: ISequenceStore | None = None,
        reference: IReferenceGenome | None = None,
        reference_arn: str | None = None,
        references: Mapping[str, IReferenceGenome | str] | None = None,
        reference_rules: Mapping[str, str] | None = None,
        default_reference: str | None = None,
        read_set_patterns: Sequence[str] = (),
        sample_sheet_name: str | None = contract.SAMPLE_SHEET_NAME,
        illumina_sheet_name: str | None = contract.ILLUMINA_SHEET_NAME,
        illumina_sheet_columns: Mapping[str, Sequence[str]] | None = None,
        require_sample_sheet: bool | Sequence[str] = False,
        sample_sheet_timeout: Duration = Duration.seconds(contract.SHEET_WAIT_SECONDS),
        run_complete_marker: str | None = None,
        include_undetermined: bool = False,
        orphan_policy: OrphanPolicy = OrphanPolicy.REPORT,
        orphan_window: Duration = Duration.seconds(contract.ORPHAN_WINDOW_SECONDS),
        bam_is_unaligned: bool = False,
        sample_from_header: bool = True,
        max_sources_per_job: int = 100,
        batching_window: Duration = DEFAULT_BATCHING_WINDOW,
        gather_window: Duration = DEFAULT_GATHER_WINDOW,
        intake_batching_window: Duration = INTAKE_BATCHING_WINDOW,
        retry_interval: Duration = Duration.seconds(2),
        quota_retry_interval: Duration = Duration.minutes(1),
        first_poll_delay: Duration = Duration.seconds(contract.FIRST_POLL_SECONDS),
        max_poll_interval: Duration = Duration.seconds(contract.MAX_POLL_SECONDS),
        sweep_interval: Duration | None = None,
        max_import_duration: Duration = Duration.days(7),
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        metrics_namespace: str = contract.METRICS_NAMESPACE,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_identifiers: bool = False,
        alarms: bool = False,
        alarm_topic: sns.ITopic | None = None,
        notify_failures: bool = True,
        dashboard: bool = True,
        dashboard_name: str | None = None,
        stuck_after: Duration = Duration.seconds(contract.STUCK_AFTER_SECONDS),
        post_import_action: PostImportAction = PostImportAction.KEEP,
        transition_storage_class: s3.StorageClass | None = None,
        max_concurrent_import_jobs: int = contract.MAX_CONCURRENT_IMPORT_JOBS,
        omics_calls_per_second: float = contract.OMICS_CALLS_PER_SECOND,
        reupload_policy: ReuploadPolicy = ReuploadPolicy.IMPORT_AS_NEW,
        reserved_concurrent_executions: int | None = None,
        reconciliation: Reconciliation | None = None,
        poll_interval: Duration | None = None,
        batch_operations: bool = False,
        key_prefix: str | None = None,
        legacy_status_index: bool | None = None,
    ) -> None:
        """
        :param bucket: an existing bucket to watch. Default: a new bucket is created
            (versioned, KMS-encrypted, TLS only, public access blocked, object ownership
            enforced, server access logs on).
        :param bucket_props: overrides for the bucket this construct creates (keyword
            arguments of ``aws_s3.Bucket``). Cannot be combined with ``bucket``.
            Default: none.
        :param server_access_logs_bucket: where the created bucket writes its S3 server
            access logs. Default: a new SSE-S3 bucket (log delivery cannot use KMS keys).
            Cannot be combined with ``bucket``.
        :param trigger_mode: S3 event notifications (added without replacing the bucket's
            others) or EventBridge ``Object Created`` events (turned on for the bucket this
            construct creates; turn them on for your own). Default: S3 notifications.
        :param key_prefixes: watch and read only objects under these prefixes (for
            example ``["runs/", "aligned/"]``): one notification filter (or EventBridge
            pattern entry) per prefix, and every grant on the bucket's objects names only
            ``<bucket>/<prefix>*``. Prefixes must not overlap (S3 refuses overlapping
            notification filters), start with ``/`` or hold ``*``. Default: the whole bucket.
        :param key_suffixes: watch only keys ending so. Default: every object, so each
            one is recorded, imported or skipped with a reason.
        :param sequence_store: the store that receives the read sets. Default: a new
            ``SequenceStore``.
        :param reference: the reference genome BAM and CRAM files were aligned to: a
            ``ReferenceGenome``, or ``ReferenceGenome.from_reference_arn`` /
            ``from_parameter_name``; an ARN kept in SSM is read at run time. Default: none.
        :param reference_arn: a reference ARN to use as it is, instead of ``reference``.
            Default: none. With neither (and no ``references``), BAM and CRAM files are
            skipped with a reason; FASTQ and uBAM import fine. With ``references``, this
            one (or ``reference``) is among them as ``"default"``, the default reference.
        :param references: several references side by side, by name, e.g.
            ``{"GRCh38": ReferenceGenome(..., contigs=Contigs.GRCH38), "GRCh37":
            ReferenceGenome.from_reference_arn(..., contigs=Contigs.GRCH37)}`` (a value may
            also be a reference ARN). Each BAM/CRAM is imported against its own: the first
            of ``reference_rules`` that matches its key, else the one whose declared
            ``contigs`` agree with the ``@SQ`` lines of its header (names, lengths, ``M5``),
            else ``default_reference``. A file whose header matches none, or more than one,
            or contradicts its rule, ends FAILED with a reason naming the contigs seen and
            the references configured; it is never imported against another. Only the
            import-start function may read these references' SSM parameters. Default: none.
        :param reference_rules: glob over the object key (``fnmatch``; ``*`` also matches
            ``/``) -> reference name, tried in order, e.g. ``{"legacy/*": "GRCh37"}``.
            Default: none (the header decides).
        :param default_reference: the reference for files that neither a rule nor the
            header decides (still checked against its contigs when it has them).
            Default: none (such files fail with a reason), or ``"default"`` when
            ``reference``/``reference_arn`` is also given.
        :param read_set_patterns: regular expressions over file names with named groups
            (``sample`` required; ``mate``, ``name``, ``subject``...), tried before the
            built-in Illumina / SRA rules. Default: none.
        :param sample_sheet_name: a CSV of this name in a folder (columns
            ``source1,source2,subject_id,sample_id`` and optional ``name,description,
            generated_from``) names the read sets and metadata of files uploaded to that
            folder after it; it wins over names and tags. ``None`` turns the lookup off
            (saves one S3 GET per object). Default: ``omics-samplesheet.csv``.
        :param illumina_sheet_name: the instrument's sample sheet (v1 bcl2fastq / IEM or
            v2 BCL Convert) of this name in a file's run folder, or in its ``Fastq/`` or
            ``Reports/`` subfolder, sets the metadata of the run's files uploaded after it:
            its rows match files by ``Sample_ID`` (and ``Lane``). Object tags and the
            ``sample_sheet_name`` CSV win over it. ``None`` turns the lookup off (saves up to
            three S3 GETs per run folder and invocation). Default: ``SampleSheet.csv``.
        :param illumina_sheet_columns: which sheet columns (or ``[Header]`` fields) feed
            ``sample_id``, ``subject_id``, ``description`` and ``generated_from``, first
            non-empty wins, e.g. ``{"subject_id": ["Sample_Name", "Patient_ID"]}``.
            Default: ``Sample_ID``; ``Sample_Name`` (else the sample id);
            ``Sample_Project``/``ProjectName``; ``RunName``/``Experiment Name``.
        :param require_sample_sheet: files under these key prefixes (``True``: every file)
            wait, with status ``WAITING_FOR_SHEET`` and a reason naming the sheet and the
            folders searched, until their run's ``illumina_sheet_name`` sheet arrives; then
            they go on as if they had arrived after it (a malformed sheet fails them with
            its line). Use it when the sheet carries the ids (LIMS, patient) and DataSync
            may deliver the FASTQs first. Default: ``False`` (files never wait).
        :param sample_sheet_timeout: how long a file waits for its sheet (and
            ``run_complete_marker``) before it ends ``FAILED``, with a reason saying which
            sheet was expected where and how to redrive. Default: 24 hours.
        :param run_complete_marker: a file the run's software writes last, as a path from
            the run folder (``CopyComplete.txt``, ``RTAComplete.txt``,
            ``Logs/FastqComplete.txt``): files that wait (``require_sample_sheet``) also wait
            for it, and its arrival releases the run's files as one unit. Default: none.
        :param include_undetermined: import Illumina ``Undetermined_*`` reads. Default: no.
        :param orphan_policy: a mate whose partner has not arrived after
            ``orphan_window``. Default: ``OrphanPolicy.REPORT``.
        :param orphan_window: how long a mate waits for its partner. Default: 24 hours.
        :param bam_is_unaligned: treat every ``.bam`` as uBAM. Default: no (``.ubam`` and
            ``.unmapped.bam`` are uBAM).
        :param sample_from_header: a BAM's or CRAM's sample and subject id come from the
            ``@RG SM:`` tag of its header when all its read groups name one sample (one
            64 KiB read per file); tags and sheets still win. Default: yes.
        :param max_sources_per_job: read sets per import job, 1-100. Default: 100.
        :param batching_window: how long ready read sets are gathered into one job that
            is not full yet; a full job (``max_sources_per_job``) starts at once, so this
            is the wait of a file that comes alone. Default: 2 seconds.
        :param gather_window: while a burst is under way (batches keep being started), how
            long at most ready read sets of a batch smaller than a job wait for more, so a
            sequencing run that uploads a file every few seconds fills jobs instead of
            starting one per read set (0: off). Default: 60 seconds.
        :param intake_batching_window: how long the intake queue gathers new objects into
            one invocation of the intake function (0-300 s, up to 100 objects), which reads
            each folder's sample sheets once for all of them. A lone file waits this, then
            ``batching_window``. Default: 3 seconds.
        :param retry_interval: first wait after a throttled HealthOmics call. Default: 2 s.
        :param quota_retry_interval: first wait when the import job quota is full.
            Default: 1 minute.
        :param first_poll_delay: when a running job is first polled in case its event
            is lost; later polls double up to ``max_poll_interval``. Default: 5 minutes.
        :param max_poll_interval: Default: 6 hours.
        :param sweep_interval: how often the sweep runs (it polls jobs whose event may
            be lost, resolves orphaned mates and samples the backlog metrics). Default:
            5 minutes.
        :param max_import_duration: a job still running after this is recorded failed.
            Default: 7 days.
        :param encryption_key: customer-managed KMS key for everything this construct
            creates. Default: a new customer-managed key with yearly rotation.
        :param removal_policy: applied to the stateful resources this construct creates
            (bucket, table, sequence store, key). Default: RETAIN.
        :param metrics_namespace: CloudWatch namespace of the metrics. Default:
            ``OmicsAutoLoad``.
        :param log_retention: Default: one year.
        :param log_identifiers: log subject and sample ids at INFO level. Default: no
            (object keys only).
        :param alarms: create alarms (import failures, dead letters, stuck items, failed
            or timed-out executions, Lambda errors and throttles) that notify
            ``alarm_topic``. Default: no; giving ``alarm_topic`` turns them on.
        :param alarm_topic: the SNS topic for alarms and per-file failure notices. If it
            is encrypted with your own KMS key, that key's policy must let
            ``cloudwatch.amazonaws.com`` use it (``kms:Decrypt``, ``kms:GenerateDataKey*``),
            or alarm notifications are dropped. Default: a new KMS-encrypted, TLS-only
            topic when ``alarms`` is on.
        :param notify_failures: publish one message per failed file (object key and
            reason, no subject or sample id) to the topic. Default: yes, when there is
            a topic.
        :param dashboard: create a CloudWatch dashboard. Default: yes.
        :param dashboard_name: Default: generated by CloudFormation.
        :param stuck_after: the floor of "stuck" (metric ``StuckItems``): an import job
            counts as stuck once it runs longer than three times its expected duration (30
            minutes plus its bytes at 20 MiB/s), and never before this; a read set waiting to
            start, once it is this long past the sweep's look. Default: 24 hours.
        :param post_import_action: what happens to a source object once its read set is
            ACTIVE; never on failure. Default: ``PostImportAction.KEEP``.
        :param transition_storage_class: with ``PostImportAction.TRANSITION``, the class
            the lifecycle rule moves imported objects to (buckets this construct creates).
            Default: Glacier Instant Retrieval.
        :param max_concurrent_import_jobs: HealthOmics import jobs this pipeline runs at
            once, 1-1000. A burst of files becomes batches that wait for a free slot in a
            first-in, first-out queue (no polling, no retry backoff), so slots never sit idle
            while work waits and the service never answers ServiceQuotaExceeded because of
            this pipeline. HealthOmics' own quota on concurrent import jobs is per account
            and Region, shared by read set and reference imports (and any other pipeline),
            and adjustable in Service Quotas: keep this at or below that quota minus what
            else imports. Default: 10.
        :param omics_calls_per_second: the rate, per HealthOmics API (Start/Get read set
            import job, read set metadata), that all the pipeline's functions together stay
            under, through a token bucket in the tracking table that holds one call more
            (so at most this + 1 calls in any second). The service quota is about 5 per
            second per API, adjustable: raise this only with the quota. Default: 4.
        :param reupload_policy: what a new version of an object whose earlier version was
            already imported becomes (README, "Re-uploads"): ``IMPORT_AS_NEW`` imports it as
            a new read set, ``HOLD`` records it HELD until ``omics-autoload redrive --key KEY
            --new-version``. Default: ``ReuploadPolicy.IMPORT_AS_NEW``.
        :param reserved_concurrent_executions: reserve (and cap) this many concurrent
            executions for each of the pipeline's functions, for accounts whose policy
            asks for it. The account must keep 100 unreserved. Default: none (the
            account's unreserved pool).
        :param reconciliation: turn on the scheduled check for objects whose S3 event never
            came (README, "Events that never came"): ``Reconciliation(schedule=Duration.days(1))``
            lists the watched prefixes, ``Reconciliation(inventory_bucket=..., inventory_prefix=...)``
            reads the bucket's S3 Inventory report instead; what it finds goes through intake and
            is counted in ``UntrackedObjects`` (alarmed with ``alarms``). Default: off
            (``omics-autoload reconcile`` still runs the same check by hand).
        :param poll_interval: deprecated name of ``sweep_interval``.
        :param batch_operations: create what ``omics-autoload backfill --batch-operations``
            needs to send millions of existing objects through intake with an S3 Batch
            Operations job: a role trusted by ``batchoperations.s3.amazonaws.com`` (this
            account's jobs only) that may invoke the intake function, read backfill manifests
            and write completion reports, and an SSE-S3 bucket for those (README, "Importing
            data that is already there"). Default: no (``backfill`` then sends objects
            directly, which suits up to tens of thousands).
        :param key_prefix: deprecated single form of ``key_prefixes``
            (``key_prefix="runs/"`` is ``key_prefixes=["runs/"]``).
        :param legacy_status_index: keep the tracking table's ``by-status`` index of earlier
            releases, for the first of the two deployments that upgrade a pipeline deployed
            by such a release (README, "Upgrading"): ``True``, then ``False``. Default: not
            kept, with a synth warning naming the two steps; ``False`` silences it.
        """
        super().__init__(scope, id)
        # Log delivery by bucket policy, not the legacy LogDeliveryWrite ACL, whatever the
        # user's app flags say (set before any child exists, as CDK requires).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)

        options = AssemblyOptions(
            read_set_patterns=tuple(read_set_patterns),
            include_undetermined=include_undetermined,
            orphan_policy=orphan_policy.value,
            bam_is_unaligned=bam_is_unaligned,
            sample_from_header=sample_from_header,
            max_sources_per_job=max_sources_per_job,
        )
        problems = list(options.problems())
        if bucket is not None and bucket_props is not None:
            problems.append("give either bucket (bring your own) or bucket_props (override our defaults), not both")
        if bucket is not None and server_access_logs_bucket is not None:
            problems.append(
                "server_access_logs_bucket applies only to the bucket this construct creates; "
                "configure logging on your own bucket"
            )
        if reference is not None and reference_arn is not None:
            problems.append("give either reference (a ReferenceGenome) or reference_arn, not both")
        chosen_references, reference_readers, reference_problems = reference_set(
            self,
            references=references,
            rules=reference_rules,
            default_reference=default_reference,
            single=reference,
            single_arn=reference_arn,
        )
        problems += reference_problems
        if sample_sheet_name is not None and ("/" in sample_sheet_name or not sample_sheet_name.strip()):
            problems.append(f"sample_sheet_name {sample_sheet_name!r} must be a file name without '/'")
        name = illumina_sheet_name
        if name is not None and ("/" in name or not name.strip() or name == sample_sheet_name):
            problems.append(
                f"illumina_sheet_name {name!r} must be a file name without '/', other than sample_sheet_name"
            )
        sheet_columns = SheetColumns()
        try:
            sheet_columns = SheetColumns.merged(illumina_sheet_columns)
        except ValueError as error:
            problems.append(f"illumina_sheet_columns: {error}")
        prefixes, prefix_problems = _props.key_prefixes_of(self, key_prefix, key_prefixes)
        problems += prefix_problems
        wait_prefixes = _wait_prefixes(require_sample_sheet, problems)
        if wait_prefixes and not illumina_sheet_name:
            problems.append("require_sample_sheet needs illumina_sheet_name (the sheet the files wait for)")
        if run_complete_marker is not None:
            marker = run_complete_marker
            if not wait_prefixes:
                problems.append("run_complete_marker needs require_sample_sheet (the files that wait for it)")
            if not marker.strip() or marker.startswith("/") or marker.endswith("/") or "*" in marker:
                problems.append(
                    f"run_complete_marker {marker!r} must be a file's path from the run folder,"
                    " e.g. 'CopyComplete.txt' or 'Logs/FastqComplete.txt'"
                )
        if not 60 <= sample_sheet_timeout.to_seconds() <= 30 * 86400:
            problems.append("sample_sheet_timeout must be between 1 minute and 30 days")
        if first_poll_delay.to_seconds() > max_poll_interval.to_seconds():
            problems.append("first_poll_delay must not be longer than max_poll_interval")
        if not 0 < omics_calls_per_second <= 100:
            problems.append(f"omics_calls_per_second must be more than 0 and at most 100, not {omics_calls_per_second}")
        if reupload_policy not in tuple(ReuploadPolicy):
            allowed = ", ".join(f"ReuploadPolicy.{p.name}" for p in ReuploadPolicy)
            problems.append(f"reupload_policy {reupload_policy!r} is not one of {allowed}")
        capacity_problem = _import_slot.check_max_concurrent_import_jobs(max_concurrent_import_jobs)
        if capacity_problem:
            problems.append(capacity_problem)
        if reconciliation is not None and not isinstance(reconciliation, Reconciliation):
            problems.append(
                "reconciliation must be a Reconciliation(...), such as Reconciliation(schedule=Duration.days(1))"
            )
        elif reconciliation is not None:
            problems += reconciliation.problems()
        if reserved_concurrent_executions is not None and reserved_concurrent_executions < 1:
            problems.append(f"reserved_concurrent_executions must be at least 1, not {reserved_concurrent_executions}")
        if not isinstance(batch_operations, bool):
            problems.append(f"batch_operations must be True or False, not {batch_operations!r}")
        for window_problem in (
            check_batching_window(batching_window),
            check_batching_window(gather_window, "gather_window", 60),
            check_batching_window(intake_batching_window, "intake_batching_window", 3),
        ):
            if window_problem:
                problems.append(window_problem)
        if problems:
            raise ValueError("invalid OmicsAutoLoad props:\n- " + "\n- ".join(problems))

        self.encryption_key: kms.IKey = encryption_key or _defaults.encryption_key(
            self, "Key", removal_policy=removal_policy
        )
        _defaults.allow_logs_service(self.encryption_key, self)
        self.access_logs_bucket: s3.IBucket | None = None
        if bucket is None:
            self.access_logs_bucket = server_access_logs_bucket or _defaults.access_log_bucket(
                self, "AccessLogs", removal_policy=removal_policy
            )
        self.bucket: s3.IBucket = bucket or _defaults.secure_bucket(
            self,
            "Bucket",
            encryption_key=self.encryption_key,
            removal_policy=removal_policy,
            server_access_logs_bucket=self.access_logs_bucket,
            # EventBridge mode needs S3 to send events to EventBridge, or nothing ever arrives.
            overrides=(
                {**(bucket_props or {}), "event_bridge_enabled": True}
                if trigger_mode is TriggerMode.EVENTBRIDGE
                else bucket_props
            ),
        )
        self.sequence_store: ISequenceStore = sequence_store or SequenceStore(
            self, "SequenceStore", encryption_key=self.encryption_key, removal_policy=removal_policy
        )
        self.tracking = TrackingTable(
            self,
            "Tracking",
            encryption_key=self.encryption_key,
            removal_policy=removal_policy,
            legacy_status_index=legacy_status_index,
        )
        self.table = self.tracking.table

        self.alarm_topic: sns.ITopic | None = alarm_topic or (
            monitoring.alarm_topic(self, "AlarmTopic", self.encryption_key) if alarms else None
        )
        if alarm_topic is not None:
            # The alarms publish to the brought topic: CloudWatch must be let use its key.
            _defaults.allow_service_on_key(alarm_topic.master_key, self, "cloudwatch")
        failure_topic = self.alarm_topic if notify_failures else None
        settings = Settings(
            table_name=self.table.table_name,
            sequence_store_id=self.sequence_store.sequence_store_id,
            assembly_options=options,
            # With a parameter, the ARN is read at run time so a re-imported reference is
            # picked up without redeploying the functions.
            reference_parameter_name=(reference.parameter_name or "") if reference else "",
            reference_arn=reference_arn
            or (reference.reference_arn if reference is not None and reference.parameter_name is None else ""),
            references=chosen_references,
            metrics_namespace=metrics_namespace,
            orphan_window_seconds=int(orphan_window.to_seconds()),
            first_poll_seconds=int(first_poll_delay.to_seconds()),
            max_poll_seconds=int(max_poll_interval.to_seconds()),
            log_identifiers=log_identifiers,
            sample_sheet_name=sample_sheet_name or "",
            illumina_sheet_name=illumina_sheet_name or "",
            illumina_sheet_columns=sheet_columns,
            notification_topic_arn=failure_topic.topic_arn if failure_topic else "",
            post_import_action=post_import_action,
            stuck_after_seconds=int(stuck_after.to_seconds()),
            max_concurrent_import_jobs=max_concurrent_import_jobs,
            omics_calls_per_second=float(omics_calls_per_second),
            reupload_policy=ReuploadPolicy(reupload_policy),
            bucket_name=self.bucket.bucket_name,  # `omics-autoload reconcile` reads it from intake
            key_prefixes=prefixes,
            key_suffixes=tuple(key_suffixes),
            require_sheet_prefixes=wait_prefixes,
            sheet_wait_seconds=int(sample_sheet_timeout.to_seconds()),
            run_complete_marker=run_complete_marker or "",
        )
        self.intake = Intake(
            self,
            "Intake",
            bucket=_notifiable(self, self.bucket, trigger_mode),
            table=self.table,
            settings=settings,
            encryption_key=self.encryption_key,
            trigger_mode=trigger_mode,
            key_prefixes=list(prefixes),
            key_suffixes=key_suffixes,
            metrics_namespace=metrics_namespace,
            log_retention=log_retention,
            batching_window=intake_batching_window,
            # Under a reserved cap, the queue's poller must not invoke past it (throttled
            # batches would count as receives toward the dead-letter queue).
            max_concurrency=None if reserved_concurrent_executions is None else max(2, reserved_concurrent_executions),
        )
        self.batch_operations: BatchOperations | None = None
        if batch_operations:
            self.batch_operations = BatchOperations(
                self,
                "BatchOperations",
                intake_function=self.intake.function,
                removal_policy=removal_policy,
                server_access_logs_bucket=self.access_logs_bucket,
            )
        self.workflow = ImportWorkflow(
            self,
            "ImportWorkflow",
            bucket=self.bucket,
            table=self.table,
            sequence_store=self.sequence_store,
            settings=settings,
            key_prefixes=list(prefixes),
            encryption_key=self.encryption_key,
            retry_interval=retry_interval,
            quota_retry_interval=quota_retry_interval,
            max_import_duration=max_import_duration,
            sweep_interval=_props.renamed(
                self,
                "poll_interval",
                poll_interval,
                "sweep_interval",
                sweep_interval,
                Duration.seconds(contract.SWEEP_INTERVAL_SECONDS),
            ),
            metrics_namespace=metrics_namespace,
            post_import_action=post_import_action,
            log_retention=log_retention,
            max_concurrent_import_jobs=max_concurrent_import_jobs,
        )
        if post_import_action is PostImportAction.TRANSITION:
            if isinstance(self.bucket, s3.Bucket) and bucket is None:
                self.bucket.add_lifecycle_rule(
                    id="omics-autoload-imported",
                    tag_filters={"omics-autoload:imported": "true"},
                    transitions=[
                        s3.Transition(
                            storage_class=transition_storage_class or s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(0),
                        )
                    ],
                )
            else:
                Annotations.of(self).add_warning_v2(
                    "omics-autoload:transition-rule",
                    "post_import_action TRANSITION tags imported objects omics-autoload:imported=true; "
                    "add a lifecycle rule on that tag to your bucket to move them.",
                )
        self.starter = Starter(
            self,
            "Starter",
            table=self.table,
            state_machine=self.workflow.state_machine,
            settings=settings,
            max_sources_per_job=max_sources_per_job,
            batching_window=batching_window,
            gather_window=gather_window,
            encryption_key=self.encryption_key,
            log_retention=log_retention,
        )
        self.reconciliation: ObjectReconciliation | None = None
        if reconciliation is not None:
            self.reconciliation = ObjectReconciliation(
                self,
                "Reconciliation",
                bucket=self.bucket,
                table=self.table,
                settings=settings,
                reconciliation=reconciliation,
                key_prefixes=prefixes,
                encryption_key=self.encryption_key,
                log_retention=log_retention,
            )
        _acknowledge_notifications_handler(self, self.intake.bucket)
        self.state_machine = self.workflow.state_machine
        self.import_role = self.workflow.import_role
        for readable in reference_readers:
            # Only StartImport reads reference ARNs; intake just checks one is configured.
            readable.grant_read(self.workflow.start_function)
        self.key_prefixes: tuple[str, ...] = prefixes
        """The watched key prefixes (empty: the whole bucket)."""
        self.key_prefix: str | None = prefixes[0] if len(prefixes) == 1 else None
        """Deprecated: the one watched prefix, when there is exactly one; see ``key_prefixes``."""
        # The functions that publish one notice per failed file.
        self.notice_publishers: list[lambda_.Function] = []
        if failure_topic is not None:
            self.notice_publishers = [
                self.workflow.finalize_function,
                self.workflow.completion_function,
                self.workflow.start_function,
                self.intake.function,
            ]
            if self.reconciliation is not None:  # it runs intake, which notifies of failed files
                self.notice_publishers.append(self.reconciliation.function)
            for function in self.notice_publishers:
                _grant_publish(function, failure_topic, self.encryption_key if alarm_topic is None else None)
        if reserved_concurrent_executions is not None:
            for capped in self.functions:
                cfn = capped.node.default_child
                assert isinstance(cfn, lambda_.CfnFunction)
                cfn.reserved_concurrent_executions = reserved_concurrent_executions

        self.metrics = monitoring.PipelineMetrics(metrics_namespace, self.sequence_store.sequence_store_id)
        self.dead_letter_queues = [
            self.intake.dead_letter_queue,
            self.starter.dead_letter_queue,
            self.workflow.dead_letter_queue,
        ]
        if self.reconciliation is not None:
            self.dead_letter_queues.append(self.reconciliation.dead_letter_queue)
        self.alarms: list[cloudwatch.Alarm] = []
        if self.alarm_topic is not None:
            self.alarms = monitoring.PipelineAlarms(
                self,
                "Alarms",
                metrics=self.metrics,
                functions=self.functions,
                state_machine=self.state_machine,
                dead_letter_queues=self.dead_letter_queues,
                topic=self.alarm_topic,
                untracked_objects=self.reconciliation is not None,
                intake_queue=self.intake.queue,
            ).alarms
        self.dashboard: cloudwatch.Dashboard | None = None
        if dashboard:
            self.dashboard = monitoring.PipelineDashboard(
                self,
                "Dashboard",
                metrics=self.metrics,
                dead_letter_queues=self.dead_letter_queues,
                state_machine=self.state_machine,
                failure_log_groups=[
                    f.log_group.log_group_name
                    for f in (self.intake.function, self.workflow.start_function, self.workflow.finalize_function)
                ],
                dashboard_name=dashboard_name,
                intake_queue=self.intake.queue,
            ).dashboard

    def metric_files_imported(self, **options: Any) -> cloudwatch.Metric:
        """Files that became read sets (sum). Accepts ``MetricOptions`` keywords."""
        return self.metrics.metric(Metric.FILES_IMPORTED, **options)

    def metric_files_failed(self, **options: Any) -> cloudwatch.Metric:
        """Files recorded FAILED, each with a reason in the tracking table (sum)."""
        return self.metrics.metric(Metric.FILES_FAILED, **options)

    def metric_files_skipped(self, **options: Any) -> cloudwatch.Metric:
        """Objects that are not sequence files, or not imported by choice (sum)."""
        return self.metrics.metric(Metric.FILES_SKIPPED, **options)

    def metric_files_received(self, **options: Any) -> cloudwatch.Metric:
        """New objects seen by the intake function (sum)."""
        return self.metrics.metric(Metric.FILES_RECEIVED, **options)

    def metric_bytes_imported(self, **options: Any) -> cloudwatch.Metric:
        """Bytes of source files imported (sum)."""
        return self.metrics.metric(Metric.BYTES_IMPORTED, **options)

    def metric_import_latency(self, **options: Any) -> cloudwatch.Metric:
        """Seconds from object creation to IMPORTED (default statistic p90)."""
        options.setdefault("statistic", "p90")
        return self.metrics.metric(Metric.IMPORT_LATENCY, **options)

    def metric_read_sets_waiting_for_mate(self, **options: Any) -> cloudwatch.Metric:
        """FASTQ read sets with one mate so far (maximum, sampled by the sweep)."""
        options.setdefault("statistic", "Maximum")
        return self.metrics.metric(Metric.WAITING_FOR_MATE, **options)

    def metric_stuck_items(self, **options: Any) -> cloudwatch.Metric:
        """Items in a non-final state longer than ``stuck_after`` (maximum, sampled by the sweep)."""
        options.setdefault("statistic", "Maximum")
        return self.metrics.metric(Metric.STUCK_ITEMS, **options)

    def metric_untracked_objects(self, **options: Any) -> cloudwatch.Metric:
        """Objects reconciliation found with no tracking item (their event never came), sent
        through intake (sum per hour; published only with ``reconciliation``)."""
        options.setdefault("period", Duration.hours(1))
        return self.metrics.metric(Metric.UNTRACKED_OBJECTS, **options)

    def metric_intake_backlog_age(self, **options: Any) -> cloudwatch.IMetric:
        """How long the oldest new object has waited in the intake queue, in seconds (maximum)."""
        return monitoring.intake_backlog_age(self.intake.queue, **options)

    def metric_dead_letter_messages(self, **options: Any) -> cloudwatch.IMetric:
        """Messages in all the pipeline's dead-letter queues (maximum)."""
        return monitoring.dead_letter_depth(self.dead_letter_queues, **options)

    @property
    def functions(self) -> list[lambda_.IFunction]:
        """Every Lambda function of the pipeline."""
        w = self.workflow
        functions: list[lambda_.IFunction] = [
            self.intake.function,
            self.starter.function,
            w.start_function,
            w.wait_function,
            w.finalize_function,
            w.completion_function,
            w.capacity_function,
        ]
        if self.reconciliation is not None:
            functions.append(self.reconciliation.function)
        return functions


def _notifiable(scope: Construct, bucket: s3.IBucket, trigger_mode: TriggerMode) -> s3.IBucket:
    """The bucket the intake adds its S3 notifications to.

    A bucket of another stack would get a notification naming this stack's function, and
    each stack would depend on the other (CDK's ``DependencyCycle``). Imported into this
    stack by its attributes, the bucket is configured by this stack's notifications
    custom resource, which adds ours next to the bucket's other notifications.
    """
    from aws_cdk import Stack

    if trigger_mode is not TriggerMode.S3_NOTIFICATIONS or Stack.of(bucket).node.path == Stack.of(scope).node.path:
        return bucket
    return s3.Bucket.from_bucket_attributes(
        scope, "WatchedBucket", bucket_arn=bucket.bucket_arn, encryption_key=bucket.encryption_key
    )


def _acknowledge_notifications_handler(scope: Construct, bucket: s3.IBucket) -> None:
    """CDK's stack-wide S3 notifications handler: found by its fixed id, acknowledged alone."""
    from aws_cdk import Stack

    from . import _nag

    notifications = bucket.node.try_find_child("Notifications")
    if notifications is not None:
        _nag.acknowledge(
            notifications,
            {_nag.HIPAA: ["IAMNoInlinePolicy"], _nag.NIST: ["IAMNoInlinePolicy"]},
            "AWS CDK's policy letting its notifications handler configure this bucket only.",
        )

    handler = Stack.of(scope).node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
    if handler is None:
        return
    _nag.acknowledge(
        handler,
        {
            _nag.AWS_SOLUTIONS: [
                _functions.BASIC_EXECUTION_ROLE_FINDING,
                "IAM5[Resource::*]",
            ],
            _nag.HIPAA: ["IAMNoInlinePolicy"],
            _nag.NIST: ["IAMNoInlinePolicy"],
        },
        "AWS CDK's own handler that adds the notification to the bucket without replacing "
        "the others; s3:PutBucketNotification is granted by CDK, on the buckets it manages.",
    )


def _grant_publish(function: lambda_.Function, topic: sns.ITopic, topic_key: kms.IKey | None) -> None:
    """Publish to the topic, and use its key (ours, or the one a brought topic carries)."""
    function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
    topic_key = topic_key or topic.master_key
    if topic_key is not None:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[topic_key.key_arn])
        )


def _wait_prefixes(require: bool | Sequence[str], problems: list[str]) -> tuple[str, ...]:
    """``require_sample_sheet`` as key prefixes (``("",)``: every file); problems appended."""
    if isinstance(require, bool):
        return ("",) if require else ()
    if isinstance(require, str):
        problems.append(f"require_sample_sheet takes a list of key prefixes, e.g. [{require!r}], or True")
        return ()
    prefixes = tuple(require)
    bad = [p for p in prefixes if not isinstance(p, str) or not p or p.startswith("/") or "*" in p]
    if bad or not prefixes:
        problems.append(
            f"require_sample_sheet {list(prefixes)!r}: give key prefixes such as 'runs/'"
            " (not empty, no leading '/', no '*'), or True for every file"
        )
        return ()
    return prefixes
