"""What a deployment costs a month whether or not a file arrives (list prices, no free tier
except where said).

Counted, not assumed: dashboards, alarms and customer-managed keys from the synthesized
example app's template (``examples/app.py``, the construct's defaults); the sweep from
the benchmark's idle run (an hour of sweeps with nothing to import: Lambda, DynamoDB
reads, metric calls, log lines); custom metrics as the distinct metric name x dimension
sets the runs emitted (PutMetricData or EMF), the idle run's for a month without files
and the most of any run for a month with imports. Modelled: KMS requests (each resource
that is used asks for a data key about every 5 minutes: with nothing imported, the table
and the sweep's log group, written every 5 minutes; with imports, every key user for the
hours it is busy - not counted here) and Lambda INIT of the sweep (AWS: INIT in under 1 %
of invocations).
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks import aggregate, prices

SWEEPS_PER_MONTH = prices.SECONDS_PER_MONTH / 300.0
IDLE_KEY_USERS = 2  # the table (read by each sweep) and the sweep function's log group


def template_counts(template: dict[str, Any]) -> dict[str, int]:
    resources = template.get("Resources", {})
    keys = [lid for lid, r in resources.items() if r.get("Type") == "AWS::KMS::Key"]
    users = 0
    for lid, resource in resources.items():
        if lid in keys:
            continue
        text = json.dumps(resource.get("Properties", {}))
        if any(f'"{k}"' in text for k in keys) and resource.get("Type") not in ("AWS::IAM::Policy", "AWS::KMS::Alias"):
            users += 1
    return {
        "dashboards": sum(r.get("Type") == "AWS::CloudWatch::Dashboard" for r in resources.values()),
        "alarms": sum(r.get("Type") == "AWS::CloudWatch::Alarm" for r in resources.values()),
        "composite_alarms": sum(r.get("Type") == "AWS::CloudWatch::CompositeAlarm" for r in resources.values()),
        "kms_keys": len(keys),
        "kms_key_users": users,
        "functions": sum(r.get("Type") == "AWS::Lambda::Function" for r in resources.values()),
        "sqs_event_sources": sum(
            r.get("Type") == "AWS::Lambda::EventSourceMapping"
            and "StreamArn" not in json.dumps(r.get("Properties", {}).get("EventSourceArn"))
            for r in resources.values()
        ),
    }


def monthly(
    counts: dict[str, int], idle: dict[str, Any] | None, metric_sets_busy: int, metric_sets_idle: int
) -> dict[str, Any]:
    sweep = 0.0
    if idle and idle.get("sweep_samples"):
        samples = idle["sweep_samples"]
        sweep = sum(aggregate.sample_dollars(s) for s in samples) / len(samples) * SWEEPS_PER_MONTH
    busy_users = min(IDLE_KEY_USERS, counts["kms_key_users"]) if counts["kms_keys"] else 0
    kms_requests = busy_users * prices.SECONDS_PER_MONTH / prices.KMS_REQUEST_INTERVAL_SECONDS
    parts = {
        "sweep": sweep,
        "dashboard": counts["dashboards"] * prices.CLOUDWATCH_PER_DASHBOARD_MONTH,
        "alarms": counts["alarms"] * prices.CLOUDWATCH_PER_ALARM_MONTH + counts["composite_alarms"] * 0.50,
        "kms_keys": counts["kms_keys"] * prices.KMS_PER_KEY_MONTH,
        "kms_requests": kms_requests * prices.KMS_PER_REQUEST,
        "metrics_idle": metric_sets_idle * prices.CLOUDWATCH_PER_METRIC_MONTH,
        # Lambda long-polls an SQS event source even while it is empty (modelled, not measured).
        "sqs_polling": counts.get("sqs_event_sources", 0) * prices.SQS_POLLS_PER_MONTH * prices.SQS_PER_REQUEST,
    }
    idle_total = sum(parts.values())
    busy_metrics = max(metric_sets_busy, metric_sets_idle) * prices.CLOUDWATCH_PER_METRIC_MONTH
    busy_total = idle_total - parts["metrics_idle"] + busy_metrics
    return {
        "counts": counts,
        "metric_sets": {"idle": metric_sets_idle, "busy": metric_sets_busy},
        "kms_requests_per_month": kms_requests,
        "parts": parts,
        "metrics_busy": busy_metrics,
        "idle_month": idle_total,
        "idle_month_without_dashboard": idle_total - parts["dashboard"],
        "busy_month": busy_total,
        "busy_month_without_dashboard": busy_total - parts["dashboard"],
    }
