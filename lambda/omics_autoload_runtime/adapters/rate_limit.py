"""Client-side rate limit per HealthOmics operation: one token bucket per API, shared by every caller.

HealthOmics allows about 5 TPS per API (StartReadSetImportJob, GetReadSetImportJob...) per
account and Region. Every handler that calls one of them takes a token first::

    rate_limit.take("StartReadSetImportJob")

The bucket is one item of the tracking table, ``pk=RATE#<Operation>``, ``sk=RATE``:
``tokens`` (micro-tokens), ``refilledAt`` (epoch microseconds) and ``version``. A take
refills the tokens by the time elapsed since ``refilledAt`` at OMICS_CALLS_PER_SECOND (capped at
``BURST``) and, if a whole token is there, consumes it with ONE conditional UpdateItem
(``version`` unchanged). The last state seen is remembered per process, so no read comes
first: when another caller got there before, the condition fails and its ALL_OLD answer is
the fresh state to try again with. Integers throughout, so rounding never creates tokens.

When the bucket is empty, ``take`` sleeps until the next token is due (plus a little
jitter so waiters do not collide), at most ``MAX_WAIT_SECONDS`` in all, then raises
``OmicsThrottled`` (Step Functions retries it with backoff). Over any interval of T seconds
at most OMICS_CALLS_PER_SECOND x T + BURST tokens are handed out: with the defaults (4 TPS, burst 1)
at most 5 in any second, the service's quota.

Cost: one conditional UpdateItem per HealthOmics call when uncontended (one more per lost
race). The import-slot semaphore (``import_slots``) bounds how many callers can contend.

The clock (``_now``, ``_sleep``, ``_jitter``) is module-level so tests and benchmarks can run
it simulated (:func:`set_clock`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from omics_autoload_runtime import contract, settings
from omics_autoload_runtime.adapters.table import ConditionFailed, ItemTable
from omics_autoload_runtime.errors import OmicsThrottled

LOG = logging.getLogger(__name__)

RATE_PREFIX, RATE_SK = contract.KeyPrefix.RATE, contract.SortKey.RATE
BURST = 1  # tokens the bucket holds: OMICS_CALLS_PER_SECOND + BURST <= 5, the per-API quota
MAX_WAIT_SECONDS = 2.0
MAX_ATTEMPTS = 50  # lost races + sleeps per take
MICRO = 1_000_000

_now: Callable[[], float] = time.time
_sleep: Callable[[float], None] = time.sleep
_jitter: Callable[[], float] = random.random

# (table, operation) -> the bucket as this process last saw it: tokens, refilledAt, version
_seen: dict[tuple[str, str], dict[str, int] | None] = {}
_seen_lock = threading.Lock()


def set_clock(now: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None) -> None:
    """Use another clock (a simulated one in tests and benchmarks); None restores the real one."""
    global _now, _sleep
    _now = now or time.time
    _sleep = sleep or time.sleep


def forget() -> None:
    """Drop the remembered bucket states (tests switch tables between cases)."""
    with _seen_lock:
        _seen.clear()




def _state(item: dict[str, Any] | None) -> dict[str, int] | None:
    if not item or "version" not in item:
        return None
    return {k: int(item[k]) for k in ("tokens", "refilledAt", "version")}


def take(
    operation: str,
    *,
    table_name: str | None = None,
    rate: float | None = None,
    burst: int = BURST,
    max_wait: float = MAX_WAIT_SECONDS,
) -> float:
    """Take one token for ``operation``; returns the time it counts at (epoch seconds).

    Raises ``OmicsThrottled`` when no token came within ``max_wait`` seconds.
    """
    cfg = settings.get()
    name = table_name or cfg.table_name
    per_second = rate if rate is not None else cfg.omics_calls_per_second
    if per_second <= 0:
        raise ValueError("the rate must be positive")
    table = ItemTable(name)
    key = (name, operation)
    pk = f"{RATE_PREFIX}{operation}"
    capacity = burst * MICRO
    waited = 0.0
    for _ in range(MAX_ATTEMPTS):
        now = int(_now() * MICRO)
        with _seen_lock:
            seen = _seen.get(key)
        if seen is None:
            new = {"tokens": capacity - MICRO, "refilledAt": now, "version": 1}
            condition, values = "attribute_not_exists(#pk)", {}
        else:
            elapsed = max(0, now - seen["refilledAt"])
            tokens = min(capacity, seen["tokens"] + int(elapsed * per_second))
            if tokens < MICRO:
                pause = (MICRO - tokens) / (per_second * MICRO)
                if waited + pause > max_wait:
                    break
                pause += _jitter() * 0.25 / per_second
                _sleep(pause)
                waited += pause
                continue  # with the view we had: a lost race refreshes it
            new = {
                "tokens": tokens - MICRO,
                "refilledAt": max(now, seen["refilledAt"]),
                "version": seen["version"] + 1,
            }
            condition, values = "#version = :version", {":version": seen["version"]}
        try:
            table.update(pk, RATE_SK, set={**new, "kind": "rate"}, condition=condition, values=values)
        except ConditionFailed as lost:
            with _seen_lock:
                _seen[key] = _state(lost.old)
            continue
        with _seen_lock:
            _seen[key] = new
        return new["refilledAt"] / MICRO
    raise OmicsThrottled(
        f"{operation}: client-side rate limit ({per_second:g}/s) gave no token within {max_wait:g} s"
    )


def try_take(operation: str, **kwargs: Any) -> bool:
    """:func:`take`, False instead of an error (callers that can simply skip the call)."""
    try:
        take(operation, **kwargs)
    except (ClientError, BotoCoreError) as error:
        LOG.warning("%s: rate limit unavailable (%s); skipping the call", operation, error)
        return False
    except OmicsThrottled:
        LOG.info("%s: rate limit reached; skipping the call", operation)
        return False
    return True
