"""CloudWatch custom metrics, collected during one invocation and sent in as few calls as possible.

Values of one metric with the same dimensions are merged into one datum (``Values`` /
``Counts``), so a job of 100 files costs one PutMetricData call. Publishing never fails
the handler: a metric lost is logged, an import is not.

Roll-up: a value recorded with ``SequenceStoreId`` and more dimensions (``FileType``,
``Reason``) is also recorded with ``SequenceStoreId`` alone. CloudWatch does not
aggregate across dimension sets, and the construct's ``metric_*`` methods, alarms and
dashboard read exactly ``{SequenceStoreId}``; the detailed sets stay for drilling down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from omics_autoload_runtime.adapters import clients
from omics_autoload_runtime.contract import Dimension

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
        for dims in _with_rollup(dimensions):
            key = (name, unit, dims)
            values = self._data.setdefault(key, {})
            values[float(value)] = values.get(float(value), 0.0) + 1.0

    def count(self, name: str, amount: float = 1, *, dimensions: Mapping[str, str] | None = None) -> None:
        """A counter: the sum of the amounts is what matters."""
        if amount <= 0:
            return
        for dims in _with_rollup(dimensions):
            key = (name, "Count", dims)
            values = self._data.setdefault(key, {})
            values[1.0] = values.get(1.0, 0.0) + amount  # value 1 x count n == sum n

    def gauge(self, name: str, value: float, *, dimensions: Mapping[str, str] | None = None) -> None:
        """A sampled level (items waiting, items stuck): one value per sample, zero included."""
        self.add(name, value, dimensions=dimensions)

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
                clients.client("cloudwatch").put_metric_data(Namespace=self.namespace, MetricData=chunk)
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


ROLLUP_DIMENSION = Dimension.SEQUENCE_STORE_ID


def _with_rollup(dimensions: Mapping[str, str] | None) -> list[tuple[tuple[str, str], ...]]:
    """The dimension sets one value is recorded under: as given, plus ``{SequenceStoreId}``
    alone when more dimensions were given."""
    dims = tuple(sorted((dimensions or {}).items()))
    store = (dimensions or {}).get(ROLLUP_DIMENSION)
    if store is None or len(dims) == 1:
        return [dims]
    return [dims, ((ROLLUP_DIMENSION, store),)]
