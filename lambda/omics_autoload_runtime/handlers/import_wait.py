"""WaitForCompletion task function (``lambda:invoke.waitForTaskToken``) of the import workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omics_autoload_runtime import settings
from omics_autoload_runtime.logic.import_wait import park


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "sequence_store_id")
    return park(cfg, event["taskToken"], event["jobId"])
