"""What happened to each file, told three ways: one structured log line, failure notices, metrics.

Logs. The construct sets the functions' log format to JSON; the Python runtime then
writes the ``extra`` fields of a record as top-level keys, so every file outcome is one
line a Logs Insights query can filter::

    {"level": "WARNING", "message": "s3://b/k -> FAILED: ...", "event": "file_failed",
     "key": "s3://b/k", "status": "FAILED", "reason": "...", "importJobId": "123"}

``event`` is one of :data:`EVENTS`. Subject and sample ids are added (``subjectId``,
``sampleId``) only when ``LOG_IDENTIFIERS`` is true. Otherwise a value that a reason
quotes after ``subjectId``, ``sampleId``, ``name``, ``description``, ``generatedFrom`` or
``read set`` (validation messages do: "sampleId 'ABC...' is 200 characters long") is
replaced by ``<redacted>`` in the log line; the tracking table keeps the full reason.

Notices. With ``NOTIFICATION_TOPIC_ARN`` set, each file that fails (or is not imported
because its mate never came) is published as ONE message: the object key, the reason,
the import job id, the sequence store, and the commands that show and retry it. Never
subject id, sample id or read-set name (quoted values in reasons are redacted as in the
logs). One message per file, sent in PublishBatch calls
of ten, because each failure is acted on one by one (an e-mail per file, a filter
policy per ``event`` attribute) and a message then stays far below the 256 KB limit
(reason and key are capped, so ten messages stay below the limit of one batch call).
A notice that cannot be published is logged; the handler never fails because of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from omics_autoload_runtime.adapters import clients

LOG = logging.getLogger(__name__)

FILE_RECEIVED = "file_received"
FILE_SKIPPED = "file_skipped"
FILE_FAILED = "file_failed"
FILE_IMPORTED = "file_imported"
FILE_ORPHANED = "file_orphaned"
POST_IMPORT = "post_import"
EVENTS = (FILE_RECEIVED, FILE_SKIPPED, FILE_FAILED, FILE_IMPORTED, FILE_ORPHANED, POST_IMPORT)

IDENTIFIER_FIELDS = ("subjectId", "sampleId")
MAX_REASON_CHARS = 4000
MAX_SUBJECT_CHARS = 99  # SNS: fewer than 100 printable ASCII characters
BATCH_SIZE = 10  # PublishBatch entries per call


_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_IDENTIFYING = re.compile(
    rf"\b(subjectId|sampleId|subject_id|sample_id|name|description|generatedFrom|generated_from|read set)"
    rf" ({_QUOTED})"
)


# AWS validation messages quote the value BEFORE its field ("Value 'SUBJ-1...' at
# 'sources.1.member.subjectId' failed to satisfy constraint ..."): redact every such value.
_VALIDATION_VALUE = re.compile(r"\bValue (?:'.*?'|\".*?\") at (?=['\"])", re.S)


def redact(text: str | None) -> str | None:
    """``text`` with the values quoted after identifying field names (or quoted by an AWS
    validation message) replaced."""
    if not text:
        return text
    return _IDENTIFYING.sub(r"\1 <redacted>", _VALIDATION_VALUE.sub("Value <redacted> at ", text))


def log_outcome(
    logger: logging.Logger,
    event: str,
    key: str,
    *,
    status: str | None = None,
    reason: str | None = None,
    import_job_id: str | None = None,
    read_set_id: str | None = None,
    identifiers: Mapping[str, Any] | None = None,
    log_identifiers: bool = False,
    level: int | None = None,
    **fields: Any,
) -> None:
    """One line per file outcome (WARNING for ``file_failed``, else INFO by default);
    ``identifiers`` (subjectId/sampleId) only when allowed."""
    if not log_identifiers:
        reason = redact(reason)
    extra: dict[str, Any] = {"event": event, "key": key}
    for name, value in (
        ("status", status),
        ("reason", reason),
        ("importJobId", import_job_id),
        ("readSetId", read_set_id),
        *fields.items(),
    ):
        if value is not None:
            extra[name] = value
    if log_identifiers and identifiers:
        for name in IDENTIFIER_FIELDS:
            if identifiers.get(name):
                extra[name] = identifiers[name]
    text = f"{key} -> {status or event}"
    if reason:
        text += f": {reason}"
    if level is None:
        level = logging.WARNING if event == FILE_FAILED else logging.INFO
    logger.log(level, text, extra=extra)


def identifiers_of(read_set: Mapping[str, Any] | None) -> dict[str, Any]:
    """subjectId / sampleId recorded on a read-set item (after its import started)."""
    metadata = (read_set or {}).get("metadata") or {}
    return {name: metadata.get(name) for name in IDENTIFIER_FIELDS if metadata.get(name)}


def _ascii(text: str, limit: int) -> str:
    cleaned = "".join(char if 32 <= ord(char) < 127 else "?" for char in text)
    return cleaned[:limit]


class Notifier:
    """Collects one notice per failed file; :meth:`flush` publishes them (never raises)."""

    def __init__(self, topic_arn: str, *, sequence_store_id: str = "", table_name: str = ""):
        self.topic_arn = topic_arn
        self.sequence_store_id = sequence_store_id
        self.table_name = table_name
        self.pending: list[dict[str, Any]] = []
        self.published = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return bool(self.topic_arn)

    def file_failed(
        self,
        key: str,
        reason: str,
        *,
        import_job_id: str | None = None,
        status: str = "FAILED",
        event: str = FILE_FAILED,
    ) -> None:
        if not self.enabled:
            return
        self.pending.append(self.message(key, reason, import_job_id=import_job_id, status=status, event=event))

    def message(
        self, key: str, reason: str, *, import_job_id: str | None, status: str, event: str
    ) -> dict[str, Any]:
        """The PublishBatch entry of one notice (``Id`` is filled in by :meth:`flush`)."""
        reason = redact(reason) or ""
        reason = reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"
        headline = (
            "A file was not imported: its mate never arrived."
            if event == FILE_ORPHANED
            else "A file failed to import into AWS HealthOmics."
        )
        table = self.table_name or "<tracking table>"
        lines = [
            headline,
            "",
            f"Object:         {key}",
            f"Status:         {status}",
            f"Reason:         {reason}",
            f"Import job:     {import_job_id or '-'}",
            f"Sequence store: {self.sequence_store_id or '-'}",
            "",
            f"Every failed file: omics-autoload status --table {table}",
            f"Retry this one:    omics-autoload redrive --table {table} --key {key}",
        ]
        subject = "omics-autoload: file not imported (mate missing)" if event == FILE_ORPHANED else (
            "omics-autoload: file failed to import"
        )
        attributes = {"event": {"DataType": "String", "StringValue": event}}
        if self.sequence_store_id:
            attributes["sequenceStoreId"] = {"DataType": "String", "StringValue": self.sequence_store_id}
        return {
            "Subject": _ascii(subject, MAX_SUBJECT_CHARS),
            "Message": "\n".join(lines),
            "MessageAttributes": attributes,
        }

    def flush(self) -> int:
        """Publish what was collected; returns how many were published."""
        pending, self.pending = self.pending, []
        if not pending or not self.enabled:
            return 0
        published = 0
        for start in range(0, len(pending), BATCH_SIZE):
            chunk = pending[start : start + BATCH_SIZE]
            entries = [dict(entry, Id=str(index)) for index, entry in enumerate(chunk)]
            try:
                response = clients.client("sns").publish_batch(
                    TopicArn=self.topic_arn, PublishBatchRequestEntries=entries
                )
            except Exception as error:  # a notice is never worth a failed handler
                self.failed += len(chunk)
                LOG.warning("could not publish %d failure notice(s) to %s: %s", len(chunk), self.topic_arn, error)
                continue
            failures = response.get("Failed") or []
            for failure in failures:
                LOG.warning(
                    "failure notice not published (%s): %s", failure.get("Code"), failure.get("Message")
                )
            self.failed += len(failures)
            published += len(response.get("Successful") or [])
        self.published += published
        return published


def notifier_for(cfg: Any) -> Notifier:
    """The notifier of a handler's settings (``config.Config``)."""
    return Notifier(
        cfg.notification_topic_arn, sequence_store_id=cfg.sequence_store_id, table_name=cfg.table_name
    )
