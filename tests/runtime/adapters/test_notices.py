"""notices: what a failed file's log line and notice may say (identifiers redacted)."""

from __future__ import annotations

import logging

from omics_autoload_runtime.adapters import notices

SECRET = "PATIENT-SECRET-42"
VALIDATION = (
    f"1 validation error detected: Value '{SECRET}' at 'sources.1.member.subjectId' failed to satisfy"
    " constraint: Member must have length less than or equal to 127"
)


def test_redact_hides_the_value_an_aws_validation_message_quotes_before_its_field(caplog):
    assert SECRET not in (notices.redact(VALIDATION) or "")
    assert "at 'sources.1.member.subjectId'" in (notices.redact(VALIDATION) or "")
    logger = logging.getLogger("omics_autoload_runtime.test")
    with caplog.at_level(logging.INFO, logger="omics_autoload_runtime"):
        notices.log_outcome(logger, notices.FILE_FAILED, "s3://b/k", status="FAILED", reason=VALIDATION)
    assert SECRET not in caplog.text
    assert all(SECRET not in str(getattr(r, "reason", "")) for r in caplog.records)
    notice = notices.Notifier("arn:aws:sns:us-east-1:111111111111:t").message(
        "s3://b/k", VALIDATION, import_job_id="1", status="FAILED", event=notices.FILE_FAILED
    )
    assert SECRET not in notice["Message"]
