"""The pipeline that `status` and `redrive` operate in these tests: moto-backed, run
without a state machine (the workflow's steps are called directly, see
``run_without_state_machine``); ``tests/e2e/test_operations.py`` redrives through the
synthesized state machine."""

from __future__ import annotations

import pytest
from support.pipeline import EmfLog, Pipeline, run_without_state_machine

FILES = ["run/good.ubam", "run/bad.ubam", "run/S1_R1.fq.gz", "run/S1_R2.fq.gz", "run/notes.txt"]


@pytest.fixture
def pipe():
    with Pipeline() as pipeline:
        EmfLog().install()
        pipeline.double.fail_source("bad.ubam", "Invalid BAM: EOF marker missing")
        pipeline.upload(FILES)
        run_without_state_machine(pipeline)
        yield pipeline
