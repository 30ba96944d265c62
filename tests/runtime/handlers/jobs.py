"""Helpers of the completion and sweep tests: a pipeline with recording Step Functions and
CloudWatch (the ``pipe`` fixture of conftest.py), and an import job whose workflow waits on
its task token."""

from __future__ import annotations

from omics_autoload_runtime.adapters import clients, tracking
from support.pipeline import TABLE, EmfLog, Pipeline, RecordingStepFunctions, _starter_inputs


def _pipe(**kwargs):
    pipeline = Pipeline(**kwargs)
    pipeline.__enter__()
    pipeline.fake_sfn = RecordingStepFunctions()
    clients.override("stepfunctions", pipeline.fake_sfn)
    EmfLog().install()
    return pipeline


def parked_job(pipe, keys, token="tok"):
    pipe.upload(keys)
    (batch,) = _starter_inputs(pipe)
    out = pipe.invoke("import_start", batch)
    pipe.invoke("import_wait", {"taskToken": token, "jobId": out["jobId"], "batchId": batch["batchId"]})
    return out["jobId"]


def job(job_id):
    return tracking.Tracking(TABLE).get_job(job_id)
