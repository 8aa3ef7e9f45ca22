"""CloudWatch figures of RDS instances, NAT gateways and load balancers, in few GetMetricData calls.

Every query is hourly over whole UTC days (utilization.lookback_window), so a query carries
24 datapoints a day and one call takes as many queries as both of CloudWatch's limits allow:
500 queries, and 100,800 datapoints per response (300 queries for a 14-day lookback). The
kinds are packed into the same calls, a resource's queries never split across two:

- rds (AWS/RDS, DBInstanceIdentifier): DatabaseConnections Maximum, CPUUtilization Average;
- nat (AWS/NATGateway, NatGatewayId): BytesOutToDestination, BytesInFromSource and
  BytesInFromDestination, Sum;
- lb (AWS/ApplicationELB or AWS/NetworkELB, LoadBalancer): RequestCount (an NLB counts
  NewFlowCount) and ProcessedBytes, Sum; ConsumedLCUs, Average.

200 RDS instances, 50 NAT gateways and 50 load balancers over 14 days are 700 queries: 3
calls, where one call per resource per metric would be 700. Query ids encode the kind, the
resource's index in its call and the figure ("r12c": the 13th resource's connections), so an
answer is mapped back without a lookup table. NextToken is followed whenever CloudWatch splits
an answer anyway.

Each resource gets one ResourceMetricDay per lookback day (from the day it was created): a
figure CloudWatch did not report that day is absent from FIGURES, never 0. ELB publishes its
request metrics only when there is traffic, so an LB's day may be stored with hours 0 and no
figures: the detector, not the collector, decides what that means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction

from costs import bulk
from fleet import utilization
from fleet.models import DatabaseInstance, LoadBalancer, NatGateway, ResourceMetricDay
from fleet.utilization import (
    CLIENT_CONFIG,
    HOUR,
    MAX_DATAPOINTS_PER_RESPONSE,
    MAX_QUERIES_PER_CALL,
    DayBuckets,
    Series,
    is_midnight,
    lookback_window,
)

PERIOD = HOUR
# Every error a collection records on the account starts with this.
ERROR_PREFIX = "Resource metrics"

RDS, NAT, LB = (
    ResourceMetricDay.Kind.DATABASE.value,
    ResourceMetricDay.Kind.NAT_GATEWAY.value,
    ResourceMetricDay.Kind.LOAD_BALANCER.value,
)
# The first letter of a query id: the kind.
KIND_LETTERS = {RDS: "r", NAT: "n", LB: "l"}
KIND_OF_LETTER = {letter: kind for kind, letter in KIND_LETTERS.items()}
# Per kind, the figures asked for: id suffix -> (metric name, statistic). For LB the metric
# name depends on the type (network_metric).
METRICS = {
    RDS: {"c": ("DatabaseConnections", "Maximum"), "a": ("CPUUtilization", "Average")},
    NAT: {
        "o": ("BytesOutToDestination", "Sum"),
        "s": ("BytesInFromSource", "Sum"),
        "d": ("BytesInFromDestination", "Sum"),
    },
    LB: {
        "r": ("RequestCount", "Sum"),
        "p": ("ProcessedBytes", "Sum"),
        "l": ("ConsumedLCUs", "Average"),
    },
}
# How many metrics the EC2 collection reads per instance: CPUUtilization (its average and its
# maximum are two statistics of one metric, one GetMetricStatistics call), NetworkIn, NetworkOut.
EC2_METRICS = 3


@dataclass(frozen=True)
class Resource:
    """What a query needs: the kind, the ID stored, and the CloudWatch dimension."""

    kind: str
    resource_id: str
    namespace: str
    dimension: str
    created_at: datetime | None = None
    network: bool = False  # an NLB: flows, not requests


def database_resource(db: DatabaseInstance) -> Resource:
    return Resource(RDS, db.db_instance_id, "AWS/RDS", "DBInstanceIdentifier", db.created_at)


def nat_resource(nat: NatGateway) -> Resource:
    return Resource(NAT, nat.nat_gateway_id, "AWS/NATGateway", "NatGatewayId", nat.created_at)


def lb_resource(lb: LoadBalancer) -> Resource:
    network = lb.lb_type == LoadBalancer.Type.NETWORK
    namespace = "AWS/NetworkELB" if network else "AWS/ApplicationELB"
    return Resource(LB, lb.dimension, namespace, "LoadBalancer", lb.created_at, network)


def as_resource(item) -> Resource:
    """ITEM as a Resource: itself, or built from a DatabaseInstance, NatGateway, LoadBalancer."""
    if isinstance(item, Resource):
        return item
    builders = {
        DatabaseInstance: database_resource,
        NatGateway: nat_resource,
        LoadBalancer: lb_resource,
    }
    return builders[type(item)](item)


# --- How many calls ----------------------------------------------------------------------------


def queries_per_call(days: int) -> int:
    """Hourly queries one call carries: 500, or fewer so the answer fits 100,800 datapoints."""
    return max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_RESPONSE // (24 * days)))


def _batches(resources: list[Resource], per_call: int) -> Iterator[list[Resource]]:
    """Consecutive RESOURCES whose queries fit PER_CALL, none split across two calls."""
    batch, queries = [], 0
    for resource in resources:
        size = len(METRICS[resource.kind])
        if batch and queries + size > per_call:
            yield batch
            batch, queries = [], 0
        batch.append(resource)
        queries += size
    if batch:
        yield batch


def calls_needed(counts: dict[str, int], days: int) -> int:
    """GetMetricData calls (without NextToken pages) for COUNTS = {"rds": n, "nat": n, "lb": n,
    "ec2": n} over DAYS: this module's packed calls plus utilization's EC2 batches."""
    per_call = queries_per_call(days)
    fake = [Resource(kind, str(n), "", "") for kind in METRICS for n in range(counts.get(kind, 0))]
    calls = sum(1 for _ in _batches(fake, per_call))
    instances = counts.get("ec2", 0)
    if instances:
        calls += math.ceil(instances / utilization.instances_per_call(days))
    return calls


def calls_one_per_metric(counts: dict[str, int]) -> int:
    """The calls of asking one resource's one metric per call (Cloud Custodian's approach)."""
    per_kind = {kind: len(metrics) for kind, metrics in METRICS.items()} | {"ec2": EC2_METRICS}
    return sum(per_kind[kind] * count for kind, count in counts.items())


# --- Fetching ----------------------------------------------------------------------------------


@dataclass
class ResourceMetricsResult:
    api_calls: int = 0
    resources: int = 0
    datapoints: int = 0
    days_written: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.by_kind.items())) or "none"
        return (
            f"other resources ({kinds}): {self.api_calls} GetMetricData calls, "
            f"{self.datapoints:,} datapoints, {self.days_written} daily rows"
        )


def queries(index: int, resource: Resource) -> list[dict]:
    prefix = f"{KIND_LETTERS[resource.kind]}{index}"
    built = []
    for suffix, (metric, stat) in METRICS[resource.kind].items():
        if resource.network and suffix == "r":
            metric = "NewFlowCount"
        built.append(
            {
                "Id": f"{prefix}{suffix}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": resource.namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": resource.dimension, "Value": resource.resource_id}],
                    },
                    "Period": PERIOD,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
        )
    return built


def fetch(
    cloudwatch, batch: list[Resource], start: datetime, end: datetime, result
) -> list[dict[str, Series]]:
    """Every page of one call's answer: per resource of BATCH, {suffix: Series}."""
    sent = [q for index, resource in enumerate(batch) for q in queries(index, resource)]
    series: list[dict[str, Series]] = [
        {suffix: Series() for suffix in METRICS[r.kind]} for r in batch
    ]
    for data in utilization.results(cloudwatch, sent, start, end, result):
        query_id = data["Id"]
        index, suffix = int(query_id[1:-1]), query_id[-1]
        series[index][suffix].extend(data["Timestamps"], data["Values"])
    return series


# --- Daily figures -----------------------------------------------------------------------------


def _by_day(series: Series, buckets: DayBuckets) -> dict[date, list[float]]:
    return {day: series.values[lo:hi] for day, lo, hi in buckets.slices(series.timestamps)}


def _hours(series: Series, buckets: DayBuckets) -> dict[date, set[datetime]]:
    return {
        day: {t.astimezone(UTC) for t in series.timestamps[lo:hi]}
        for day, lo, hi in buckets.slices(series.timestamps)
    }


def rds_day(series: dict[str, Series], buckets: DayBuckets) -> dict[date, tuple[int, dict]]:
    connections, cpu = _by_day(series["c"], buckets), _by_day(series["a"], buckets)
    days = {}
    for day in buckets.days:
        figures = {}
        if connections.get(day):
            figures["connections_max"] = max(connections[day])
        if cpu.get(day):
            figures["cpu_avg"] = sum(cpu[day]) / len(cpu[day])
            figures["cpu_peak_hour_avg"] = max(cpu[day])
        days[day] = (len(connections.get(day, [])), figures)
    return days


def nat_day(series: dict[str, Series], buckets: DayBuckets) -> dict[date, tuple[int, dict]]:
    out = _by_day(series["o"], buckets)
    inbound = [_by_day(series["s"], buckets), _by_day(series["d"], buckets)]
    days = {}
    for day in buckets.days:
        figures = {}
        if out.get(day):
            figures["bytes_out_to_destination"] = int(sum(out[day]))
        processed = [value for metric in inbound for value in metric.get(day, [])]
        if processed:
            figures["bytes_processed"] = int(sum(processed))
        days[day] = (len(out.get(day, [])), figures)
    return days


def lb_day(series: dict[str, Series], buckets: DayBuckets) -> dict[date, tuple[int, dict]]:
    requests, processed = _by_day(series["r"], buckets), _by_day(series["p"], buckets)
    lcus = _by_day(series["l"], buckets)
    hours = [_hours(s, buckets) for s in series.values()]
    days = {}
    for day in buckets.days:
        figures = {}
        if requests.get(day):
            figures["requests"] = int(sum(requests[day]))
        if processed.get(day):
            figures["processed_bytes"] = int(sum(processed[day]))
        if lcus.get(day):
            figures["lcu_hours"] = sum(lcus[day])
        with_data = set().union(*(h.get(day, set()) for h in hours))
        days[day] = (len(with_data), figures)
    return days


ROLLUPS = {RDS: rds_day, NAT: nat_day, LB: lb_day}


def _existed(resource: Resource, day: date) -> bool:
    """Whether RESOURCE existed before DAY ended: earlier days are not days without data."""
    if resource.created_at is None:
        return True
    return resource.created_at < datetime.combine(day + timedelta(days=1), time.min, UTC)


STORED_FIELDS = ("account", "resource_kind", "resource_id", "day", "hours", "figures")
UNIQUE_FIELDS = ["account", "resource_kind", "resource_id", "day"]


def collect(
    cloudwatch, resources_by_kind: dict[str, Iterable], start: datetime, end: datetime
) -> tuple[ResourceMetricsResult, list[tuple]]:
    """Fetch and roll up the figures of RESOURCES_BY_KIND ({"rds": [...], "nat": [...],
    "lb": [...]}, each a Resource or the inventory's row) of one region.

    Returns (the result, rows of STORED_FIELDS without the account, ready for store()).

    Nothing is written here, so a failed call leaves the stored days as they were. START and
    END must be UTC midnights (lookback_window).
    """
    if not (is_midnight(start) and is_midnight(end)):
        raise ValueError(f"collect() needs whole UTC days, not {start} to {end}")
    result = ResourceMetricsResult()
    resources = [as_resource(r) for kind in METRICS for r in resources_by_kind.get(kind, [])]
    buckets = DayBuckets(start, end)
    rows = []
    for batch in _batches(resources, queries_per_call(len(buckets.days))):
        for resource, series in zip(
            batch, fetch(cloudwatch, batch, start, end, result), strict=True
        ):
            days = ROLLUPS[resource.kind](series, buckets)
            for day, (hours, figures) in days.items():
                if _existed(resource, day):
                    rows.append((resource.kind, resource.resource_id, day, hours, figures))
    result.resources = len(resources)
    for resource in resources:
        result.by_kind[resource.kind] = result.by_kind.get(resource.kind, 0) + 1
    return result, rows


def store(account, rows: list[tuple]) -> int:
    """Upsert ROWS (from collect()) as ACCOUNT's ResourceMetricDays."""
    with transaction.atomic():
        return bulk.upsert(
            ResourceMetricDay, STORED_FIELDS, [(account.pk, *row) for row in rows], UNIQUE_FIELDS
        )


# An instance being deleted is on its way out; any other status (a stopped one too: its days
# before the stop) has figures worth keeping.
DATABASE_LEAVING = ("deleting", "deleted")


def present_resources(account, region: str) -> dict[str, list[Resource]]:
    """The resources of ACCOUNT in REGION worth collecting: RDS instances not being deleted,
    available NAT gateways, active application and network load balancers."""
    databases = (
        DatabaseInstance.objects.present()
        .filter(account=account, region=region)
        .exclude(status__in=DATABASE_LEAVING)
    )
    nats = NatGateway.objects.present().filter(account=account, region=region, state="available")
    lbs = LoadBalancer.objects.present().filter(
        account=account,
        region=region,
        state="active",
        lb_type__in=[LoadBalancer.Type.APPLICATION, LoadBalancer.Type.NETWORK],
    )
    return {
        RDS: [database_resource(db) for db in databases.order_by("db_instance_id")],
        NAT: [nat_resource(nat) for nat in nats.order_by("nat_gateway_id")],
        LB: [lb_resource(lb) for lb in lbs.order_by("dimension")],
    }


def _add(total: ResourceMetricsResult, part: ResourceMetricsResult) -> None:
    total.api_calls += part.api_calls
    total.resources += part.resources
    total.datapoints += part.datapoints
    total.days_written += part.days_written
    for kind, count in part.by_kind.items():
        total.by_kind[kind] = total.by_kind.get(kind, 0) + count


def collect_account(account, days: int, now: datetime | None = None):
    """Collect DAYS days of figures for ACCOUNT's RDS instances, NAT gateways and load
    balancers, region by region: (ResourceMetricsResult, errors as "region: message")."""
    from botocore.exceptions import BotoCoreError, ClientError
    from django.utils import timezone

    from accounts import aws
    from accounts.connection import describe

    start, end = lookback_window(now or timezone.now(), days)
    total = ResourceMetricsResult()
    errors = []
    try:
        role = aws.RoleSession(account.role_arn, account.external_id, label="metrics")
        for region in account.regions:
            resources = present_resources(account, region)
            if not any(resources.values()):
                continue

            def work(session, region=region, resources=resources):
                cloudwatch = aws.client(session, "cloudwatch", region, config=CLIENT_CONFIG)
                return collect(cloudwatch, resources, start, end)

            try:
                # collect() writes nothing, so a refusal of expired credentials can run it
                # again with renewed ones.
                result, rows = role.run(work)
            except (ClientError, BotoCoreError) as exc:
                errors.append(f"{region}: {describe(exc)}")
                continue
            result.days_written = store(account, rows)
            _add(total, result)
    except (ClientError, BotoCoreError) as exc:
        errors.append(f"AssumeRole: {describe(exc)}")
    if errors:
        account.record_error(f"{ERROR_PREFIX}: " + "; ".join(errors), timezone.now())
    else:
        # The failure an earlier collection recorded is over (other pipelines' errors stay).
        account.clear_error(ERROR_PREFIX)
    return total, errors
