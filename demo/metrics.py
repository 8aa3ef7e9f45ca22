"""The demo fleet's CloudWatch metrics: hourly usage by profile, and the PutMetricData that
publishes it.

Deterministic: a random generator seeded per instance and timestamps derived from ``now``, so
two seeds with the same ``now`` publish the same numbers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from demo.spec import (
    METRIC_DAYS,
    PROFILE_BUSINESS_HOURS,
    PROFILE_IDLE,
    PROFILE_NIGHTLY_BATCH,
    PROFILE_OVERSIZED,
    PROFILE_STEADY_BUSY,
    DemoInstance,
)

# CloudWatch accepts at most 1,000 MetricData items per PutMetricData call.
PUT_METRIC_BATCH = 1000
# Basic monitoring publishes a datapoint every 5 minutes: 12 samples make one hourly statistic.
SAMPLES_PER_HOUR = 12
# The CloudWatch agent's default collection interval is 60 s.
AGENT_SAMPLES_PER_HOUR = 60

KB = 1024
MB = 1024 * KB
GB = 1024 * MB

# The nightly batch runs in the 02:00 UTC hour; business hours are 09:00-18:00 UTC, Mon-Fri.
BATCH_HOUR = 2
BUSINESS_HOURS = range(9, 18)


@dataclass(frozen=True)
class HourlySample:
    """One hour of an instance's CloudWatch statistics."""

    timestamp: datetime
    cpu_average: float
    cpu_minimum: float
    cpu_maximum: float
    network_in: float  # bytes in the hour
    network_out: float
    memory_percent: float | None = None


def as_utc(moment: datetime) -> datetime:
    """MOMENT in UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def last_whole_hour(now: datetime) -> datetime:
    """The start of the newest complete hour: CloudWatch's current hour is still filling up."""
    return as_utc(now).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def metric_window(now: datetime, hours: int = METRIC_DAYS * 24) -> tuple[datetime, datetime]:
    """[start, end) covering exactly HOURS whole hours, the newest one last."""
    end = last_whole_hour(now) + timedelta(hours=1)
    return end - timedelta(hours=hours), end


def hourly_samples(member: DemoInstance, now: datetime) -> list[HourlySample]:
    """The member's hourly statistics, oldest first, ending at the last whole hour before NOW."""
    # Not for security: a fixed seed per instance keeps demo numbers and tests repeatable.
    rng = random.Random(f"spendlens-demo:{member.key}")  # noqa: S311
    start, _ = metric_window(now, member.metric_hours)
    shape = _PROFILES[member.profile]
    samples = []
    for offset in range(member.metric_hours):
        timestamp = start + timedelta(hours=offset)
        cpu_avg, cpu_min, cpu_max, net_in, net_out = shape(timestamp, rng)
        memory = None
        if member.memory_percent is not None:
            memory = round(member.memory_percent + rng.uniform(-2.0, 3.0), 2)
        samples.append(HourlySample(timestamp, cpu_avg, cpu_min, cpu_max, net_in, net_out, memory))
    return samples


def _cpu(avg: float, low: float, high: float) -> tuple[float, float, float]:
    return round(avg, 3), round(max(0.0, low), 3), round(min(100.0, high), 3)


def _idle_hour(_ts: datetime, rng: random.Random):
    avg = rng.uniform(0.5, 2.0)
    return (
        *_cpu(avg, avg * rng.uniform(0.3, 0.7), avg * rng.uniform(1.2, 1.8)),
        round(rng.uniform(2, 8) * KB),
        round(rng.uniform(1, 6) * KB),
    )


def _nightly_batch_hour(ts: datetime, rng: random.Random):
    if ts.hour != BATCH_HOUR:
        return _idle_hour(ts, rng)
    avg = rng.uniform(86.0, 94.0)
    return (
        *_cpu(avg, rng.uniform(60.0, 75.0), rng.uniform(96.0, 100.0)),
        round(rng.uniform(3, 6) * GB),
        round(rng.uniform(1, 3) * GB),
    )


def _business_hours_hour(ts: datetime, rng: random.Random):
    if ts.weekday() < 5 and ts.hour in BUSINESS_HOURS:
        avg = rng.uniform(35.0, 60.0)
        return (
            *_cpu(avg, avg * rng.uniform(0.4, 0.7), avg + rng.uniform(10.0, 25.0)),
            round(rng.uniform(200, 800) * MB),
            round(rng.uniform(300, 900) * MB),
        )
    avg = rng.uniform(2.0, 5.0)
    return (
        *_cpu(avg, avg * 0.5, avg + rng.uniform(1.0, 4.0)),
        round(rng.uniform(1, 5) * MB),
        round(rng.uniform(1, 5) * MB),
    )


def _steady_busy_hour(_ts: datetime, rng: random.Random):
    avg = rng.uniform(60.0, 85.0)
    return (
        *_cpu(avg, avg - rng.uniform(10.0, 20.0), avg + rng.uniform(5.0, 15.0)),
        round(rng.uniform(1, 3) * GB),
        round(rng.uniform(1.5, 4) * GB),
    )


def _oversized_hour(_ts: datetime, rng: random.Random):
    # Hourly maximum stays under avg + 10 <= 25 %: small enough for a size down, never idle.
    avg = rng.uniform(8.0, 15.0)
    return (
        *_cpu(avg, avg * rng.uniform(0.5, 0.8), avg + rng.uniform(3.0, 10.0)),
        round(rng.uniform(50, 200) * MB),
        round(rng.uniform(50, 200) * MB),
    )


_PROFILES = {
    PROFILE_IDLE: _idle_hour,
    PROFILE_NIGHTLY_BATCH: _nightly_batch_hour,
    PROFILE_BUSINESS_HOURS: _business_hours_hour,
    PROFILE_STEADY_BUSY: _steady_busy_hour,
    PROFILE_OVERSIZED: _oversized_hour,
}


def _statistic_values(total: float, minimum: float, maximum: float, samples: int) -> dict:
    return {"SampleCount": samples, "Sum": total, "Minimum": minimum, "Maximum": maximum}


def metric_data(instance_id: str, samples: list[HourlySample]) -> dict[str, list[dict]]:
    """PutMetricData items by namespace, one aggregated statistic set per metric and hour."""
    dimensions = [{"Name": "InstanceId", "Value": instance_id}]
    by_namespace: dict[str, list[dict]] = defaultdict(list)
    for s in samples:
        common = {"Dimensions": dimensions, "Timestamp": s.timestamp}
        cpu = _statistic_values(
            s.cpu_average * SAMPLES_PER_HOUR, s.cpu_minimum, s.cpu_maximum, SAMPLES_PER_HOUR
        )
        by_namespace["AWS/EC2"].append(
            {**common, "MetricName": "CPUUtilization", "StatisticValues": cpu, "Unit": "Percent"}
        )
        for name, total in (("NetworkIn", s.network_in), ("NetworkOut", s.network_out)):
            # Bursty traffic: the busiest 5 minutes carry more than their share of the hour.
            per_sample = total / SAMPLES_PER_HOUR
            stats = _statistic_values(total, per_sample * 0.6, per_sample * 1.7, SAMPLES_PER_HOUR)
            by_namespace["AWS/EC2"].append(
                {**common, "MetricName": name, "StatisticValues": stats, "Unit": "Bytes"}
            )
        if s.memory_percent is not None:
            memory = _statistic_values(
                s.memory_percent * AGENT_SAMPLES_PER_HOUR,
                s.memory_percent - 1.5,
                s.memory_percent + 2.5,
                AGENT_SAMPLES_PER_HOUR,
            )
            by_namespace["CWAgent"].append(
                {
                    **common,
                    "MetricName": "mem_used_percent",
                    "StatisticValues": memory,
                    "Unit": "Percent",
                }
            )
    return dict(by_namespace)


def put_metric_data(cloudwatch, items_by_namespace: dict[str, list[dict]]) -> int:
    """Publish the items in batches CloudWatch accepts; returns how many were put."""
    count = 0
    for namespace, items in items_by_namespace.items():
        for start in range(0, len(items), PUT_METRIC_BATCH):
            batch = items[start : start + PUT_METRIC_BATCH]
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)
            count += len(batch)
    return count
