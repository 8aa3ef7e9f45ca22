"""The demo's Cost Explorer bill: 90 days of daily costs by service and region, one spike, and
the GetCostAndUsage pages queued in moto for the sync to read.

Deterministic: a random generator seeded per cost line, so two seeds on the same day queue the
same amounts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import urllib3

from demo.emulator import DemoSeedError
from demo.spec import DEVELOPMENT, PRODUCTION, STAGING

CE_DAYS = 90
CE_ESTIMATED_DAYS = 2
CE_METRIC = "UnblendedCost"
CE_GROUP_BY = ({"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "REGION"})


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
SUPPORT = "AWS Support (Business)"  # billed to the whole organisation: shared by the teams

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
        CostLine(SUPPORT, "NoRegion", Decimal("3.30")),
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


def queue_cost_and_usage(endpoint_url: str, account_id: str, results: list[dict]) -> None:
    """Queue canned GetCostAndUsage responses for ACCOUNT_ID in moto (oldest request first)."""
    url = f"{endpoint_url.rstrip('/')}/moto-api/static/ce/cost-and-usage-results"
    response = urllib3.request(
        "POST", url, json={"account_id": account_id, "results": results}, timeout=10.0
    )
    if response.status != 201:
        raise DemoSeedError(f"moto refused the Cost Explorer results ({response.status}).")
