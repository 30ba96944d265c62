"""CloudWatch custom metrics as Embedded Metric Format (EMF) log lines: no API call, no IAM grant.

A handler collects its values during one invocation and ``flush()`` writes them to
standard output, one JSON line per group of values that share their detail fields;
CloudWatch Logs turns each line into metric data (the Lambda log group is the pipe).
A job of 100 files is one line, not 100 calls. Writing never fails the handler: a
metric lost is logged, an import is not.

Bounded on purpose: every metric has exactly one dimension set, ``{SequenceStoreId}``
(``METRIC_DIMENSIONS``), which is what the construct's ``metric_*`` methods, alarms and
dashboard read. The details a value is recorded with (``FileType``, ``Reason``) are
written into the same line as plain fields: CloudWatch Logs Insights can break the
counts down by them (``stats sum(FilesSkipped) by Reason``), but they create no custom
metric, so a deployment has at most ``len(contract.Metric)`` custom metrics whatever
its files are called. Dimension values are store ids and fixed codes, never names or keys.

Own code rather than Powertools' ``Metrics`` (which writes the same format): it would
add an import of ~0.1 s to every cold start and ten times the asset, or a layer, for a
hundred lines of stdlib; README "Powertools for AWS Lambda: evaluated, not used".
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from omics_autoload_runtime.contract import METRIC_DIMENSIONS

LOG = logging.getLogger(__name__)

MAX_VALUES_PER_METRIC = 100  # EMF: at most 100 values in one metric's array
MAX_METRICS_PER_LINE = 100  # EMF: at most 100 metrics in one directive

Output = Callable[[str], None]


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


_output: Output = _stdout


def set_output(output: Output | None) -> None:
    """Tests: receive each EMF line instead of standard output (None: standard output)."""
    global _output
    _output = output or _stdout


GroupKey = tuple[tuple[str, str], ...]


class Metrics:
    def __init__(self, namespace: str):
        self.namespace = namespace
        # detail fields -> (name, unit) -> values (a counter keeps one running sum)
        self._groups: dict[GroupKey, dict[tuple[str, str], list[float]]] = {}
        self.lines = 0

    def _values(self, name: str, unit: str, dimensions: Mapping[str, str] | None) -> list[float]:
        key = tuple(sorted((str(k), str(v)) for k, v in (dimensions or {}).items()))
        return self._groups.setdefault(key, {}).setdefault((str(name), unit), [])

    def add(
        self,
        name: str,
        value: float,
        *,
        unit: str = "Count",
        dimensions: Mapping[str, str] | None = None,
    ) -> None:
        """One sample of a distribution (a latency, a size): every value is kept."""
        self._values(name, unit, dimensions).append(float(value))

    def count(self, name: str, amount: float = 1, *, dimensions: Mapping[str, str] | None = None) -> None:
        """A counter: the sum of the amounts is what matters."""
        if amount <= 0:
            return
        values = self._values(name, "Count", dimensions)
        if values:
            values[0] += amount
        else:
            values.append(float(amount))

    def gauge(self, name: str, value: float, *, dimensions: Mapping[str, str] | None = None) -> None:
        """A sampled level (items waiting, items stuck): one value per sample, zero included."""
        self.add(name, value, dimensions=dimensions)

    def records(self) -> list[dict[str, Any]]:
        """The EMF documents for everything collected (one per group, split at the EMF limits)."""
        stamp = int(time.time() * 1000)
        out: list[dict[str, Any]] = []
        for fields, metrics in self._groups.items():
            present = dict(fields)
            dimensions = [d for d in METRIC_DIMENSIONS if d in present]
            chunks: list[dict[tuple[str, str], list[float]]] = [{}]
            for (name, unit), values in metrics.items():
                for start in range(0, len(values), MAX_VALUES_PER_METRIC):
                    chunk = next((c for c in chunks if (name, unit) not in c and len(c) < MAX_METRICS_PER_LINE), None)
                    if chunk is None:
                        chunk = {}
                        chunks.append(chunk)
                    chunk[(name, unit)] = values[start : start + MAX_VALUES_PER_METRIC]
            for chunk in chunks:
                if not chunk:
                    continue
                record: dict[str, Any] = {
                    "_aws": {
                        "Timestamp": stamp,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self.namespace,
                                "Dimensions": [dimensions],
                                "Metrics": [{"Name": name, "Unit": unit} for name, unit in chunk],
                            }
                        ],
                    },
                    **present,
                }
                for (name, _), values in chunk.items():
                    record[name] = values[0] if len(values) == 1 else values
                out.append(record)
        return out

    def flush(self) -> int:
        """Write everything collected as EMF lines; returns the number of lines written."""
        records = self.records()
        self._groups.clear()
        written = 0
        for record in records:
            try:
                _output(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
                written += 1
            except (OSError, ValueError) as error:  # a metric is never worth a failed import
                LOG.warning("could not write a metric line for %s: %s", self.namespace, error)
        self.lines += written
        return written
