"""The ``pipe`` fixture of the completion and sweep tests (the other handler tests define
their own, which takes precedence in their module)."""

from __future__ import annotations

import pytest

from .jobs import _pipe


@pytest.fixture
def pipe():
    pipeline = _pipe(job_duration_seconds=3600)
    yield pipeline
    pipeline.__exit__(None, None, None)
