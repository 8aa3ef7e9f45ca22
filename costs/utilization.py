"""CloudWatch utilization: hourly datapoints in as few GetMetricData calls as possible.

Per instance we ask for CPUUtilization Average and Maximum and NetworkIn + NetworkOut (Sum) at
a one-hour period. The two network metrics are summed by a metric-math expression on
CloudWatch's side: 5 queries but only 3 returned series per instance, so one call carries 100
instances (the 500-query limit) and their 100 x 3 x 336 = 100,800 datapoints (exactly
CloudWatch's per-response limit) for a 14-day lookback. NextToken is followed whenever
CloudWatch splits an answer anyway.

Memory is not an EC2 metric: only instances running the CloudWatch agent publish it
(CWAgent/mem_used_percent). It is fetched in a second, small pass, only for the rightsizing
candidates (low p95 CPU and not idle), where it decides whether a smaller type would fit.

Each batch's hourly figures are rolled up to one DayFigures per instance and UTC day as soon
as its pages are in, so memory is bounded by the batch, not the fleet; the days are then
written as UtilizationDay rows in one upsert.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from botocore.config import Config
from django.db import transaction

from costs import bulk
from costs.models import Instance, UtilizationDay

PERIOD = 3600
MAX_QUERIES_PER_CALL = 500
QUERIES_PER_INSTANCE = 5
INSTANCES_PER_CALL = MAX_QUERIES_PER_CALL // QUERIES_PER_INSTANCE
# The queries are built here, never from input; botocore's validation of 500 nested queries
# per call cost ~1.4 s per 10,000 instances.
CLIENT_CONFIG = Config(parameter_validation=False)
MEMORY_NAMESPACE = "CWAgent"
MEMORY_METRIC = "mem_used_percent"
# Every error a collection records on the account starts with this.
ERROR_PREFIX = "Utilization"


@dataclass
class CollectionResult:
    api_calls: int = 0
    instances: int = 0
    datapoints: int = 0
    days_written: int = 0
    memory_candidates: int = 0
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


# Query id suffix -> position in an instance's Series.
SUFFIXES = {"a": 0, "m": 1, "n": 2, "r": 3}


@dataclass
class Series:
    """One metric's hourly datapoints, ascending: parallel lists, as GetMetricData returns."""

    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def extend(self, timestamps: list[datetime], values: list[float]) -> None:
        if timestamps and timestamps[0] > timestamps[-1]:  # TimestampDescending, the default
            timestamps, values = timestamps[::-1], values[::-1]
        # A series CloudWatch split across pages continues on the next one.
        if not self.timestamps:
            self.timestamps, self.values = timestamps, values
        elif timestamps and timestamps[0] < self.timestamps[-1]:
            merged = sorted(zip(self.timestamps + timestamps, self.values + values, strict=True))
            self.timestamps = [t for t, _ in merged]
            self.values = [v for _, v in merged]
        else:
            self.timestamps += timestamps
            self.values += values


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
) -> Iterator[dict[str, list[Series]]]:
    """Run the batched GetMetricData calls; yield each batch's series once all its pages are in.

    Only one batch's hourly datapoints are held at a time: memory stays bounded by the batch
    size (100 instances), not by the fleet.
    """
    for batch in _chunks(instance_ids, per_call):
        queries = [q for index, iid in enumerate(batch) for q in build_queries(index, iid)]
        series = {iid: [Series() for _ in SUFFIXES] for iid in batch}
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
                values = data["Values"]
                series[batch[index]][SUFFIXES[suffix]].extend(data["Timestamps"], values)
                result.datapoints += len(values)
            token = response.get("NextToken")
            if not token:
                break
        yield series


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
    memory_max: float | None = None


class DayBuckets:
    """Splits ascending hourly series into UTC days by bisection, not per datapoint."""

    def __init__(self, start: datetime, end: datetime):
        first = start.astimezone(UTC).date()
        count = (end.astimezone(UTC).date() - first).days + 1
        self.days = [first + timedelta(days=n) for n in range(count)]
        self.edges = [datetime.combine(day, time.min, UTC) for day in self.days[1:]]
        self._by_zone: dict[int, list[datetime]] = {}

    def slices(self, timestamps: list[datetime]) -> Iterator[tuple[date, int, int]]:
        """(day, lo, hi) for every day with datapoints: TIMESTAMPS[lo:hi] fall on that day."""
        if not timestamps:
            return
        zone = timestamps[0].tzinfo
        # Aware datetimes sharing one tzinfo compare without calling utcoffset().
        edges = self._by_zone.get(id(zone))
        if edges is None:
            edges = self._by_zone[id(zone)] = [edge.astimezone(zone) for edge in self.edges]
        lo = 0
        for day, edge in zip(self.days, [*edges, None], strict=True):
            hi = len(timestamps) if edge is None else bisect_left(timestamps, edge, lo)
            if hi > lo:
                yield day, lo, hi
            lo = hi


def rollup(series: list[Series], buckets: DayBuckets) -> list[DayFigures]:
    """One DayFigures per UTC day with CPU data, from an instance's [avg, max, net, memory]."""
    cpu_avg, cpu_max, network, memory = series
    maxima = {day: max(cpu_max.values[lo:hi]) for day, lo, hi in buckets.slices(cpu_max.timestamps)}
    traffic = {
        day: sum(network.values[lo:hi]) for day, lo, hi in buckets.slices(network.timestamps)
    }
    figures = []
    for day, lo, hi in buckets.slices(cpu_avg.timestamps):
        hours = cpu_avg.values[lo:hi]
        peak = max(hours)
        figures.append(
            DayFigures(
                day=day,
                hours=hi - lo,
                cpu_avg=sum(hours) / len(hours),
                cpu_max=maxima.get(day, peak),
                cpu_p95=percentile(hours, 0.95),
                cpu_peak_hour_avg=peak,
                network_bytes=int(traffic.get(day, 0)),
            )
        )
    if memory.values:
        add_memory(figures, memory, buckets)
    return figures


def add_memory(figures: list[DayFigures], memory: Series, buckets: DayBuckets) -> None:
    peaks = {day: max(memory.values[lo:hi]) for day, lo, hi in buckets.slices(memory.timestamps)}
    for day in figures:
        day.memory_max = peaks.get(day.day)


STORED_FIELDS = (
    "instance",
    "day",
    "hours",
    "cpu_avg",
    "cpu_max",
    "cpu_p95",
    "cpu_peak_hour_avg",
    "network_bytes",
    "memory_max",
)


def store(instance_pks: dict[str, int], figures: dict[str, list[DayFigures]]) -> int:
    rows = [
        (
            instance_pks[iid],
            day.day,
            day.hours,
            day.cpu_avg,
            day.cpu_max,
            day.cpu_p95,
            day.cpu_peak_hour_avg,
            day.network_bytes,
            day.memory_max,
        )
        for iid, days in figures.items()
        for day in days
    ]
    with transaction.atomic():
        return bulk.upsert(UtilizationDay, STORED_FIELDS, rows, ["instance", "day"])


def needs_memory(instance: Instance, days: list[DayFigures], settings) -> bool:
    """Whether the rightsizer will ask about memory: the same rules, before the memory check.

    Instances idle detection will flag are skipped (stopping supersedes resizing), so the
    memory pass costs calls only for real rightsizing candidates.
    """
    from costs import idle, rightsizing

    if not days or not rightsizing.has_enough_data(days, settings):
        return False
    if max(day.cpu_p95 for day in days) >= settings.rightsize_cpu_p95_percent:
        return False
    return not idle.assess(instance, days, settings).idle


def collect(
    cloudwatch,
    instances: Iterable[Instance],
    start: datetime,
    end: datetime,
    settings,
) -> CollectionResult:
    """Fetch, roll up and store utilization for INSTANCES (one account and region)."""
    result = CollectionResult()
    by_id = {i.instance_id: i for i in instances}
    ids = list(by_id)
    buckets = DayBuckets(start, end)
    figures: dict[str, list[DayFigures]] = {}
    for batch in fetch(cloudwatch, ids, start, end, ec2_queries, INSTANCES_PER_CALL, result):
        for iid, series in batch.items():
            figures[iid] = rollup(series, buckets)
    candidates = [iid for iid in ids if needs_memory(by_id[iid], figures[iid], settings)]
    result.memory_candidates = len(candidates)
    for batch in fetch(
        cloudwatch, candidates, start, end, memory_queries, MAX_QUERIES_PER_CALL, result
    ):
        for iid, series in batch.items():
            memory = series[SUFFIXES["r"]]
            if memory.values:
                result.memory_instances += 1
                add_memory(figures[iid], memory, buckets)
    result.instances = len(ids)
    result.days_written = store({iid: i.pk for iid, i in by_id.items()}, figures)
    return result


def collect_account(account, days: int | None = None, now: datetime | None = None):
    """Collect utilization for every running instance of ACCOUNT, region by region."""
    from botocore.exceptions import BotoCoreError, ClientError
    from django.utils import timezone

    from accounts import aws
    from accounts.connection import describe
    from costs.explorer import clear_pipeline_error
    from costs.models import DetectionSettings

    settings = DetectionSettings.for_organization(account.organization)
    start, end = lookback_window(now or timezone.now(), days or settings.lookback_days)
    total = CollectionResult()
    errors = []
    try:
        role = aws.RoleSession(account.role_arn, account.external_id, label="metrics")
        for region in account.regions:
            instances = list(
                Instance.objects.present().filter(account=account, region=region, state="running")
            )
            if not instances:
                continue

            def work(session, region=region, instances=instances):
                cloudwatch = aws.client(session, "cloudwatch", region, config=CLIENT_CONFIG)
                return collect(cloudwatch, instances, start, end, settings)

            try:
                # collect() writes only after its last GetMetricData call, so a refusal of
                # expired credentials can safely run it again with renewed ones.
                result = role.run(work)
            except (ClientError, BotoCoreError) as exc:
                errors.append(f"{region}: {describe(exc)}")
                continue
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(result, name))
    except (ClientError, BotoCoreError) as exc:
        errors.append(f"AssumeRole: {describe(exc)}")
    if errors:
        account.record_error(f"{ERROR_PREFIX}: " + "; ".join(errors), timezone.now())
    else:
        # The failure an earlier collection recorded is over (other pipelines' errors stay).
        clear_pipeline_error(account, ERROR_PREFIX)
    return total, errors
