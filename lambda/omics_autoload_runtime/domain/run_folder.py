"""Run folders: which files must wait for their run's sample sheet (or completion marker),
what instrument files that are not sequence data are, and the reasons a person reads.

A run folder is where ``illumina_sheet.sheet_keys`` looks first for the sheet: the file's
folder, or its parent when the file is in ``Fastq/`` or ``Reports/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from omics_autoload_runtime.domain.illumina_sheet import sheet_keys

# What Illumina instruments and BCL Convert write besides data: completion flags (zero
# bytes or a timestamp), logs and the InterOp metrics. RTA writes RTAComplete.txt (.xml on
# NextSeq 500), the control software CopyComplete.txt once the run is copied, NextSeq
# 1000/2000 RunCompletionStatus.xml, BCL Convert Logs/FastqComplete.txt.
RUN_MARKER_NAMES = frozenset(
    name.lower()
    for name in (
        "CopyComplete.txt",
        "RTAComplete.txt",
        "RTAComplete.xml",
        "RunCompletionStatus.xml",
        "FastqComplete.txt",
    )
)
_INSTRUMENT_FOLDERS = re.compile(r"(^|/)(Logs|InterOp|RTALogs)/", re.IGNORECASE)


def instrument_file(key: str) -> str | None:
    """Why a (non-sequence) object is an instrument's own file, or None."""
    name = key.rpartition("/")[2]
    if name.lower() in RUN_MARKER_NAMES or name.lower().endswith(".done"):
        return f"run-completion marker {name}: it tells that the run (or its copy) is complete; nothing to import"
    if _INSTRUMENT_FOLDERS.search(key):
        return "instrument log or InterOp metrics file: nothing to import"
    return None


def run_folder(key: str, sheet_name: str) -> str:
    """The run folder of object ``key``: a key prefix ending in ``/`` ("" at the bucket root)."""
    return sheet_keys(key, sheet_name)[0][: -len(sheet_name)]


def marker_run_folder(key: str, marker: str) -> str | None:
    """The run folder whose completion marker ``key`` is, or None."""
    if key == marker:
        return ""
    return key[: -len(marker)] if marker and key.endswith(f"/{marker}") else None


def must_wait(key: str, prefixes: Sequence[str]) -> bool:
    return any(key.startswith(prefix) for prefix in prefixes)


def _where(bucket: str, run: str, sheet_name: str) -> str:
    keys = sheet_keys(f"{run}x", sheet_name)
    return ", ".join(f"s3://{bucket}/{key}" for key in keys)


def awaited(bucket: str, run: str, sheet_name: str, *, sheet: bool, marker: str) -> str:
    """What a WAITING_FOR_SHEET file waits for, and where (``sheet``: the sheet is missing;
    ``marker``: the missing run-completion marker, or "")."""
    missing = []
    if sheet:
        missing.append(f"the run's sample sheet {sheet_name} (looked for at {_where(bucket, run, sheet_name)})")
    if marker:
        missing.append(f"the run-completion marker s3://{bucket}/{run}{marker}")
    return " and ".join(missing)


def waiting_reason(awaiting: str, wait_seconds: int) -> str:
    return (
        f"waiting for {awaiting}: require_sample_sheet holds the files under this prefix"
        f" until then, for at most {_duration(wait_seconds)}"
    )


def timeout_reason(uri: str, awaiting: str, wait_seconds: int) -> str:
    return (
        f"{awaiting[0].upper()}{awaiting[1:]} did not arrive within {_duration(wait_seconds)}"
        f" (require_sample_sheet): upload it there, then run `omics-autoload redrive --key {uri}`"
    )


def _duration(seconds: int) -> str:
    hours = seconds / 3600
    return f"{hours:g} h" if hours >= 1 else f"{seconds} s"
