"""HealthOmics API limits the runtime must respect.

Hard-coded so the Lambda asset needs nothing at import time; tests/runtime/domain/test_limits.py
pins every constant to botocore's ``omics`` service model so they cannot drift.
"""

from __future__ import annotations

import re

from omics_autoload_runtime.contract import FileType

FILE_TYPES: tuple[FileType, ...] = tuple(FileType)
# Only these carry a referenceArn; FASTQ and uBAM are unaligned.
ALIGNED_FILE_TYPES: tuple[FileType, ...] = (FileType.BAM, FileType.CRAM)

SOURCES_PER_IMPORT_JOB = (1, 100)

# (min, max) length of each StartReadSetImportJobSourceItem string field.
SOURCE_FIELD_LENGTHS: dict[str, tuple[int, int]] = {
    "subjectId": (1, 127),
    "sampleId": (1, 127),
    "name": (1, 127),
    "description": (1, 255),
    "generatedFrom": (1, 127),
    "referenceArn": (1, 127),
}
SOURCE_TEXT_FIELDS: tuple[str, ...] = (
    "subjectId",
    "sampleId",
    "name",
    "description",
    "generatedFrom",
)

CLIENT_TOKEN_LENGTH = (1, 127)
REFERENCE_NAME_LENGTH = (3, 255)
TAG_KEY_LENGTH = (1, 128)
TAG_VALUE_LENGTH = (0, 256)
SEQUENCE_STORE_ID_LENGTH = (10, 36)
STATUS_MESSAGE_LENGTH = (1, 127)

# Java regexes exactly as the model spells them; Python `re` has no \p{..}, hence the
# category set and the translated S3 regex below.
TEXT_PATTERN = r"[\p{L}||\p{M}||\p{Z}||\p{S}||\p{N}||\p{P}]+"
TEXT_UNICODE_CATEGORIES = frozenset({"L", "M", "Z", "S", "N", "P"})
REFERENCE_ARN_PATTERN = "arn:.+"
S3_URI_PATTERN = r"s3://([a-z0-9][a-z0-9-.]{1,61}[a-z0-9])/(.{1,1024})"
# Java's `.` stops at every line terminator, Python's only at \n.
S3_URI_RE = re.compile(r"s3://([a-z0-9][a-z0-9-.]{1,61}[a-z0-9])/([^\n\r\u0085\u2028\u2029]{1,1024})")
REFERENCE_ARN_RE = re.compile(r"arn:[^\n\r\u0085\u2028\u2029]+")

IMPORT_JOB_STATUSES: tuple[str, ...] = (
    "SUBMITTED",
    "IN_PROGRESS",
    "CANCELLING",
    "CANCELLED",
    "FAILED",
    "COMPLETED",
    "COMPLETED_WITH_FAILURES",
)
IMPORT_JOB_TERMINAL_STATUSES: tuple[str, ...] = (
    "CANCELLED",
    "FAILED",
    "COMPLETED",
    "COMPLETED_WITH_FAILURES",
)
IMPORT_SOURCE_STATUSES: tuple[str, ...] = ("NOT_STARTED", "IN_PROGRESS", "FINISHED", "FAILED")


def service_length(text: str) -> int:
    """The length of `text` as checked against the (min, max) lengths in this module.

    botocore checks the model's ``min``/``max`` with ``len()``, in code points; the service
    runs on Java, whose ``String.length()`` counts UTF-16 units, so a character beyond the
    Basic Multilingual Plane (an emoji, a rare CJK ideograph) counts twice there. UTF-16
    units are never fewer than code points: a value within the limits here passes both.
    """
    return len(text.encode("utf-16-le")) // 2
