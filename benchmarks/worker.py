"""Runs one scenario in its own process (``run.py`` starts two of these at a time)."""

from __future__ import annotations

import traceback
from typing import Any


def run_scenario(spec: dict[str, Any], definition: str) -> dict[str, Any]:
    from benchmarks import scenarios

    try:
        return scenarios.run(spec, definition)
    except Exception:  # reported in the results; the other scenarios go on
        return {"spec": spec, "error": traceback.format_exc()[-4000:]}
