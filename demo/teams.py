"""The demo's allocation story: two teams, tagged and untagged spend, a shared support charge.

Cost Explorer reports tags only when asked, one key per request, grouped by SERVICE and TAG
(costs/ingest/explorer.py): after each account's two cost pages the seeder queues one page per
tag key, in the order the sync asks for them (sorted). The "Team" dimension then reads:
the team tag (case aside, "pay" meaning payments), else the account (Staging is search's), else
Unallocated; AWS Support is split among the teams in proportion to their spend.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from demo.costs import (
    CE_DAYS,
    CE_ESTIMATED_DAYS,
    CE_METRIC,
    EC2_COMPUTE,
    EC2_OTHER,
    LAMBDA,
    RDS,
    S3,
    SUPPORT,
    ce_period,
    daily_costs,
)
from demo.spec import DEMO_ACCOUNTS, PRODUCTION, STAGING

TEAM_KEY = "team"
ENV_KEY = "env"
DEMO_TAG_KEYS = tuple(sorted((TEAM_KEY, ENV_KEY)))  # the sync's order
TEAM_DIMENSION = "Team"
PAYMENTS, SEARCH = "payments", "search"
TEAM_ALIASES = {"pay": PAYMENTS}
ACCOUNT_TEAMS = {STAGING.account_id: SEARCH}
SUPPORT_SPLIT = "AWS Support"

# The share of an account's daily service cost each raw team tag value has (as people typed
# them: "Search", "pay"); the rest is untagged.
TEAM_TAGS: dict[str, dict[str, dict[str, str]]] = {
    PRODUCTION.account_id: {
        EC2_COMPUTE: {"payments": "0.45", "Search": "0.25", "pay": "0.10"},
        EC2_OTHER: {"payments": "0.50", "search": "0.30"},
        S3: {"search": "0.60"},
        RDS: {"payments": "0.70", "search": "0.30"},
        LAMBDA: {"payments": "1"},
    },
    STAGING.account_id: {EC2_COMPUTE: {"payments": "0.50"}},
}
# The share of every service's cost tagged with the account's environment.
ENV_TAGGED = {PRODUCTION.account_id: "0.80", STAGING.account_id: "1"}
_PLACES = Decimal("0.00000001")


def tag_shares(account_id: str, key: str, service: str) -> dict[str, Decimal]:
    if key == TEAM_KEY:
        shares = TEAM_TAGS.get(account_id, {}).get(service, {})
        return {value: Decimal(share) for value, share in shares.items()}
    environment = next(a.environment for a in DEMO_ACCOUNTS if a.account_id == account_id)
    tagged = ENV_TAGGED.get(account_id, "0.50")
    return {environment: Decimal(tagged)} if service != SUPPORT else {}


def tag_pages(account_id: str, today: date, days: int = CE_DAYS) -> list[dict]:
    """One GetCostAndUsage page per tag key (DAILY, grouped by SERVICE and TAG): each day's
    service cost, all regions, split by the key's values; "<key>$" is the untagged rest."""
    by_service: dict[tuple[date, str], Decimal] = {}
    for (day, service, _), amount in daily_costs(account_id, today, days).items():
        by_service[(day, service)] = by_service.get((day, service), Decimal(0)) + amount
    start, end = ce_period(today, days)
    estimated_from = end - timedelta(days=CE_ESTIMATED_DAYS)
    pages = []
    for key in DEMO_TAG_KEYS:
        results = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            groups = []
            for (d, service), total in sorted(by_service.items()):
                if d != day:
                    continue
                parts = {
                    value: (total * share).quantize(_PLACES)
                    for value, share in tag_shares(account_id, key, service).items()
                }
                parts[""] = total - sum(parts.values(), Decimal(0))
                groups += [
                    {
                        "Keys": [service, f"{key}${value}"],
                        "Metrics": {CE_METRIC: {"Amount": str(amount), "Unit": "USD"}},
                    }
                    for value, amount in parts.items()
                    if amount > 0
                ]
            results.append(
                {
                    "TimePeriod": {
                        "Start": day.isoformat(),
                        "End": (day + timedelta(days=1)).isoformat(),
                    },
                    "Total": {},
                    "Groups": groups,
                    "Estimated": day >= estimated_from,
                }
            )
        group_by = [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": key}]
        pages.append(
            {"GroupDefinitions": group_by, "DimensionValueAttributes": [], "ResultsByTime": results}
        )
    return pages


def ensure_demo_allocation(organization, today: date) -> None:
    """The tag keys, the Team dimension with its rules and support split (created once, then
    left as people edit them), and its rollups over the demo's window."""
    from allocation import engine
    from allocation.models import AllocationRule, Dimension, SharedCostSplit
    from costs.models import TagKey

    for key in DEMO_TAG_KEYS:
        TagKey.objects.get_or_create(organization=organization, key=key)
    team, created = Dimension.objects.get_or_create(
        organization=organization, slug=TEAM_DIMENSION.lower(), defaults={"name": TEAM_DIMENSION}
    )
    if created:
        rules = [
            AllocationRule(
                dimension=team,
                position=0,
                kind=AllocationRule.Kind.TAG,
                tag_key=TEAM_KEY,
                mapping=TEAM_ALIASES,
            ),
            AllocationRule(
                dimension=team, position=1, kind=AllocationRule.Kind.ACCOUNT, mapping=ACCOUNT_TEAMS
            ),
        ]
        split = SharedCostSplit(
            dimension=team,
            name=SUPPORT_SPLIT,
            services=[SUPPORT],
            method=SharedCostSplit.Method.PROPORTIONAL,
        )
        for item in (*rules, split):
            item.full_clean()  # the demo's rules pass the checks people's rules do
            item.save()
    start, end = ce_period(today)
    # Cost Explorer's estimated today is synced too: the window runs through it.
    engine.refresh(organization, start, end, dimensions=[team])
