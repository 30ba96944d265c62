"""reconcile function: the scheduled check for objects whose event never came (``logic.reconcile``).

Invoked by its EventBridge schedule (the event's content is not read). A run stops before
its Lambda time runs out and leaves its marker in the table for the next one; an AWS error
fails the run, and the next run repeats the page it was on.
"""

from __future__ import annotations

from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters.metrics import Metrics
from omics_autoload_runtime.logic import reconcile


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "bucket_name")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    time_left = (lambda: remaining() / 1000.0) if callable(remaining) else None
    return reconcile.run(cfg, Metrics(cfg.metrics_namespace), time_left)
