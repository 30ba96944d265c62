"""The metric lines (Embedded Metric Format) the handlers write, read back as CloudWatch does.

``EmfLog().install()`` receives every line the metrics adapter writes instead of standard
output; ``total`` / ``exact`` answer what Logs Insights and an alarm would see.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from omics_autoload_runtime.adapters import metrics


def parse(line: str) -> list[dict[str, Any]]:
    """The metric data CloudWatch extracts from one EMF line: one datum per metric and
    dimension set, ``{"name", "unit", "dimensions", "values", "fields"}``."""
    record = json.loads(line)
    out = []
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for metric in directive["Metrics"]:
            raw = record[metric["Name"]]
            values = [float(v) for v in (raw if isinstance(raw, list) else [raw])]
            for dimension_set in directive["Dimensions"]:
                out.append(
                    {
                        "namespace": directive["Namespace"],
                        "name": metric["Name"],
                        "unit": metric.get("Unit", "None"),
                        "dimensions": {d: record[d] for d in dimension_set},
                        "values": values,
                        "fields": {k: v for k, v in record.items() if k != "_aws" and isinstance(v, str)},
                    }
                )
    return out


def emf_lines(text: str) -> list[str]:
    """The EMF lines in captured output (other lines are ordinary log output)."""
    return [line for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


class EmfLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def install(self) -> EmfLog:
        metrics.set_output(self.lines.append)
        return self

    @staticmethod
    def uninstall() -> None:
        metrics.set_output(None)

    def datums(self) -> Iterator[dict[str, Any]]:
        for line in self.lines:
            yield from parse(line)

    def total(self, name: str, **fields: str) -> float:
        """Sum of one metric's values over the lines whose dimensions or fields match
        (``Reason="Empty"``: what ``stats sum(FilesSkipped) by Reason`` shows)."""
        return sum(
            sum(d["values"])
            for d in self.datums()
            if d["name"] == name and all({**d["fields"], **d["dimensions"]}.get(k) == v for k, v in fields.items())
        )

    def exact(self, name: str, **dimensions: str) -> list[float]:
        """Every value of the metric whose dimension set is exactly ``dimensions``: what an
        alarm on that metric reads."""
        return [v for d in self.datums() if d["name"] == name and d["dimensions"] == dimensions for v in d["values"]]

    def dimension_sets(self, name: str) -> set[tuple[tuple[str, str], ...]]:
        return {tuple(sorted(d["dimensions"].items())) for d in self.datums() if d["name"] == name}
