"""Daily spend from the cost store, each cost counted once (costs.summary.counted_once)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Max, Min, Q, Sum

from costs.models import CostRecord
from costs.summary import counted_once


def _records(organizations, start: date, end: date, account=None):
    records = counted_once(
        CostRecord.objects.filter(
            organization__in=organizations,
            usage_date__gte=start,
            usage_date__lt=end,
            currency="USD",
        )
    )
    if account is not None:
        records = records.filter(sub_account_id=account.account_id)
    return records


def daily_totals(organization, start: date, end: date, account=None) -> dict[date, Decimal]:
    """Spend per day in [start, end) for the organisation (or one of its accounts)."""
    rows = _records([organization], start, end, account).values("usage_date")
    return {
        row["usage_date"]: row["amount"] for row in rows.annotate(amount=Sum("amount")).order_by()
    }


def daily_by_service(
    organizations, start: date, end: date
) -> dict[int, dict[tuple[str, str], dict[date, Decimal]]]:
    """Organisation id -> (sub-account, service) -> {day: spend} over [start, end), in one
    query whatever the number of organisations."""
    series: dict[int, dict[tuple[str, str], dict[date, Decimal]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    rows = _records(organizations, start, end).values(
        "organization_id", "sub_account_id", "service", "usage_date"
    )
    for row in rows.annotate(amount=Sum("amount")).order_by():
        key = (row["sub_account_id"], row["service"])
        series[row["organization_id"]][key][row["usage_date"]] = row["amount"]
    return {organization: dict(by_key) for organization, by_key in series.items()}


def reported_days(organization, start: date, end: date) -> dict[str, tuple[date, date | None]]:
    """Sub-account -> (its newest day with costs, its oldest day still estimated), [start, end)."""
    rows = (
        _records([organization], start, end)
        .values("sub_account_id")
        .annotate(newest=Max("usage_date"), estimated=Min("usage_date", filter=Q(estimated=True)))
        .order_by()
    )
    return {row["sub_account_id"]: (row["newest"], row["estimated"]) for row in rows}
