"""Every value the construct and its handlers must agree on, defined once.

The construct (``omics_autoload_construct``) imports this module to write environment
variables, IAM conditions, the stream filter, alarms and dashboards; the handlers import it
to read them back. Standard library only, so the domain layer may use it too. A drift
between the two sides would pass every local test (moto enforces no IAM) and break in AWS,
so nothing here is ever spelt again elsewhere: tests read the synthesized template back
against these values.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """One status vocabulary for the tracking table; each item kind uses a subset."""

    SKIPPED = "SKIPPED"
    WAITING_FOR_MATE = "WAITING_FOR_MATE"
    QUEUED = "QUEUED"
    STARTING = "STARTING"
    IMPORTING = "IMPORTING"
    IMPORTED = "IMPORTED"
    FAILED = "FAILED"
    ORPHANED = "ORPHANED"
    SUPERSEDED = "SUPERSEDED"
    """A newer version of the object replaced this one before its import started: the
    newer version is tracked (and imported) on its own; this one's bytes are nowhere."""
    HELD = "HELD"
    """A new version of an imported object, kept for an operator (``ReuploadPolicy.HOLD``):
    ``omics-autoload redrive --key KEY --new-version`` imports it as a new read set."""
    WAITING_FOR_SHEET = "WAITING_FOR_SHEET"
    """A file under ``require_sample_sheet`` whose run's Illumina sheet (or completion marker)
    has not arrived: the sheet's own event releases it, the sweep fails it after the timeout."""
    DONE = "DONE"


class Kind(StrEnum):
    """The ``kind`` attribute of a tracking item."""

    OBJECT = "object"
    READSET = "readset"
    JOB = "job"
    WAIT = "wait"  # a file's entry in its run folder's waiting list (no status)


class FileType(StrEnum):
    """HealthOmics ``sourceFileType`` values (pinned to the botocore model by a test)."""

    FASTQ = "FASTQ"
    BAM = "BAM"
    CRAM = "CRAM"
    UBAM = "UBAM"


class SkipCode(StrEnum):
    """Why a file is not imported: the ``Reason`` dimension of ``FilesSkipped``, a bounded set."""

    NO_REFERENCE = "NoReference"
    CONFLICT = "Conflict"
    DUPLICATE = "Duplicate"
    ORPHAN = "Orphan"
    INDEX_FILE = "IndexFile"
    INDEX_READ = "IndexRead"
    CHECKSUM = "Checksum"
    REFERENCE_FASTA = "ReferenceFasta"
    UNDETERMINED = "Undetermined"
    EXTRA_READ = "ExtraRead"
    EMPTY = "Empty"
    FOLDER = "Folder"
    COMPRESSION = "Compression"
    UNKNOWN_TYPE = "UnknownType"
    NOT_SEQUENCE = "NotSequence"
    REUPLOAD = "Reupload"  # HELD: a new version of an imported file, for an operator
    OUTSIDE_PREFIX = "OutsidePrefix"  # an event for a key the pipeline does not watch
    RUN_MARKER = "RunMarker"  # an instrument's completion marker, log or InterOp file
    SAMPLE_SHEET = "SampleSheet"  # a sample sheet (CSV or Illumina): read, never imported
    OTHER = "Other"


class Env(StrEnum):
    """The environment variables the construct writes and ``settings.Settings`` reads.

    Each name is the upper-case name of a ``Settings`` field (a test holds them together).
    """

    TABLE_NAME = "TABLE_NAME"
    SEQUENCE_STORE_ID = "SEQUENCE_STORE_ID"
    IMPORT_ROLE_ARN = "IMPORT_ROLE_ARN"
    REFERENCE_PARAMETER_NAME = "REFERENCE_PARAMETER_NAME"
    REFERENCE_ARN = "REFERENCE_ARN"
    REFERENCES = "REFERENCES"
    ASSEMBLY_OPTIONS = "ASSEMBLY_OPTIONS"
    STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
    GATHER_QUEUE_URL = "GATHER_QUEUE_URL"
    METRICS_NAMESPACE = "METRICS_NAMESPACE"
    ORPHAN_WINDOW_SECONDS = "ORPHAN_WINDOW_SECONDS"
    FIRST_POLL_SECONDS = "FIRST_POLL_SECONDS"
    MAX_POLL_SECONDS = "MAX_POLL_SECONDS"
    LOG_IDENTIFIERS = "LOG_IDENTIFIERS"
    SAMPLE_SHEET_NAME = "SAMPLE_SHEET_NAME"
    ILLUMINA_SHEET_NAME = "ILLUMINA_SHEET_NAME"
    ILLUMINA_SHEET_COLUMNS = "ILLUMINA_SHEET_COLUMNS"
    NOTIFICATION_TOPIC_ARN = "NOTIFICATION_TOPIC_ARN"
    POST_IMPORT_ACTION = "POST_IMPORT_ACTION"
    STUCK_AFTER_SECONDS = "STUCK_AFTER_SECONDS"
    MAX_CONCURRENT_IMPORT_JOBS = "MAX_CONCURRENT_IMPORT_JOBS"
    OMICS_CALLS_PER_SECOND = "OMICS_CALLS_PER_SECOND"
    REUPLOAD_POLICY = "REUPLOAD_POLICY"
    BUCKET_NAME = "BUCKET_NAME"
    KEY_PREFIXES = "KEY_PREFIXES"
    KEY_SUFFIXES = "KEY_SUFFIXES"
    INVENTORY_BUCKET = "INVENTORY_BUCKET"
    INVENTORY_PREFIX = "INVENTORY_PREFIX"
    RECONCILE_PAGES_PER_RUN = "RECONCILE_PAGES_PER_RUN"
    REQUIRE_SHEET_PREFIXES = "REQUIRE_SHEET_PREFIXES"
    SHEET_WAIT_SECONDS = "SHEET_WAIT_SECONDS"
    RUN_COMPLETE_MARKER = "RUN_COMPLETE_MARKER"


class PostImportAction(StrEnum):
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


class ReuploadPolicy(StrEnum):
    """What a new version of an object whose earlier version was imported becomes."""

    IMPORT_AS_NEW = "IMPORT_AS_NEW"
    """Import it as a new read set (default); the earlier version's item stays IMPORTED
    and names the version that superseded it (``supersededBy``)."""
    HOLD = "HOLD"
    """Record it HELD, for an operator: ``omics-autoload redrive --key KEY --new-version``
    imports it as a new read set."""


# ------------------------------------------------------------------ shared defaults
# The construct's prop defaults and the handlers' fallbacks when a variable is unset.

METRICS_NAMESPACE = "OmicsAutoLoad"
SAMPLE_SHEET_NAME = "omics-samplesheet.csv"
ILLUMINA_SHEET_NAME = "SampleSheet.csv"  # the name Illumina instruments and BCL Convert write
# The starter's event sources (the construct's defaults; the benchmark models them): the
# stream's batching window, and the gather queue's while a burst is under way.
STREAM_BATCHING_WINDOW_SECONDS = 2
GATHER_WINDOW_SECONDS = 60
# The intake queue's event source: one invocation takes up to this many object events, or
# what came within the window (a lone file waits the window, then the stream's).
INTAKE_BATCH_SIZE = 100
INTAKE_BATCHING_WINDOW_SECONDS = 3
ORPHAN_WINDOW_SECONDS = 24 * 3600
FIRST_POLL_SECONDS = 5 * 60
MAX_POLL_SECONDS = 6 * 3600
SWEEP_INTERVAL_SECONDS = 5 * 60
STUCK_AFTER_SECONDS = 24 * 3600
MAX_CONCURRENT_IMPORT_JOBS = 10
OMICS_CALLS_PER_SECOND = 4.0
RECONCILE_PAGES_PER_RUN = 100  # of 1,000 object versions: a run reads at most 100,000
# An object younger than this is not reported missing: its event may still be on its way
# (S3 delivers within seconds, but the intake's asynchronous retries last longer).
RECONCILE_SETTLE_SECONDS = 3600
SHEET_WAIT_SECONDS = 24 * 3600

# S3 Batch Operations backfill (``omics-autoload backfill``): where, in the construct's batch
# operations bucket, the CLI writes manifests, S3 Inventory delivers reports, and jobs write
# completion reports. The job's role may read and write only there.
BACKFILL_MANIFEST_PREFIX = "omics-autoload/backfill/manifests/"
BACKFILL_INVENTORY_PREFIX = "omics-autoload/backfill/inventory/"
BACKFILL_REPORT_PREFIX = "omics-autoload/backfill/reports"  # CreateJob's Report.Prefix: no trailing "/"


# ------------------------------------------------------------------ tracking table

# The released layout's index (partition ``status``, sort ``updatedAt``, projection ALL):
# rewritten on every update, no longer read; kept only while upgrading (``legacy_status_index``).
STATUS_INDEX = "by-status"

# The index the runtime reads: sparse (an item is in it only while someone must look at it
# at a time: ``dueQ`` names the queue, ``dueAt`` the epoch second it is due), KEYS_ONLY plus
# the few attributes of DUE_INDEX_INCLUDE; nothing else an update writes touches it.
DUE_INDEX = "by-due"
DUE_QUEUE = "dueQ"
DUE_AT = "dueAt"
# Written once where an item enters its queue: the batch of a job or slot (a read set's
# ``batchId`` changes at every claim, so the index has its own name) and the files of an
# importing read set (the StuckItems gauge sums them from the index entries).
DUE_BATCH = "dueBatch"
DUE_FILES = "fileCount"
DUE_INDEX_INCLUDE = (DUE_BATCH, DUE_FILES)


class DueQueue(StrEnum):
    """The partitions (``dueQ``) of the due index: who reads each, and when an item is due."""

    READSET = "RS"
    """Read sets WAITING_FOR_MATE / QUEUED / STARTING: the sweep looks at one 15 minutes
    after it arrived (lost stream record, claim whose workflow never started, interrupted pair)."""
    MATE = "MATE"
    """A lone mate after that first look: due when its orphan window ends."""
    JOB = "JOB"
    """Import jobs IMPORTING: due at ``nextPollAt`` (the sweep polls them)."""
    IMPORTING = "IMP"
    """Read sets IMPORTING: due at their job's ``stuckAt`` (its own expected end, see
    STUCK_FACTOR); the sweep then records them from the job if their workflow ended, else
    they count as stuck."""
    SLOT = "SLOT"
    """Batches holding an import slot: due 60 s after taking it (the sweep checks the holder)."""
    POST_IMPORT = "POST"
    """Post-import actions still to retry: due at once."""
    SHEET = "SHEET"
    """Files WAITING_FOR_SHEET: due at their ``waitUntil`` (the sweep then fails them)."""
    FAILED = "FAILED"
    """FAILED files and read sets, by when they failed (status, redrive)."""
    ORPHANED = "ORPHANED"
    """ORPHANED read sets, by when (redrive)."""


# Expected progress of an import job, for "stuck": an import runs at least this fast
# (bytes per second, per job) after a fixed start-up; a job counts as stuck once it runs
# longer than STUCK_FACTOR times that (and never before the ``stuck_after`` floor).
IMPORT_BYTES_PER_SECOND = 20 * 1024 * 1024
IMPORT_STARTUP_SECONDS = 30 * 60
STUCK_FACTOR = 3


class KeyPrefix(StrEnum):
    """How the partition key (``pk``) of each item of the tracking table begins."""

    OBJECT = "OBJ#"  # + s3://bucket/key
    READSET = "RS#"  # + group key
    JOB = "JOB#"  # + import job id
    SLOT = "SLOT#"  # + batch id: a batch holding an import slot
    POST_IMPORT = "POST#"  # + object: a post-import action still to resolve
    RATE = "RATE#"  # + HealthOmics operation: its token bucket
    RECONCILE = "RECONCILE#"  # + bucket: where the reconciliation pass got to
    WAIT = "WAIT#"  # + s3://bucket/run folder/: the files waiting for that run's sheet
    SENT = "SENT#"  # + batch id: what the batch's import start sends (write-once)


class SortKey(StrEnum):
    """The sort key (``sk``) of each item kind; object versions add the version id."""

    OBJECT_VERSION = "V#"
    READSET = "RS"
    JOB = "JOB"
    SLOT = "SLOT"
    POST_IMPORT = "POST"
    RATE = "RATE"
    RECONCILE = "RECONCILE"
    WAIT = "OBJ#"  # + s3://bucket/key#V#version: one waiting file


SLOT_QUEUE_PK = "SLOTQ"  # the batches waiting for a slot (sort key: enqueued at, batch id)

# ``dynamodb:LeadingKeys`` of the DeleteItem grants: the only items a function may delete.
SLOT_DELETABLE_KEYS = (f"{KeyPrefix.SLOT}*", SLOT_QUEUE_PK)
POST_IMPORT_DELETABLE_KEYS = (f"{KeyPrefix.POST_IMPORT}*",)

# The starter's event source mapping filter: read-set items that became QUEUED.
STARTER_FILTER_PATTERN: dict[str, object] = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"NewImage": {"kind": {"S": [str(Kind.READSET)]}, "status": {"S": [str(Status.QUEUED)]}}},
}


# ------------------------------------------------------------------ import workflow


class WorkflowError(StrEnum):
    """Step Functions error names: the handlers raise them (``errors``), Retry and Catch match them."""

    THROTTLED = "OmicsThrottled"
    QUOTA_EXCEEDED = "OmicsQuotaExceeded"
    UNAVAILABLE = "OmicsUnavailable"
    REJECTED = "ImportRejected"
    NOT_FINISHED = "ImportNotFinished"


# The HealthOmics event that ends a job's wait: the construct's rule matches it, the
# completion handler and the CLI's dead-letter redrive recognise it.
OMICS_EVENT_SOURCE = "aws.omics"
IMPORT_JOB_EVENT = "Read Set Import Job Status Change"

TRANSIENT_ERRORS = (WorkflowError.THROTTLED, WorkflowError.UNAVAILABLE)  # retried quickly
QUOTA_ERRORS = (WorkflowError.QUOTA_EXCEEDED,)  # retried slowly, for hours
# A task function that crashed (Lambda.Unknown: killed, timed out, out of memory) or was
# throttled by Lambda. Every task is idempotent, so it is tried again rather than caught:
# a crash after StartReadSetImportJob took effect must not end in RecordFailure.
# (CDK already retries Lambda.ServiceException, AWSLambdaException, SdkClientException.)
LAMBDA_ERRORS = ("Lambda.Unknown", "Lambda.TooManyRequestsException")
# The terminal import job statuses are HealthOmics' own: ``domain.limits.IMPORT_JOB_TERMINAL_STATUSES``.


# ------------------------------------------------------------------ metrics


class Metric(StrEnum):
    """The custom metrics the handlers publish and the construct's alarms and dashboard read."""

    FILES_RECEIVED = "FilesReceived"
    FILES_SKIPPED = "FilesSkipped"
    FILES_IMPORTED = "FilesImported"
    FILES_FAILED = "FilesFailed"
    BYTES_IMPORTED = "BytesImported"
    IMPORT_LATENCY = "ImportLatencySeconds"
    WAITING_FOR_MATE = "ReadSetsWaitingForMate"
    STUCK_ITEMS = "StuckItems"
    UNTRACKED_OBJECTS = "UntrackedObjects"
    """Objects under the watched prefixes that reconciliation found with no tracking item
    (their event never came) and sent through intake: anything above zero is a lost event."""


class Dimension(StrEnum):
    """Fields of a metric line: every value has ``SequenceStoreId``; details add one more."""

    SEQUENCE_STORE_ID = "SequenceStoreId"
    FILE_TYPE = "FileType"
    REASON = "Reason"


# The one dimension set of every metric (the alarms and the dashboard read it). FileType
# and Reason are written as plain fields of the EMF line: searchable, no custom metric.
METRIC_DIMENSIONS: tuple[str, ...] = (Dimension.SEQUENCE_STORE_ID,)
