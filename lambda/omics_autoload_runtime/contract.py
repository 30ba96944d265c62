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
    DONE = "DONE"


class Kind(StrEnum):
    """The ``kind`` attribute of a tracking item."""

    OBJECT = "object"
    READSET = "readset"
    JOB = "job"


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
    OTHER = "Other"


STATUS_INDEX = "by-status"  # partition ``status``, sort ``updatedAt``
