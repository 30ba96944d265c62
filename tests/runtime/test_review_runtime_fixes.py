"""Regression tests for defects found in review of the Lambda runtime."""

from __future__ import annotations

import logging

from omics_autoload_runtime.adapters import clients, notices
from support.pipeline import Pipeline, RecordingCloudWatch, RecordingStepFunctions, _starter_inputs

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


def test_post_import_read_set_checks_of_one_finalize_stay_within_the_rate_limit():
    with Pipeline(env={"POST_IMPORT_ACTION": "TAG"}, job_duration_seconds=600) as pipe:
        clients.override("cloudwatch", RecordingCloudWatch())
        clients.override("stepfunctions", RecordingStepFunctions())
        pipe.upload([f"p/f{i:02d}.ubam" for i in range(12)])
        (batch,) = _starter_inputs(pipe)
        out = pipe.invoke("import_start", batch)
        assert len(out["readSetKeys"]) == 12
        pipe.double.advance(700)
        pipe.double.tps_limit = 5  # the service's quota: a burst over it is throttled
        pipe.invoke("import_finalize", out)
        assert pipe.double.api_calls("GetReadSetMetadata") >= 12
        notes = {key: (item.get("postImport"), item.get("postImportNote")) for key, item in pipe.objects().items()}
        assert all(post == "DONE" for post, _ in notes.values()), notes
