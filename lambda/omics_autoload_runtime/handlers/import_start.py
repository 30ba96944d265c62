"""StartImport task function of the import workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import settings
from omics_autoload_runtime.adapters import import_slots
from omics_autoload_runtime.errors import translate
from omics_autoload_runtime.logic.import_start import ImportStart


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    cfg = settings.get()
    cfg.require("table_name", "sequence_store_id", "import_role_arn")
    start = ImportStart(cfg)
    try:
        result = start.run(event["batchId"], list(event.get("readSetKeys") or []))
        if result.get("jobId") is None:  # nothing to import: the batch's import slot is free again
            import_slots.finish(event["batchId"])
        return result
    except (ClientError, BotoCoreError) as error:  # DynamoDB / SSM trouble: transient by nature
        raise translate(error, "tracking table") from error
    finally:
        start.flush()
