"""Daily spend from the cost store, each cost counted once.

Both sources can hold the same day of the same account: Cost Explorer's sync and a FOCUS
billing export. For each (sub-account, day) the export wins when it has that day (it is the
invoice), Cost Explorer fills the rest; each source contributes only its primary metric.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from costs.models import CostRecord, CostSource

PREFERENCE = (CostSource.FOCUS, CostSource.EXPLORER)


def _rows(organization, start: date, end: date, account=None, by_service=False):
    records = CostRecord.objects.primary().filter(
        organization=organization, usage_date__gte=start, usage_date__lt=end, currency="USD"
    )
    if account is not None:
        records = records.filter(sub_account_id=account.account_id)
    keys = ["source", "sub_account_id", "usage_date"] + (["service"] if by_service else [])
    return records.values(*keys).annotate(amount=Sum("amount")).order_by()


def _deduplicated(rows, by_service: bool) -> dict[tuple, Decimal]:
    """(sub_account, day[, service]) -> amount, from the preferred source of each day."""
    by_source: dict[tuple, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        day_key = (row["sub_account_id"], row["usage_date"])
        item = row["service"] if by_service else None
        by_source[day_key][row["source"]][item] = row["amount"]
    totals: dict[tuple, Decimal] = {}
    for (sub_account, day), sources in by_source.items():
        chosen = next(sources[s] for s in PREFERENCE if s in sources)
        for item, amount in chosen.items():
            totals[(sub_account, day, item)] = amount
    return totals


def daily_totals(organization, start: date, end: date, account=None) -> dict[date, Decimal]:
    """Spend per day in [start, end) for the organisation (or one of its accounts)."""
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for (_, day, _), amount in _deduplicated(
        _rows(organization, start, end, account), False
    ).items():
        totals[day] += amount
    return dict(totals)


def daily_by_service(
    organization, start: date, end: date
) -> dict[tuple[str, str], dict[date, Decimal]]:
    """(sub-account, service) -> {day: spend} over [start, end)."""
    series: dict[tuple[str, str], dict[date, Decimal]] = defaultdict(dict)
    rows = _rows(organization, start, end, by_service=True)
    for (sub_account, day, service), amount in _deduplicated(rows, True).items():
        series[(sub_account, service)][day] = amount
    return dict(series)
