"""completion.handler, job events: the waiting workflow is woken once, whatever else arrives."""

from __future__ import annotations

from omics_autoload_runtime import contract
from omics_autoload_runtime.adapters import tracking

from .jobs import job, parked_job


def test_terminal_event_wakes_the_workflow_once(pipe):
    job_id = parked_job(pipe, ["r/a.ubam"])
    pipe.double.advance(3700)
    assert pipe.deliver_job_events() == 1
    assert pipe.fake_sfn.successes == [("tok", {"jobId": job_id, "status": "COMPLETED"})]
    assert job(job_id)["status"] == tracking.DONE and "taskToken" not in job(job_id)
    assert job(job_id)["expiresAt"] > pipe.double.now()
    event = {
        "detail-type": contract.IMPORT_JOB_EVENT,
        "source": "aws.omics",
        "detail": {"id": job_id, "status": "COMPLETED", "sequenceStoreId": pipe.store_id},
    }
    assert pipe.invoke("completion", event) == {"ignored": "job already resolved"}
    assert len(pipe.fake_sfn.successes) == 1


def test_events_for_other_jobs_and_non_terminal_statuses_are_ignored(pipe):
    base = {"detail-type": contract.IMPORT_JOB_EVENT, "source": "aws.omics"}
    assert "ignored" in pipe.invoke("completion", dict(base, detail={"id": "1234567890", "status": "COMPLETED"}))
    assert "ignored" in pipe.invoke("completion", dict(base, detail={"id": "1234567890", "status": "IN_PROGRESS"}))
    assert "ignored" in pipe.invoke("completion", {"detail-type": "Something Else", "detail": {}})
    assert pipe.fake_sfn.successes == []


def test_a_task_that_is_gone_is_harmless(pipe):
    job_id = parked_job(pipe, ["r/a.ubam"], token="expired")
    pipe.fake_sfn.gone_tokens = {"expired"}
    pipe.double.advance(3700)
    pipe.deliver_job_events()
    assert job(job_id)["status"] == tracking.DONE
