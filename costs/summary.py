"""Cost summaries: totals per group for a window, and the window before it for comparison.

Each cost is counted once: for a (sub-account, day) that a FOCUS export covers, Cost Explorer's
rows are left out (the export is the invoice); each source contributes its primary metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth

from costs.models import CostRecord, CostRollup, CostSource
from costs.money import money as money_string

GROUPS = {
    "service": "service",
    "region": "region",
    "account": "sub_account_id",
    "day": "usage_date",
    "month": "month",
}
MAX_DAYS = 400


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Window:
        end = self.start - timedelta(days=1)
        return Window(end - timedelta(days=self.days - 1), end)


def counted_once(records, start: date | None = None, end: date | None = None):
    """RECORDS without Cost Explorer rows whose (sub-account, day) a billing export covers.

    START..END (inclusive), when the caller's RECORDS are within them, bound the lookup of
    exports too: on PostgreSQL it then reads only those months' partitions.
    """
    exported = CostRecord.objects.filter(
        organization=OuterRef("organization"),
        sub_account_id=OuterRef("sub_account_id"),
        usage_date=OuterRef("usage_date"),
        source=CostSource.FOCUS,
    )
    if start is not None and end is not None:
        exported = exported.filter(usage_date__gte=start, usage_date__lte=end)
    return records.primary().filter(Q(source=CostSource.FOCUS) | ~Exists(exported))


def _grouped(rows, window: Window, field: str, group_by: str) -> tuple[dict, dict]:
    """Totals per group for WINDOW and for the window before it, in one query (a summary is
    answered on every dashboard load: one round trip and one compiled query, not two)."""
    before = window.previous()
    rows = rows.filter(usage_date__gte=before.start, usage_date__lte=window.end)
    if group_by == "month":
        rows = rows.annotate(month=TruncMonth("usage_date"))
    grouped = (
        rows.values(field)
        .annotate(
            current=Sum("amount", filter=Q(usage_date__gte=window.start)),
            previous=Sum("amount", filter=Q(usage_date__lte=before.end)),
        )
        .order_by()
    )
    current, previous = {}, {}
    for row in grouped:
        # A group without rows in one window has no total there (NULL), not a zero.
        if row["current"] is not None:
            current[_key(row[field])] = row["current"]
        if row["previous"] is not None:
            previous[_key(row[field])] = row["previous"]
    return current, previous


def totals(records, window: Window, group_by: str) -> tuple[dict, dict]:
    """(WINDOW's totals, the previous window's) per group, each cost counted once."""
    records = counted_once(records, window.previous().start, window.end)
    return _grouped(records, window, GROUPS[group_by], group_by)


def rollup_totals(organizations, window: Window, group_by: str) -> tuple[dict, dict]:
    """The same totals from CostRollup (no account/service/region filter)."""
    dimension = group_by if group_by in ("service", "region", "account") else "service"
    rows = CostRollup.objects.filter(organization__in=organizations, dimension=dimension)
    field = {"day": "usage_date", "month": "month"}.get(group_by, "key")
    return _grouped(rows, window, field, group_by)


def money(amount: Decimal | None) -> str | None:
    """Amounts as strings with cents: JSON numbers are floats and money is not."""
    return None if amount is None else money_string(amount)


def _key(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return value or ""


def summarize(organizations, window: Window, group_by: str, filters: dict | None = None) -> dict:
    """Totals for ORGANIZATIONS (already the caller's), USD, optionally filtered.

    Unfiltered summaries read the daily rollups (costs/rollup.py); a filter on account,
    service or region reads the cost records themselves.
    """
    filters = {k: v for k, v in (filters or {}).items() if v}
    if filters:
        records = CostRecord.objects.filter(
            organization__in=organizations, currency="USD", **filters
        )
        current, previous = totals(records, window, group_by)
    else:
        current, previous = rollup_totals(organizations, window, group_by)
    return shaped(window, group_by, current, previous)


def shaped(window: Window, group_by: str, current: dict, previous: dict) -> dict:
    """The summary's response: CURRENT totals per group, biggest first, each with its PREVIOUS
    window's total (the allocation groupings answer in the same shape)."""
    previous_window = window.previous()
    groups = []
    for key in sorted(current, key=lambda k: (-current[k], k)):
        before = previous.get(key)
        change = None
        if before:
            change = round(float((current[key] - before) / before * 100), 2)
        groups.append(
            {
                "key": key,
                "amount": money(current[key]),
                "previous_amount": money(before),
                "change_percent": change,
            }
        )
    return {
        "start": window.start,
        "end": window.end,
        "group_by": group_by,
        "currency": "USD",
        "total": money(sum(current.values(), Decimal(0))),
        "previous": {
            "start": previous_window.start,
            "end": previous_window.end,
            "total": money(sum(previous.values(), Decimal(0))),
        },
        "groups": groups,
    }
