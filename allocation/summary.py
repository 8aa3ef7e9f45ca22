"""What the views read: a dimension's spend per value, per day, per service, per resource.

Totals, trends and the service drill-down come from the allocation rollups (a few rows per
day, value and service, however big the store). The resource drill-down and the `tag:<key>`
summaries are computed from the store on demand, through the same engine as the rollups.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from allocation import engine
from allocation.models import AllocationRollup, Dimension
from allocation.rules import Cost, Rules
from costs.models import CostRecord, CostSource
from costs.summary import counted_once

UNTAGGED = "(untagged)"


def _rollups(dimension: Dimension, start: date, end: date, value: str | None = None):
    rows = AllocationRollup.objects.filter(
        dimension=dimension, usage_date__gte=start, usage_date__lte=end
    )
    return rows.filter(value=value) if value is not None else rows


def totals(dimension: Dimension, start: date, end: date) -> dict[str, Decimal]:
    """Spend per value over START..END (inclusive), biggest first."""
    rows = _rollups(dimension, start, end).values("value").annotate(amount=Sum("amount"))
    found = {row["value"]: row["amount"] for row in rows.order_by()}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class ValueBreakdown:
    direct: Decimal
    shared: Decimal

    @property
    def total(self) -> Decimal:
        return self.direct + self.shared


def breakdown(dimension: Dimension, start: date, end: date) -> dict[str, ValueBreakdown]:
    """Per value: what the rules gave it and what shared-cost splits added."""
    rows = (
        _rollups(dimension, start, end)
        .values("value")
        .annotate(
            direct=Sum("amount", filter=Q(kind=AllocationRollup.Kind.DIRECT)),
            shared=Sum("amount", filter=Q(kind=AllocationRollup.Kind.SHARED)),
        )
        .order_by()
    )
    found = {
        r["value"]: ValueBreakdown(r["direct"] or Decimal(0), r["shared"] or Decimal(0))
        for r in rows
    }
    return dict(sorted(found.items(), key=lambda kv: (-kv[1].total, kv[0])))


def daily(dimension: Dimension, start: date, end: date) -> dict[str, dict[date, Decimal]]:
    """Value -> {day: spend}: the trend chart's series."""
    series: dict[str, dict[date, Decimal]] = defaultdict(dict)
    rows = _rollups(dimension, start, end).values("value", "usage_date")
    for row in rows.annotate(amount=Sum("amount")).order_by():
        series[row["value"]][row["usage_date"]] = row["amount"]
    return dict(series)


def value_daily(dimension: Dimension, value: str, start: date, end: date) -> dict[date, Decimal]:
    """VALUE's spend per day over START..END (inclusive): a scoped budget's spend."""
    rows = _rollups(dimension, start, end, value).values("usage_date")
    return {
        row["usage_date"]: row["amount"] for row in rows.annotate(amount=Sum("amount")).order_by()
    }


def services(dimension: Dimension, value: str, start: date, end: date) -> dict[str, Decimal]:
    """VALUE's spend per service, biggest first (the first drill-down)."""
    rows = _rollups(dimension, start, end, value).values("service").annotate(amount=Sum("amount"))
    found = {row["service"]: row["amount"] for row in rows.order_by()}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


def resources(
    dimension: Dimension, value: str, start: date, end: date, service: str | None = None, limit=50
) -> list[tuple[str, str, Decimal]]:
    """VALUE's biggest resources, (resource ID, service, direct spend), from FOCUS rows: Cost
    Explorer rows carry no resource. Shared costs are divided by value, not by resource."""
    rules = Rules(dimension)
    keys = sorted(rules.tag_keys)
    records = counted_once(
        CostRecord.objects.filter(
            organization_id=dimension.organization_id,
            currency="USD",
            source=CostSource.FOCUS,
            usage_date__gte=start,
            usage_date__lte=end,
        ).exclude(resource_id="")
    )
    if service:
        records = records.filter(service=service)
    rows = (
        records.values("resource_id", "sub_account_id", "service", "charge_category", "tags")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows.iterator(chunk_size=engine.BATCH):
        row_tags = row["tags"] if isinstance(row["tags"], dict) else {}
        cost = Cost(
            row["sub_account_id"],
            row["service"],
            row["charge_category"],
            tuple((key, str(row_tags.get(key) or "")) for key in keys),
        )
        allocated, split = rules.classify(cost)
        if split is None and (allocated or dimension.unallocated_label) == value:
            found[(row["resource_id"], row["service"])] += row["amount"]
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [(resource, service, amount) for (resource, service), amount in ranked]


def tag_totals(organization, key: str, start: date, end: date) -> dict[str, Decimal]:
    """Spend per value of the tag KEY (UNTAGGED for none) over START..END."""
    allocation = engine.by_tag(organization.pk, key, start, end, UNTAGGED)
    found = allocation.by_value()
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))
