"""CloudWatch utilization: CPU and network per instance and UTC day, in few GetMetricData calls.

Per instance and lookback day we ask for:

- CPUUtilization Average, hourly (24 datapoints): the daily average, p95 and busiest hour;
- CPUUtilization Maximum, daily (1): the day's highest sample, the same figure as the highest
  of its hourly maxima;
- NetworkIn and NetworkOut Sum, per two hours (12 each): the day's traffic, and how many hours
  of the day had network data at all.

NetworkIn and NetworkOut are two plain queries, not one metric-math sum: an endpoint that does
not evaluate expressions (the local emulator answers them with an empty, Complete series) would
otherwise turn real traffic into none. Two-hour network buckets keep an instance at 49
datapoints a day, so one call carries 125 instances (4 queries each: the 500-query limit) and
their 85,750 datapoints for a 14-day lookback, under CloudWatch's 100,800 per response: 8 calls
per 1,000 instances. NextToken is followed whenever CloudWatch splits an answer anyway.

A day without network datapoints has no traffic figure (network_hours 0, network_bytes None),
never a traffic of 0: missing data is not "no traffic".

The window is whole UTC days (lookback_window): a partial first or last day would otherwise
count as a day of its own, and daily buckets would straddle two days.

Memory is not an EC2 metric: only instances running the CloudWatch agent publish it
(CWAgent/mem_used_percent). It is fetched in a second, small pass, only for the instances the
caller asks about (MemoryWanted): the findings stage asks for its rightsizing candidates (low
p95 CPU and not idle, findings/rightsizing.py), where memory decides whether a smaller type
would fit. The rule is the caller's, so the fleet never imports the stage that judges it.

Each batch's figures are rolled up to one DayFigures per instance and UTC day as soon as its
pages are in, so memory is bounded by the batch, not the fleet; the days are then written as
UtilizationDay rows in one upsert.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from botocore.config import Config
from django.db import transaction

from costs import bulk
from fleet.models import Instance, UtilizationDay

HOUR = 3600
DAY = 24 * HOUR
# The seconds per datapoint of each query, by its id suffix: i<n>a CPU average, i<n>m CPU
# maximum, i<n>i NetworkIn, i<n>o NetworkOut, i<n>r memory (second pass).
PERIODS = {"a": HOUR, "m": DAY, "i": 2 * HOUR, "o": 2 * HOUR, "r": HOUR}
EC2_QUERIES = "amio"
# Query id suffix -> position in an instance's series.
SUFFIXES = {suffix: n for n, suffix in enumerate("amior")}
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_RESPONSE = 100_800
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
    """The DAYS whole UTC days before NOW's day: [midnight DAYS days ago, today's midnight).

    Today's hours wait for tomorrow's collection; a window of whole days gives every day
    all its hours and lets CloudWatch's daily buckets (which start at StartTime) be UTC days.
    """
    end = datetime.combine(now.astimezone(UTC).date(), time.min, UTC)
    return end - timedelta(days=days), end


def datapoints_per_instance(days: int) -> int:
    return sum(days * DAY // PERIODS[suffix] for suffix in EC2_QUERIES)


def instances_per_call(days: int) -> int:
    """As many instances as one call's queries and one response's datapoints allow."""
    by_queries = MAX_QUERIES_PER_CALL // len(EC2_QUERIES)
    by_datapoints = MAX_DATAPOINTS_PER_RESPONSE // datapoints_per_instance(days)
    return max(1, min(by_queries, by_datapoints))


def _stat(query_id: str, instance_id: str, namespace: str, metric: str, stat: str):
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            },
            "Period": PERIODS[query_id[-1]],
            "Stat": stat,
        },
        "ReturnData": True,
    }


def ec2_queries(index: int, instance_id: str) -> list[dict]:
    """Ids encode the batch index and the figure: i<n> + a suffix of PERIODS."""
    prefix = f"i{index}"
    return [
        _stat(f"{prefix}a", instance_id, "AWS/EC2", "CPUUtilization", "Average"),
        _stat(f"{prefix}m", instance_id, "AWS/EC2", "CPUUtilization", "Maximum"),
        _stat(f"{prefix}i", instance_id, "AWS/EC2", "NetworkIn", "Sum"),
        _stat(f"{prefix}o", instance_id, "AWS/EC2", "NetworkOut", "Sum"),
    ]


def memory_queries(index: int, instance_id: str) -> list[dict]:
    return [_stat(f"i{index}r", instance_id, MEMORY_NAMESPACE, MEMORY_METRIC, "Maximum")]


@dataclass
class Series:
    """One metric's datapoints, ascending: parallel lists, as GetMetricData returns them."""

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

    Only one batch's datapoints are held at a time: memory stays bounded by the batch size
    (125 instances), not by the fleet.
    """
    for batch in _chunks(instance_ids, per_call):
        queries = [q for index, iid in enumerate(batch) for q in build_queries(index, iid)]
        series = {iid: [Series() for _ in SUFFIXES] for iid in batch}
        for data in results(cloudwatch, queries, start, end, result):
            index, suffix = int(data["Id"][1:-1]), data["Id"][-1]
            series[batch[index]][SUFFIXES[suffix]].extend(data["Timestamps"], data["Values"])
        yield series


def results(cloudwatch, queries: list[dict], start: datetime, end: datetime, result):
    """Every MetricDataResults entry of one GetMetricData call, NextToken pages followed;
    RESULT counts the calls (retries included) and the datapoints."""
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
            result.datapoints += len(data["Values"])
            yield data
        token = response.get("NextToken")
        if not token:
            return


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
    network_hours: int = 0
    network_bytes: int | None = None
    memory_max: float | None = None
    cpu_hourly: list[float | None] | None = None
    network_2h: list[int | None] | None = None


def is_midnight(moment: datetime) -> bool:
    return moment.astimezone(UTC).time() == time.min


class DayBuckets:
    """Splits ascending series into the window's UTC days by bisection, not per datapoint.

    Datapoints outside [start, end) are left out: some endpoints (the emulator) answer a
    bucket starting at EndTime too.
    """

    def __init__(self, start: datetime, end: datetime):
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        first = start.date()
        count = ((end - timedelta(microseconds=1)).date() - first).days + 1
        self.days = [first + timedelta(days=n) for n in range(count)]
        midnights = [datetime.combine(day, time.min, UTC) for day in self.days[1:]]
        self.edges = [start, *midnights, end]
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
        lo = bisect_left(timestamps, edges[0])
        for day, edge in zip(self.days, edges[1:], strict=True):
            hi = bisect_left(timestamps, edge, lo)
            if hi > lo:
                yield day, lo, hi
            lo = hi


def network_days(inbound: Series, outbound: Series, buckets: DayBuckets) -> dict:
    """{day: (hours with both NetworkIn and NetworkOut, bytes in + out)} for days with either.

    Only a bucket where both metrics reported counts as covered; the bytes are every datapoint
    seen, so a lone NetworkIn still counts as traffic.
    """
    hours_per_bucket = PERIODS["i"] // HOUR
    in_spans = {day: (lo, hi) for day, lo, hi in buckets.slices(inbound.timestamps)}
    out_spans = {day: (lo, hi) for day, lo, hi in buckets.slices(outbound.timestamps)}
    days = {}
    for day in in_spans.keys() | out_spans.keys():
        in_lo, in_hi = in_spans.get(day, (0, 0))
        out_lo, out_hi = out_spans.get(day, (0, 0))
        in_times, out_times = inbound.timestamps[in_lo:in_hi], outbound.timestamps[out_lo:out_hi]
        both = len(in_times) if in_times == out_times else len(set(in_times) & set(out_times))
        traffic = sum(inbound.values[in_lo:in_hi]) + sum(outbound.values[out_lo:out_hi])
        days[day] = (both * hours_per_bucket, int(traffic))
    return days


def _by_slot(series: Series, lo: int, hi: int, day: date, seconds: int) -> list:
    """SERIES[lo:hi] (one UTC day) placed in the day's slots of SECONDS; None where none."""
    slots: list = [None] * (DAY // seconds)
    midnight = datetime.combine(day, time.min, UTC)
    if hi - lo == len(slots) and series.timestamps[lo] == midnight:
        # A complete day (the usual case), ascending and unique within it: one slot each.
        return series.values[lo:hi]
    for moment, value in zip(series.timestamps[lo:hi], series.values[lo:hi], strict=True):
        slot = int((moment - midnight).total_seconds()) // seconds
        if 0 <= slot < len(slots):
            slots[slot] = value if slots[slot] is None else slots[slot] + value
    return slots


def _network_slots(inbound: Series, outbound: Series, buckets: DayBuckets) -> dict:
    """{day: 12 two-hour byte sums, None where neither metric reported}."""
    seconds = PERIODS["i"]
    days: dict[date, list] = {}
    for metric in (inbound, outbound):
        for day, lo, hi in buckets.slices(metric.timestamps):
            slots = _by_slot(metric, lo, hi, day, seconds)
            total = days.setdefault(day, [None] * len(slots))
            for n, value in enumerate(slots):
                if value is not None:
                    total[n] = int(value) + (total[n] or 0)
    return days


def rollup(series: list[Series], buckets: DayBuckets) -> list[DayFigures]:
    """One DayFigures per UTC day with CPU data, from an instance's series (SUFFIXES order)."""
    cpu_avg, cpu_max, inbound, outbound, memory = series
    maxima = {day: max(cpu_max.values[lo:hi]) for day, lo, hi in buckets.slices(cpu_max.timestamps)}
    network = network_days(inbound, outbound, buckets)
    network_slots = _network_slots(inbound, outbound, buckets)
    figures = []
    for day, lo, hi in buckets.slices(cpu_avg.timestamps):
        hours = cpu_avg.values[lo:hi]
        peak = max(hours)
        network_hours, network_bytes = network.get(day, (0, None))
        figures.append(
            DayFigures(
                day=day,
                hours=hi - lo,
                cpu_avg=sum(hours) / len(hours),
                cpu_max=maxima.get(day, peak),
                cpu_p95=percentile(hours, 0.95),
                cpu_peak_hour_avg=peak,
                network_hours=network_hours,
                network_bytes=network_bytes,
                cpu_hourly=_by_slot(cpu_avg, lo, hi, day, HOUR),
                network_2h=network_slots.get(day),
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
    "network_hours",
    "network_bytes",
    "memory_max",
    "cpu_hourly",
    "network_2h",
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
            day.network_hours,
            day.network_bytes,
            day.memory_max,
            day.cpu_hourly,
            day.network_2h,
        )
        for iid, days in figures.items()
        for day in days
    ]
    with transaction.atomic():
        return bulk.upsert(UtilizationDay, STORED_FIELDS, rows, ["instance", "day"])


# Whether an instance's memory is worth a query, given its rolled-up days.
MemoryWanted = Callable[[Instance, list["DayFigures"]], bool]


def collect(
    cloudwatch,
    instances: Iterable[Instance],
    start: datetime,
    end: datetime,
    memory_wanted: MemoryWanted | None = None,
) -> CollectionResult:
    """Fetch, roll up and store utilization for INSTANCES (one account and region); memory
    too for the instances MEMORY_WANTED picks.

    START and END must be UTC midnights (lookback_window): CloudWatch starts its daily
    buckets at StartTime, and a bucket across two days belongs to neither.
    """
    if not (is_midnight(start) and is_midnight(end)):
        raise ValueError(f"collect() needs whole UTC days, not {start} to {end}")
    result = CollectionResult()
    by_id = {i.instance_id: i for i in instances}
    ids = list(by_id)
    buckets = DayBuckets(start, end)
    per_call = instances_per_call(len(buckets.days))
    figures: dict[str, list[DayFigures]] = {}
    for batch in fetch(cloudwatch, ids, start, end, ec2_queries, per_call, result):
        for iid, series in batch.items():
            figures[iid] = rollup(series, buckets)
    candidates = [
        iid for iid in ids if memory_wanted is not None and memory_wanted(by_id[iid], figures[iid])
    ]
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


def collect_account(
    account, days: int, memory_wanted: MemoryWanted | None = None, now: datetime | None = None
):
    """Collect DAYS days of utilization for every running instance of ACCOUNT, region by
    region (findings/detection.py collect_utilization() says how many, and whose memory)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from django.utils import timezone

    from accounts import aws
    from accounts.connection import describe

    start, end = lookback_window(now or timezone.now(), days)
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
                return collect(cloudwatch, instances, start, end, memory_wanted)

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
        account.clear_error(ERROR_PREFIX)
    return total, errors
