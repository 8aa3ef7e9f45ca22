"""Daily spend from the cost store, each cost counted once (costs.summary.counted_once)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from costs.models import CostRecord
from costs.summary import counted_once


def _records(organization, start: date, end: date, account=None):
    records = counted_once(
        CostRecord.objects.filter(
            organization=organization, usage_date__gte=start, usage_date__lt=end, currency="USD"
        )
    )
    if account is not None:
        records = records.filter(sub_account_id=account.account_id)
    return records


def daily_totals(organization, start: date, end: date, account=None) -> dict[date, Decimal]:
    """Spend per day in [start, end) for the organisation (or one of its accounts)."""
    rows = _records(organization, start, end, account).values("usage_date")
    return {
        row["usage_date"]: row["amount"] for row in rows.annotate(amount=Sum("amount")).order_by()
    }


def daily_by_service(
    organization, start: date, end: date
) -> dict[tuple[str, str], dict[date, Decimal]]:
    """(sub-account, service) -> {day: spend} over [start, end)."""
    series: dict[tuple[str, str], dict[date, Decimal]] = defaultdict(dict)
    rows = _records(organization, start, end).values("sub_account_id", "service", "usage_date")
    for row in rows.annotate(amount=Sum("amount")).order_by():
        series[(row["sub_account_id"], row["service"])][row["usage_date"]] = row["amount"]
    return dict(series)
