"""AcquireSlot task function of the import workflow: admission under ``max_concurrent_import_jobs``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime.adapters.import_slots import Capacity, CapacityBusy
from omics_autoload_runtime.errors import OmicsThrottled, translate


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """AcquireSlot task (``lambda:invoke.waitForTaskToken``), input ``{"taskToken", "batchId"}``."""
    batch_id, token = event["batchId"], event["taskToken"]
    try:
        outcome = Capacity.from_config().acquire(batch_id, token)
    except CapacityBusy as error:
        raise OmicsThrottled(str(error)) from error
    except (ClientError, BotoCoreError) as error:
        raise translate(error, "import slot") from error
    return {"batchId": batch_id, "slot": outcome}
