"""The overview shown on the admin index and the dashboard: stat cards and the cost chart.

Everything is read from the daily rollups (costs/rollup.py), so the overview of a large store
costs a few small queries whatever its size, and counts each cost once like the summaries.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum

from accounts.models import CloudAccount, Organization
from alerts.forecast import month_end_forecast
from costs.models import CostRollup, Recommendation

CHART_DAYS = (7, 30)
TOP_SERVICES = 5
OTHER = "Other services"


@dataclass(frozen=True)
class StatCards:
    month_to_date: Decimal
    forecast: Decimal | None  # None until the month has a complete day of data
    previous_same_days: Decimal  # last month, same days (1st to today's day number)
    open_idle_instances: int
    potential_monthly_savings: Decimal
    open_recommendations: int

    @property
    def change_percent(self) -> float | None:
        if not self.previous_same_days:
            return None
        change = (self.month_to_date - self.previous_same_days) / self.previous_same_days
        return round(float(change * 100), 1)


def _same_days_last_month(today: date) -> tuple[date, date]:
    """Last month's 1st up to today's day number (clamped: 31 March compares with 28/29 Feb)."""
    last_month_end = today.replace(day=1) - timedelta(days=1)
    start = last_month_end.replace(day=1)
    days = calendar.monthrange(start.year, start.month)[1]
    return start, start.replace(day=min(today.day, days))


def _daily_rollups(organizations, start: date, end: date):
    """Rollup rows per service in [start, end], the inclusive window the charts use."""
    return CostRollup.objects.filter(
        organization__in=organizations,
        dimension=CostRollup.Dimension.SERVICE,
        usage_date__gte=start,
        usage_date__lte=end,
    )


def _daily_totals(organizations, start: date, end: date) -> dict[date, Decimal]:
    rows = _daily_rollups(organizations, start, end).values("usage_date").order_by()
    return {r["usage_date"]: r["amount"] for r in rows.annotate(amount=Sum("amount"))}


def stat_cards(organizations, today: date) -> StatCards:
    month_daily = _daily_totals(organizations, today.replace(day=1), today)
    before_start, before_end = _same_days_last_month(today)
    before = sum(_daily_totals(organizations, before_start, before_end).values(), Decimal(0))
    open_recs = Recommendation.objects.filter(
        account__organization__in=organizations, status=Recommendation.Status.OPEN
    ).aggregate(
        count=Count("pk"),
        idle=Count("pk", filter=Q(kind=Recommendation.Kind.IDLE_INSTANCE)),
        savings=Sum("monthly_saving"),
    )
    return StatCards(
        month_to_date=sum(month_daily.values(), Decimal(0)),
        forecast=month_end_forecast(month_daily, today).forecast,
        previous_same_days=before,
        open_idle_instances=open_recs["idle"],
        potential_monthly_savings=open_recs["savings"] or Decimal(0),
        open_recommendations=open_recs["count"],
    )


def _chart_view(by_service: dict[str, dict[date, Decimal]], days: list[date]) -> dict:
    """Stacked series for DAYS: the top services by spend in the view, the rest as one."""
    in_view = {
        service: sum((daily.get(d, Decimal(0)) for d in days), Decimal(0))
        for service, daily in by_service.items()
    }
    ranked = sorted((s for s in in_view if in_view[s]), key=lambda s: (-in_view[s], s))
    top, rest = ranked[:TOP_SERVICES], ranked[TOP_SERVICES:]
    series = [(service, [by_service[service].get(d, Decimal(0)) for d in days]) for service in top]
    if rest:
        other = [sum((by_service[s].get(d, Decimal(0)) for s in rest), Decimal(0)) for d in days]
        series.append((OTHER, other))
    totals = [sum((values[i] for _, values in series), Decimal(0)) for i in range(len(days))]
    return {
        "labels": [d.isoformat() for d in days],
        # Floats only for drawing; the figures people read (totals, table) stay exact.
        "datasets": [
            {"label": label, "data": [float(round(v, 2)) for v in values]}
            for label, values in series
        ],
        "totals": [str(round(t, 2)) for t in totals],
        "total": str(round(sum(totals, Decimal(0)), 2)),
    }


def cost_chart(organizations, today: date) -> dict:
    """Daily spend for the last 30 days (today included), stacked by top services; 7-day too."""
    longest = max(CHART_DAYS)
    start = today - timedelta(days=longest - 1)
    by_service: dict[str, dict[date, Decimal]] = defaultdict(dict)
    rows = _daily_rollups(organizations, start, today).values("key", "usage_date").order_by()
    for row in rows.annotate(amount=Sum("amount")):
        by_service[row["key"] or "(no service)"][row["usage_date"]] = row["amount"]
    all_days = [start + timedelta(days=i) for i in range(longest)]
    views = {str(n): _chart_view(by_service, all_days[-n:]) for n in CHART_DAYS}
    return {"default": str(longest), "currency": "USD", "views": views}


def has_cost_data(chart: dict) -> bool:
    return any(view["datasets"] for view in chart["views"].values())


def page_context(user, today: date) -> dict:
    """What the overview templates (templates/includes/) need, for USER's organisations."""
    organizations = Organization.objects.for_user(user)
    chart = cost_chart(organizations, today)
    longest = chart["views"][chart["default"]]
    return {
        "cards": stat_cards(organizations, today),
        "chart": chart,
        "daily_rows": list(zip(longest["labels"], longest["totals"], strict=True)),
        "has_cost_data": has_cost_data(chart),
        "has_accounts": CloudAccount.objects.filter(organization__in=organizations).exists(),
        "month_start": today.replace(day=1),
        "today": today,
    }
