"""CloudWatch utilization: hourly datapoints in as few GetMetricData calls as possible.

Per instance we ask for CPUUtilization Average and Maximum and NetworkIn + NetworkOut (Sum) at
a one-hour period. The two network metrics are summed by a metric-math expression on
CloudWatch's side: 5 queries but only 3 returned series per instance, so one call carries 100
instances (the 500-query limit) and their 100 x 3 x 336 = 100,800 datapoints (exactly
CloudWatch's per-response limit) for a 14-day lookback. NextToken is followed whenever
CloudWatch splits an answer anyway.

Memory is not an EC2 metric: only instances running the CloudWatch agent publish it
(CWAgent/mem_used_percent). It is fetched in a second, small pass, only for the rightsizing
candidates, where it decides whether a smaller type would fit.

Hourly figures are rolled up to one UtilizationDay row per instance and UTC day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import transaction

from costs.models import Instance, UtilizationDay

PERIOD = 3600
MAX_QUERIES_PER_CALL = 500
QUERIES_PER_INSTANCE = 5
INSTANCES_PER_CALL = MAX_QUERIES_PER_CALL // QUERIES_PER_INSTANCE
MEMORY_NAMESPACE = "CWAgent"
MEMORY_METRIC = "mem_used_percent"


@dataclass
class HourlySeries:
    cpu_avg: dict[datetime, float] = field(default_factory=dict)
    cpu_max: dict[datetime, float] = field(default_factory=dict)
    network: dict[datetime, float] = field(default_factory=dict)
    memory: dict[datetime, float] = field(default_factory=dict)


@dataclass
class CollectionResult:
    api_calls: int = 0
    instances: int = 0
    datapoints: int = 0
    days_written: int = 0
    memory_instances: int = 0


def lookback_window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """Whole hours only: CloudWatch buckets from StartTime, so aligned edges give full hours."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=days), end


def _stat(query_id: str, instance_id: str, namespace: str, metric: str, stat: str, ret=True):
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            },
            "Period": PERIOD,
            "Stat": stat,
        },
        "ReturnData": ret,
    }


def ec2_queries(index: int, instance_id: str) -> list[dict]:
    """Ids encode the batch index: i<n>a (avg), i<n>m (max), i<n>n (network in+out)."""
    prefix = f"i{index}"
    return [
        _stat(f"{prefix}a", instance_id, "AWS/EC2", "CPUUtilization", "Average"),
        _stat(f"{prefix}m", instance_id, "AWS/EC2", "CPUUtilization", "Maximum"),
        _stat(f"{prefix}i", instance_id, "AWS/EC2", "NetworkIn", "Sum", ret=False),
        _stat(f"{prefix}o", instance_id, "AWS/EC2", "NetworkOut", "Sum", ret=False),
        {"Id": f"{prefix}n", "Expression": f"{prefix}i + {prefix}o", "ReturnData": True},
    ]


def memory_queries(index: int, instance_id: str) -> list[dict]:
    return [_stat(f"i{index}r", instance_id, MEMORY_NAMESPACE, MEMORY_METRIC, "Maximum")]


SERIES_BY_SUFFIX = {"a": "cpu_avg", "m": "cpu_max", "n": "network", "r": "memory"}


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fetch(
    cloudwatch,
    instance_ids: list[str],
    start: datetime,
    end: datetime,
    build_queries,
    per_call: int,
    result: CollectionResult,
    series: dict[str, HourlySeries],
) -> None:
    """Run the batched GetMetricData calls and merge every page into SERIES."""
    for batch in _chunks(instance_ids, per_call):
        queries = [q for index, iid in enumerate(batch) for q in build_queries(index, iid)]
        token = None
        while True:
            params = {
                "MetricDataQueries": queries,
                "StartTime": start,
                "EndTime": end,
                "ScanBy": "TimestampAscending",
            }
            if token:
                params["NextToken"] = token
            response = cloudwatch.get_metric_data(**params)
            result.api_calls += 1 + response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            for data in response.get("MetricDataResults", []):
                index, suffix = int(data["Id"][1:-1]), data["Id"][-1]
                target = getattr(series[batch[index]], SERIES_BY_SUFFIX[suffix])
                for timestamp, value in zip(data["Timestamps"], data["Values"], strict=True):
                    target[timestamp.astimezone(UTC)] = value
                result.datapoints += len(data["Values"])
            token = response.get("NextToken")
            if not token:
                break


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class DayFigures:
    day: date
    hours: int
    cpu_avg: float
    cpu_max: float
    cpu_p95: float
    cpu_peak_hour_avg: float
    network_bytes: int
    memory_max: float | None


def rollup(series: HourlySeries) -> list[DayFigures]:
    averages: dict[date, list[float]] = defaultdict(list)
    maxima: dict[date, list[float]] = defaultdict(list)
    network: dict[date, float] = defaultdict(float)
    memory: dict[date, list[float]] = defaultdict(list)
    for timestamp, value in series.cpu_avg.items():
        averages[timestamp.date()].append(value)
    for timestamp, value in series.cpu_max.items():
        maxima[timestamp.date()].append(value)
    for timestamp, value in series.network.items():
        network[timestamp.date()] += value
    for timestamp, value in series.memory.items():
        memory[timestamp.date()].append(value)
    return [
        DayFigures(
            day=day,
            hours=len(values),
            cpu_avg=sum(values) / len(values),
            cpu_max=max(maxima[day] or values),
            cpu_p95=percentile(values, 0.95),
            cpu_peak_hour_avg=max(values),
            network_bytes=int(network.get(day, 0)),
            memory_max=max(memory[day]) if memory.get(day) else None,
        )
        for day, values in sorted(averages.items())
    ]


def store(instance_pks: dict[str, int], series: dict[str, HourlySeries]) -> int:
    rows = [
        UtilizationDay(instance_id=instance_pks[iid], **vars(fig))
        for iid, hourly in series.items()
        for fig in rollup(hourly)
    ]
    with transaction.atomic():
        UtilizationDay.objects.bulk_create(
            rows,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["instance", "day"],
            update_fields=[
                "hours",
                "cpu_avg",
                "cpu_max",
                "cpu_p95",
                "cpu_peak_hour_avg",
                "network_bytes",
                "memory_max",
            ],
        )
    return len(rows)


def rightsizing_candidates(series: dict[str, HourlySeries], p95_threshold: float) -> list[str]:
    return [
        iid
        for iid, hourly in series.items()
        if hourly.cpu_avg and percentile(list(hourly.cpu_avg.values()), 0.95) < p95_threshold
    ]


def collect(
    cloudwatch,
    instances: Iterable[Instance],
    start: datetime,
    end: datetime,
    p95_threshold: float,
) -> CollectionResult:
    """Fetch, roll up and store utilization for INSTANCES (one account and region)."""
    result = CollectionResult()
    instance_pks = {i.instance_id: i.pk for i in instances}
    ids = list(instance_pks)
    series = {iid: HourlySeries() for iid in ids}
    fetch(cloudwatch, ids, start, end, ec2_queries, INSTANCES_PER_CALL, result, series)
    candidates = rightsizing_candidates(series, p95_threshold)
    fetch(cloudwatch, candidates, start, end, memory_queries, MAX_QUERIES_PER_CALL, result, series)
    result.instances = len(ids)
    result.memory_instances = sum(1 for iid in candidates if series[iid].memory)
    result.days_written = store(instance_pks, series)
    return result


def collect_account(account, days: int | None = None, now: datetime | None = None):
    """Collect utilization for every running instance of ACCOUNT, region by region."""
    from botocore.exceptions import BotoCoreError, ClientError
    from django.utils import timezone

    from accounts import aws
    from accounts.connection import describe
    from costs.models import DetectionSettings

    settings = DetectionSettings.for_organization(account.organization)
    start, end = lookback_window(now or timezone.now(), days or settings.lookback_days)
    total = CollectionResult()
    errors = []
    try:
        session = aws.assumed_session(account.role_arn, account.external_id, label="metrics")
        for region in account.regions:
            instances = list(
                Instance.objects.present().filter(account=account, region=region, state="running")
            )
            if not instances:
                continue
            cloudwatch = aws.client(session, "cloudwatch", region)
            try:
                result = collect(
                    cloudwatch, instances, start, end, settings.rightsize_cpu_p95_percent
                )
            except (ClientError, BotoCoreError) as exc:
                errors.append(f"{region}: {describe(exc)}")
                continue
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(result, name))
    except (ClientError, BotoCoreError) as exc:
        errors.append(f"AssumeRole: {describe(exc)}")
    if errors:
        account.record_error("Utilization: " + "; ".join(errors), timezone.now())
    return total, errors
