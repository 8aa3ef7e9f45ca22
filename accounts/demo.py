"""The demo organisation's AWS side, and the seeder that writes it into the local emulator.

The spec (accounts, fleet, waste, metric profiles, daily costs) is plain data so later code and
tests can import it and know what the pipeline must find: every instance carries the verdict
the detection rules are expected to reach. ``seed_emulator`` writes that spec into moto's server
mode only: it refuses an endpoint that does not answer moto's own API, so it can never touch a
real AWS account.

Everything is deterministic (random generators seeded per instance or cost line, timestamps
derived from ``now``), so two seeds with the same ``now`` produce the same numbers.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import urllib3
from django.conf import settings
from django.test import override_settings

from accounts import aws

DEMO_ORG_SLUG = "demo"
DEMO_ORG_NAME = "Demo Organisation"
DEMO_ROLE_NAME = "SpendlensAccess"
# Every resource the seeder creates carries this tag: it is how a second run recognises its work.
DEMO_KEY_TAG = "spendlens:demo-key"
PROTECT_TAG = "spendlens:protect"
ASG_NAME_TAG = "aws:autoscaling:groupName"

METRIC_DAYS = 14
CE_DAYS = 90
CE_ESTIMATED_DAYS = 2
CE_METRIC = "UnblendedCost"
CE_GROUP_BY = ({"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "REGION"})
# CloudWatch accepts at most 1,000 MetricData items per PutMetricData call.
PUT_METRIC_BATCH = 1000
# Basic monitoring publishes a datapoint every 5 minutes: 12 samples make one hourly statistic.
SAMPLES_PER_HOUR = 12
# The CloudWatch agent's default collection interval is 60 s.
AGENT_SAMPLES_PER_HOUR = 60

KB = 1024
MB = 1024 * KB
GB = 1024 * MB

# The verdicts the detection pipeline must reach for each demo instance.
IDLE = "idle"
NOT_IDLE = "not_idle"
RIGHTSIZE = "rightsize"
NOT_ENOUGH_DATA = "not_enough_data"
PROTECTED = "protected"
ASG_MEMBER = "asg_member"
VERDICTS = (IDLE, NOT_IDLE, RIGHTSIZE, NOT_ENOUGH_DATA, PROTECTED, ASG_MEMBER)

# Hourly usage shapes, see ``hourly_samples``.
PROFILE_IDLE = "idle"
PROFILE_NIGHTLY_BATCH = "nightly_batch"
PROFILE_BUSINESS_HOURS = "business_hours"
PROFILE_STEADY_BUSY = "steady_busy"
PROFILE_OVERSIZED = "oversized"
# The nightly batch runs in the 02:00 UTC hour; business hours are 09:00-18:00 UTC, Mon-Fri.
BATCH_HOUR = 2
BUSINESS_HOURS = range(9, 18)


class DemoSeedError(RuntimeError):
    """The emulator is missing, is not moto, or answered as the wrong account."""


# --- The spec --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    name: str
    regions: tuple[str, ...]
    environment: str

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{DEMO_ROLE_NAME}"


@dataclass(frozen=True)
class DemoInstance:
    key: str
    name: str
    account_id: str
    region: str
    instance_type: str
    profile: str
    expected: str
    tags: Mapping[str, str] = field(default_factory=dict)
    metric_hours: int = METRIC_DAYS * 24
    # The CloudWatch agent's mem_used_percent, published only where an agent is installed.
    memory_percent: float | None = None
    auto_scaling_group: str | None = None


@dataclass(frozen=True)
class DemoVolume:
    key: str
    name: str
    account_id: str
    region: str
    volume_type: str
    size_gib: int
    attach_to: str | None = None  # a DemoInstance key


@dataclass(frozen=True)
class DemoAddress:
    key: str
    name: str
    account_id: str
    region: str
    associate_with: str | None = None  # a DemoInstance key


PRODUCTION = DemoAccount("111111111111", "Production", ("us-east-1", "eu-west-1"), "production")
STAGING = DemoAccount("222222222222", "Staging", ("us-east-1",), "staging")
DEVELOPMENT = DemoAccount("333333333333", "Development", ("us-east-1",), "development")
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (PRODUCTION, STAGING, DEVELOPMENT)

DEMO_INSTANCES: tuple[DemoInstance, ...] = (
    DemoInstance(
        key="idle-dev-box",
        name="dev-sandbox-01",
        account_id=DEVELOPMENT.account_id,
        region="us-east-1",
        instance_type="t3.large",
        profile=PROFILE_IDLE,
        expected=IDLE,
        tags={"Team": "web", "Owner": "alice"},
    ),
    DemoInstance(
        key="nightly-batch",
        name="batch-reports-01",
        account_id=PRODUCTION.account_id,
        region="us-east-1",
        instance_type="m5.xlarge",
        profile=PROFILE_NIGHTLY_BATCH,
        expected=NOT_IDLE,
        tags={"Team": "data"},
    ),
    DemoInstance(
        key="business-hours",
        name="intranet-app-01",
        account_id=PRODUCTION.account_id,
        region="us-east-1",
        instance_type="m5.large",
        profile=PROFILE_BUSINESS_HOURS,
        expected=NOT_IDLE,
        tags={"Team": "internal-tools"},
    ),
    DemoInstance(
        key="steady-busy",
        name="api-eu-01",
        account_id=PRODUCTION.account_id,
        region="eu-west-1",
        instance_type="c5.xlarge",
        profile=PROFILE_STEADY_BUSY,
        expected=NOT_IDLE,
        tags={"Team": "api"},
    ),
    DemoInstance(
        key="oversized",
        name="reporting-db-proxy-01",
        account_id=PRODUCTION.account_id,
        region="us-east-1",
        instance_type="m5.2xlarge",
        profile=PROFILE_OVERSIZED,
        expected=RIGHTSIZE,
        tags={"Team": "data"},
        memory_percent=20.0,
    ),
    DemoInstance(
        key="new-box",
        name="staging-worker-02",
        account_id=STAGING.account_id,
        region="us-east-1",
        instance_type="t3.medium",
        # Idle-looking on purpose: two days are too few to call it idle.
        profile=PROFILE_IDLE,
        expected=NOT_ENOUGH_DATA,
        tags={"Team": "api"},
        metric_hours=2 * 24,
    ),
    DemoInstance(
        key="protected-idle",
        name="dr-standby-01",
        account_id=PRODUCTION.account_id,
        region="us-east-1",
        instance_type="t3.large",
        profile=PROFILE_IDLE,
        expected=PROTECTED,
        tags={"Team": "platform", PROTECT_TAG: "true"},
    ),
    DemoInstance(
        key="asg-idle",
        name="queue-consumer",
        account_id=PRODUCTION.account_id,
        region="us-east-1",
        instance_type="t3.small",
        profile=PROFILE_IDLE,
        expected=ASG_MEMBER,
        tags={"Team": "platform"},
        auto_scaling_group="queue-consumers",
    ),
)

DEMO_VOLUMES: tuple[DemoVolume, ...] = (
    DemoVolume("orphan-gp2", "old-build-cache", PRODUCTION.account_id, "us-east-1", "gp2", 100),
    DemoVolume("orphan-gp3", "scratch-restore", DEVELOPMENT.account_id, "us-east-1", "gp3", 50),
    DemoVolume(
        "attached-gp2",
        "intranet-data",
        PRODUCTION.account_id,
        "us-east-1",
        "gp2",
        200,
        attach_to="business-hours",
    ),
)

DEMO_ADDRESSES: tuple[DemoAddress, ...] = (
    DemoAddress("orphan-eip", "old-vpn-endpoint", PRODUCTION.account_id, "us-east-1"),
    DemoAddress(
        "intranet-eip",
        "intranet-public",
        PRODUCTION.account_id,
        "us-east-1",
        associate_with="business-hours",
    ),
)


def demo_account(account_id: str) -> DemoAccount:
    for account in DEMO_ACCOUNTS:
        if account.account_id == account_id:
            return account
    raise KeyError(account_id)


def demo_instance(key: str) -> DemoInstance:
    for member in DEMO_INSTANCES:
        if member.key == key:
            return member
    raise KeyError(key)


def instances_in(account_id: str, region: str | None = None) -> list[DemoInstance]:
    return [
        m
        for m in DEMO_INSTANCES
        if m.account_id == account_id and (region is None or m.region == region)
    ]


def placeholder_external_id(account_id: str) -> str:
    # Stable so that re-running the seeder without registered accounts keeps the same trust.
    return f"spendlens-demo-{account_id}"


def trust_policy(platform_account_id: str, external_id: str) -> dict:
    """What the customer-role Terraform module creates: only Spendlens, only with its ExternalId."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{platform_account_id}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


# --- Metrics ---------------------------------------------------------------------------------


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


# --- Cost Explorer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    """One SERVICE x REGION group of an account's daily bill."""

    service: str
    region: str
    weekday_usd: Decimal
    weekend_factor: Decimal = Decimal("1")


@dataclass(frozen=True)
class CostSpike:
    account_id: str
    service: str
    region: str
    days_ago: int
    factor: Decimal

    def day(self, today: date) -> date:
        return today - timedelta(days=self.days_ago)


EC2_COMPUTE = "Amazon Elastic Compute Cloud - Compute"
EC2_OTHER = "EC2 - Other"
S3 = "Amazon Simple Storage Service"
RDS = "Amazon Relational Database Service"
CLOUDWATCH = "AmazonCloudWatch"
LAMBDA = "AWS Lambda"

_WEEKEND_QUIET = Decimal("0.65")
_WEEKEND_OFF = Decimal("0.35")

DEMO_COST_LINES: dict[str, tuple[CostLine, ...]] = {
    PRODUCTION.account_id: (
        CostLine(EC2_COMPUTE, "us-east-1", Decimal("48.20"), _WEEKEND_QUIET),
        CostLine(EC2_COMPUTE, "eu-west-1", Decimal("16.40"), _WEEKEND_QUIET),
        CostLine(EC2_OTHER, "us-east-1", Decimal("9.75")),
        CostLine(EC2_OTHER, "eu-west-1", Decimal("2.10")),
        CostLine(S3, "us-east-1", Decimal("6.30")),
        CostLine(RDS, "us-east-1", Decimal("31.50")),
        CostLine(CLOUDWATCH, "us-east-1", Decimal("3.40"), _WEEKEND_QUIET),
        CostLine(LAMBDA, "us-east-1", Decimal("1.85"), _WEEKEND_QUIET),
    ),
    STAGING.account_id: (
        CostLine(EC2_COMPUTE, "us-east-1", Decimal("12.60"), _WEEKEND_OFF),
        CostLine(EC2_OTHER, "us-east-1", Decimal("2.40")),
        CostLine(RDS, "us-east-1", Decimal("7.80")),
        CostLine(CLOUDWATCH, "us-east-1", Decimal("0.90"), _WEEKEND_OFF),
    ),
    DEVELOPMENT.account_id: (
        CostLine(EC2_COMPUTE, "us-east-1", Decimal("8.90"), _WEEKEND_OFF),
        CostLine(EC2_OTHER, "us-east-1", Decimal("1.70")),
        CostLine(S3, "us-east-1", Decimal("0.95")),
        CostLine(LAMBDA, "us-east-1", Decimal("0.40"), _WEEKEND_OFF),
    ),
}

# A runaway job in Production: one day's EC2 compute at 4.5x, inside the last two weeks and
# before the estimated days, so a spike alert can fire on final numbers.
COST_SPIKE = CostSpike(PRODUCTION.account_id, EC2_COMPUTE, "us-east-1", 5, Decimal("4.5"))

# CE reports amounts with up to ten decimal places; eight keep the demo realistic and exact.
_AMOUNT_PLACES = Decimal("0.00000001")


def ce_period(today: date, days: int = CE_DAYS) -> tuple[date, date]:
    """[start, end) of the daily costs: the DAYS full days before TODAY (CE's End is exclusive)."""
    return today - timedelta(days=days), today


def daily_costs(
    account_id: str, today: date, days: int = CE_DAYS
) -> dict[tuple[date, str, str], Decimal]:
    """{(day, service, region): UnblendedCost in USD} for the account's demo bill."""
    start, _ = ce_period(today, days)
    costs: dict[tuple[date, str, str], Decimal] = {}
    for line in DEMO_COST_LINES[account_id]:
        # Not for security: a fixed seed per cost line keeps the bill repeatable.
        rng = random.Random(f"spendlens-demo:{account_id}:{line.service}:{line.region}")  # noqa: S311
        for offset in range(days):
            day = start + timedelta(days=offset)
            amount = line.weekday_usd * Decimal(str(round(rng.uniform(0.93, 1.07), 4)))
            if day.weekday() >= 5:
                amount *= line.weekend_factor
            if (account_id, line.service, line.region) == (
                COST_SPIKE.account_id,
                COST_SPIKE.service,
                COST_SPIKE.region,
            ) and day == COST_SPIKE.day(today):
                amount *= COST_SPIKE.factor
            costs[(day, line.service, line.region)] = amount.quantize(_AMOUNT_PLACES)
    return costs


def next_page_token(account_id: str) -> str:
    return f"spendlens-demo-{account_id}-page-2"


def cost_and_usage_pages(account_id: str, today: date, days: int = CE_DAYS) -> list[dict]:
    """Two GetCostAndUsage responses (DAILY, grouped by SERVICE and REGION) for the account.

    The first page carries a NextPageToken and the first half of the days; the second page
    completes them. The newest CE_ESTIMATED_DAYS days are marked Estimated, as AWS does while
    the month's bill is still settling.
    """
    costs = daily_costs(account_id, today, days)
    start, end = ce_period(today, days)
    estimated_from = end - timedelta(days=CE_ESTIMATED_DAYS)
    results = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        groups = [
            {
                "Keys": [service, region],
                "Metrics": {CE_METRIC: {"Amount": str(amount), "Unit": "USD"}},
            }
            for (d, service, region), amount in costs.items()
            if d == day
        ]
        results.append(
            {
                "TimePeriod": {
                    "Start": day.isoformat(),
                    "End": (day + timedelta(days=1)).isoformat(),
                },
                # AWS leaves Total empty when the results are grouped.
                "Total": {},
                "Groups": groups,
                "Estimated": day >= estimated_from,
            }
        )
    half = (days + 1) // 2
    page = {"GroupDefinitions": [dict(g) for g in CE_GROUP_BY], "DimensionValueAttributes": []}
    return [
        {**page, "ResultsByTime": results[:half], "NextPageToken": next_page_token(account_id)},
        {**page, "ResultsByTime": results[half:]},
    ]


# --- Seeding ---------------------------------------------------------------------------------


@dataclass
class AccountReport:
    account_id: str
    name: str
    skipped: bool = False
    instances: dict[str, str] = field(default_factory=dict)  # key -> instance id
    instances_by_region: dict[str, int] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)  # key -> volume id
    addresses: dict[str, str] = field(default_factory=dict)  # key -> allocation id
    metric_datapoints: int = 0
    ce_days: int = 0


@dataclass
class SeedReport:
    endpoint_url: str
    accounts: list[AccountReport] = field(default_factory=list)

    @property
    def instance_ids(self) -> dict[str, str]:
        return {k: v for a in self.accounts for k, v in a.instances.items()}

    @property
    def seeded(self) -> list[AccountReport]:
        return [a for a in self.accounts if not a.skipped]

    @property
    def skipped(self) -> list[AccountReport]:
        return [a for a in self.accounts if a.skipped]


def check_emulator(endpoint_url: str, timeout: float = 3.0) -> None:
    """Raise DemoSeedError unless ENDPOINT_URL is a moto server (never seed real AWS)."""
    url = f"{endpoint_url.rstrip('/')}/moto-api/"
    try:
        response = urllib3.request("GET", url, timeout=timeout, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        raise DemoSeedError(f"The AWS emulator at {endpoint_url} does not answer: {exc}") from exc
    if response.status != 200:
        raise DemoSeedError(
            f"{endpoint_url} answered {response.status} to {url}: it is not a moto server."
        )


def seed_emulator(
    endpoint_url: str,
    external_ids: dict[str, str] | None = None,
    now: datetime | None = None,
) -> SeedReport:
    """Write the demo organisation into the moto server at ENDPOINT_URL.

    EXTERNAL_IDS maps account ids to the ExternalIds Spendlens generated when the accounts were
    registered; accounts without one get a placeholder. An account that already holds demo
    instances is left as it is (only its role's trust policy is refreshed).
    """
    now = as_utc(now or datetime.now(UTC))
    external_ids = external_ids or {}
    check_emulator(endpoint_url)
    report = SeedReport(endpoint_url=endpoint_url)
    with _pointed_at(endpoint_url):
        # Cached credentials may come from an emulator that has since been reset; moto treats
        # unknown keys as its default account, so stale ones would silently seed the wrong one.
        aws.clear_credential_cache()
        platform_account_id = aws.platform_client("sts").get_caller_identity()["Account"]
        for account in DEMO_ACCOUNTS:
            external_id = external_ids.get(account.account_id) or placeholder_external_id(
                account.account_id
            )
            report.accounts.append(
                _seed_account(account, external_id, platform_account_id, endpoint_url, now)
            )
    return report


@contextmanager
def _pointed_at(endpoint_url: str) -> Iterator[None]:
    # accounts.aws reads the endpoint from settings; make it the emulator for this run.
    if endpoint_url == settings.AWS_ENDPOINT_URL:
        yield
        return
    with override_settings(AWS_ENDPOINT_URL=endpoint_url):
        yield


class _AccountClients:
    """Clients acting inside one demo account, sharing one assumed-role session.

    One session per account: botocore caches service models per session, and loading the EC2
    model again for every region would make up most of a seed's run time.
    """

    def __init__(self, account: DemoAccount, external_id: str):
        self._session = aws.assumed_session(account.role_arn, external_id, label="demo-seed")
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str = "us-east-1"):
        if (service, region) not in self._clients:
            self._clients[(service, region)] = aws.client(self._session, service, region)
        return self._clients[(service, region)]


def _seed_account(
    account: DemoAccount,
    external_id: str,
    platform_account_id: str,
    endpoint_url: str,
    now: datetime,
) -> AccountReport:
    client = _AccountClients(account, external_id)
    _ensure_role(client, account, external_id, platform_account_id)
    report = AccountReport(account.account_id, account.name)
    existing = _existing_demo_instances(client, account)
    if existing:
        report.skipped = True
        report.instances = existing
        return report
    for region in account.regions:
        _seed_region(client, account, region, now, report)
    pages = cost_and_usage_pages(account.account_id, now.date())
    queue_cost_and_usage(endpoint_url, account.account_id, pages)
    report.ce_days = sum(len(p["ResultsByTime"]) for p in pages)
    return report


def _ensure_role(
    client: _AccountClients, account: DemoAccount, external_id: str, platform_account_id: str
) -> None:
    # moto lets any role be assumed, which is how the seeder gets into an empty account to
    # create the role that real customers create with terraform/customer-role.
    iam = client("iam")
    policy = json.dumps(trust_policy(platform_account_id, external_id))
    try:
        role = iam.create_role(
            RoleName=DEMO_ROLE_NAME,
            AssumeRolePolicyDocument=policy,
            Description="Spendlens read access and safe instance actions (demo)",
        )["Role"]
    except iam.exceptions.EntityAlreadyExistsException:
        # A re-registered account gets a new ExternalId: keep the trust current.
        iam.update_assume_role_policy(RoleName=DEMO_ROLE_NAME, PolicyDocument=policy)
        role = iam.get_role(RoleName=DEMO_ROLE_NAME)["Role"]
    # moto maps credentials it does not know to its default account; seeding that by mistake
    # would scatter the demo fleet into the platform's own account.
    if role["Arn"] != account.role_arn:
        raise DemoSeedError(
            f"Acting as {account.role_arn} created {role['Arn']}: "
            "the emulator did not switch accounts."
        )


def _existing_demo_instances(client: _AccountClients, account: DemoAccount) -> dict[str, str]:
    found = {}
    for region in account.regions:
        paginator = client("ec2", region).get_paginator("describe_instances")
        pages = paginator.paginate(
            Filters=[
                {"Name": "tag-key", "Values": [DEMO_KEY_TAG]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]},
            ]
        )
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                    found[tags[DEMO_KEY_TAG]] = instance["InstanceId"]
    return found


def _tags(
    account: DemoAccount, key: str, name: str, extra: Mapping[str, str] | None = None
) -> list[dict]:
    tags = {"Name": name, "Environment": account.environment, DEMO_KEY_TAG: key, **(extra or {})}
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _seed_region(
    client: _AccountClients,
    account: DemoAccount,
    region: str,
    now: datetime,
    report: AccountReport,
) -> None:
    ec2 = client("ec2", region)
    members = instances_in(account.account_id, region)
    image_id = _demo_image(ec2) if members else ""
    instance_ids: dict[str, str] = {}
    for member in members:
        if member.auto_scaling_group:
            instance_ids[member.key] = _launch_asg_member(client, account, member, image_id)
        else:
            instance_ids[member.key] = _launch_instance(ec2, account, member, image_id)
    report.instances.update(instance_ids)
    if members:
        report.instances_by_region[region] = len(members)

    for volume in DEMO_VOLUMES:
        if (volume.account_id, volume.region) == (account.account_id, region):
            report.volumes[volume.key] = _create_volume(ec2, account, volume, instance_ids)
    for address in DEMO_ADDRESSES:
        if (address.account_id, address.region) == (account.account_id, region):
            report.addresses[address.key] = _allocate_address(ec2, account, address, instance_ids)

    cloudwatch = client("cloudwatch", region)
    for member in members:
        items = metric_data(instance_ids[member.key], hourly_samples(member, now))
        report.metric_datapoints += put_metric_data(cloudwatch, items)


def _demo_image(ec2) -> str:
    # The newest Amazon Linux 2023 image, looked up the way a user would rather than pinned,
    # so the seed also works with moto's AMI validation switched on.
    images = ec2.describe_images(
        Owners=["amazon"],
        Filters=[
            {"Name": "name", "Values": ["al2023-ami-2023.*-x86_64"]},
            {"Name": "state", "Values": ["available"]},
        ],
    )["Images"]
    if not images:
        raise DemoSeedError("The emulator lists no Amazon Linux 2023 image to launch from.")
    return max(images, key=lambda image: (image.get("CreationDate", ""), image["ImageId"]))[
        "ImageId"
    ]


# gp3 roots, as today's AMIs default to: the only gp2 volume in the demo is the deliberate one.
_ROOT_VOLUME = [
    {
        "DeviceName": "/dev/xvda",
        "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True},
    }
]


def _root_volume_tags(account: DemoAccount, member: DemoInstance) -> list[dict]:
    return _tags(account, f"{member.key}-root", f"{member.name}-root", member.tags)


def _launch_instance(ec2, account: DemoAccount, member: DemoInstance, image_id: str) -> str:
    response = ec2.run_instances(
        ImageId=image_id,
        InstanceType=member.instance_type,
        MinCount=1,
        MaxCount=1,
        BlockDeviceMappings=_ROOT_VOLUME,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": _tags(account, member.key, member.name, member.tags),
            },
            {"ResourceType": "volume", "Tags": _root_volume_tags(account, member)},
        ],
    )
    return response["Instances"][0]["InstanceId"]


def _launch_asg_member(
    client: _AccountClients, account: DemoAccount, member: DemoInstance, image_id: str
) -> str:
    ec2 = client("ec2", member.region)
    template_name = f"{member.auto_scaling_group}-template"
    ec2.create_launch_template(
        LaunchTemplateName=template_name,
        LaunchTemplateData={
            "ImageId": image_id,
            "InstanceType": member.instance_type,
            "BlockDeviceMappings": _ROOT_VOLUME,
        },
        TagSpecifications=[
            {
                "ResourceType": "launch-template",
                "Tags": _tags(account, member.key, template_name),
            }
        ],
    )
    # Tags propagated at launch put the Name and demo key on the instance the group starts;
    # the group itself adds aws:autoscaling:groupName.
    group_tags = [
        {**tag, "PropagateAtLaunch": True}
        for tag in _tags(account, member.key, member.name, member.tags)
    ]
    autoscaling = client("autoscaling", member.region)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=member.auto_scaling_group,
        LaunchTemplate={"LaunchTemplateName": template_name, "Version": "$Latest"},
        MinSize=1,
        MaxSize=3,
        DesiredCapacity=1,
        AvailabilityZones=[f"{member.region}a"],
        Tags=group_tags,
    )
    group = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[member.auto_scaling_group]
    )["AutoScalingGroups"][0]
    if len(group["Instances"]) != 1:
        raise DemoSeedError(
            f"Auto Scaling group {member.auto_scaling_group} started "
            f"{len(group['Instances'])} instances instead of 1."
        )
    instance_id = group["Instances"][0]["InstanceId"]
    _tidy_asg_volumes(ec2, account, member, instance_id)
    return instance_id


def _tidy_asg_volumes(ec2, account: DemoAccount, member: DemoInstance, instance_id: str) -> None:
    # moto gives an Auto Scaling instance its template's volumes *and* a default 8 GiB gp2
    # root on /dev/sda1. Drop that extra one so the demo's only attached gp2 volume is the
    # deliberate one, and tag the rest like every other root volume.
    volumes = ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
    )["Volumes"]
    template_devices = {mapping["DeviceName"] for mapping in _ROOT_VOLUME}
    keep = []
    for volume in volumes:
        device = volume["Attachments"][0]["Device"]
        if device in template_devices:
            keep.append(volume["VolumeId"])
            continue
        ec2.detach_volume(VolumeId=volume["VolumeId"], InstanceId=instance_id, Force=True)
        ec2.delete_volume(VolumeId=volume["VolumeId"])
    if keep:
        ec2.create_tags(Resources=keep, Tags=_root_volume_tags(account, member))


def _availability_zone(ec2, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["Placement"]["AvailabilityZone"]


def _create_volume(
    ec2, account: DemoAccount, volume: DemoVolume, instance_ids: dict[str, str]
) -> str:
    attach_to = instance_ids[volume.attach_to] if volume.attach_to else None
    zone = _availability_zone(ec2, attach_to) if attach_to else f"{volume.region}a"
    response = ec2.create_volume(
        AvailabilityZone=zone,
        Size=volume.size_gib,
        VolumeType=volume.volume_type,
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": _tags(account, volume.key, volume.name)}
        ],
    )
    volume_id = response["VolumeId"]
    if attach_to:
        ec2.attach_volume(VolumeId=volume_id, InstanceId=attach_to, Device="/dev/sdf")
    return volume_id


def _allocate_address(
    ec2, account: DemoAccount, address: DemoAddress, instance_ids: dict[str, str]
) -> str:
    response = ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": _tags(account, address.key, address.name)}
        ],
    )
    allocation_id = response["AllocationId"]
    if address.associate_with:
        ec2.associate_address(
            AllocationId=allocation_id, InstanceId=instance_ids[address.associate_with]
        )
    return allocation_id


def put_metric_data(cloudwatch, items_by_namespace: dict[str, list[dict]]) -> int:
    """Publish the items in batches CloudWatch accepts; returns how many were put."""
    count = 0
    for namespace, items in items_by_namespace.items():
        for start in range(0, len(items), PUT_METRIC_BATCH):
            batch = items[start : start + PUT_METRIC_BATCH]
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)
            count += len(batch)
    return count


def queue_cost_and_usage(endpoint_url: str, account_id: str, results: list[dict]) -> None:
    """Queue canned GetCostAndUsage responses for ACCOUNT_ID in moto (oldest request first)."""
    url = f"{endpoint_url.rstrip('/')}/moto-api/static/ce/cost-and-usage-results"
    response = urllib3.request(
        "POST", url, json={"account_id": account_id, "results": results}, timeout=10.0
    )
    if response.status != 201:
        raise DemoSeedError(f"moto refused the Cost Explorer results ({response.status}).")


def register_demo_organization() -> dict:
    """The database side of the demo: the organisation and its three connected accounts.

    Idempotent: accounts are matched by ID and keep the ExternalId the server generated the
    first time, which seed_emulator then writes into each role's trust policy.
    """
    from accounts.models import CloudAccount, Organization

    organization, _ = Organization.objects.get_or_create(
        slug=DEMO_ORG_SLUG, defaults={"name": DEMO_ORG_NAME}
    )
    registered = {}
    for spec in DEMO_ACCOUNTS:
        account, _ = CloudAccount.objects.update_or_create(
            organization=organization,
            account_id=spec.account_id,
            defaults={
                "name": spec.name,
                "role_arn": spec.role_arn,
                "regions": list(spec.regions),
                "is_active": True,
            },
        )
        registered[spec.account_id] = account
    _demo_budget(organization)
    return registered


DEMO_BUDGET_USD = 4000


def _demo_budget(organization) -> None:
    """A monthly budget the demo's Cost Explorer data crosses, so budget alerts show up."""
    from alerts.models import Budget

    budget, _ = Budget.objects.get_or_create(
        organization=organization,
        name="Demo monthly budget",
        defaults={"monthly_amount": DEMO_BUDGET_USD},
    )
    budget.ensure_thresholds()
