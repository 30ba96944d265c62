"""CloudWatch custom metrics, collected during one invocation and sent in as few calls as possible.

Values of one metric with the same dimensions are merged into one datum (``Values`` /
``Counts``), so a job of 100 files costs one PutMetricData call. Publishing never fails
the handler: a metric lost is logged, an import is not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from . import aws

LOG = logging.getLogger(__name__)

MAX_DATUMS_PER_CALL = 1000  # PutMetricData limit (and 1 MB per request)
MAX_VALUES_PER_DATUM = 150


class Metrics:
    def __init__(self, namespace: str):
        self.namespace = namespace
        self._data: dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[float, float]] = {}
        self.calls = 0

    def add(
        self,
        name: str,
        value: float,
        *,
        unit: str = "Count",
        dimensions: Mapping[str, str] | None = None,
    ) -> None:
        key = (name, unit, tuple(sorted((dimensions or {}).items())))
        values = self._data.setdefault(key, {})
        values[float(value)] = values.get(float(value), 0.0) + 1.0

    def count(self, name: str, amount: float = 1, *, dimensions: Mapping[str, str] | None = None) -> None:
        """A counter: the sum of the amounts is what matters."""
        key = (name, "Count", tuple(sorted((dimensions or {}).items())))
        values = self._data.setdefault(key, {})
        values[1.0] = values.get(1.0, 0.0) + amount  # value 1 x count n == sum n

    def datums(self) -> list[dict[str, Any]]:
        out = []
        for (name, unit, dims), values in self._data.items():
            pairs = list(values.items())
            for start in range(0, len(pairs), MAX_VALUES_PER_DATUM):
                chunk = pairs[start : start + MAX_VALUES_PER_DATUM]
                out.append(
                    {
                        "MetricName": name,
                        "Unit": unit,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                        "Values": [v for v, _ in chunk],
                        "Counts": [c for _, c in chunk],
                    }
                )
        return out

    def flush(self) -> int:
        """Send everything collected; returns the number of PutMetricData calls made."""
        datums = self.datums()
        self._data.clear()
        sent = 0
        for start in range(0, len(datums), MAX_DATUMS_PER_CALL):
            chunk = datums[start : start + MAX_DATUMS_PER_CALL]
            try:
                aws.client("cloudwatch").put_metric_data(Namespace=self.namespace, MetricData=chunk)
                sent += 1
            except Exception as error:  # a metric is never worth a failed import
                LOG.warning(
                    "could not publish %d metric datum(s) to %s: %s",
                    len(chunk),
                    self.namespace,
                    error,
                )
        self.calls += sent
        return sent
