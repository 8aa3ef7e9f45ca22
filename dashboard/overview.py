"""The overview shown on the admin index and the dashboard: stat cards and the cost chart.

The figures are read from the daily rollups (costs/rollup.py), so the overview of a large store
costs a few small queries whatever its size, and counts each cost once like the summaries.
The chart's spike markers are the alert rule's own verdicts, as the spike check recorded them
(alerts/spikes.py recorded()): one more small query.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum

from accounts.models import CloudAccount, Organization
from actions import realised
from actions.models import InstanceAction
from alerts import spikes
from alerts.forecast import history_start, month_end_forecast
from costs.models import CostRollup
from findings.models import Recommendation

CHART_DAYS = (7, 30)
TOP_SERVICES = 5
OTHER = "Other services"


@dataclass(frozen=True)
class SameDays:
    """This month's complete days against the same days of last month, like for like.

    Only complete days count (today's costs are still arriving), and both sides have the same
    number of days: on 5 December, 1-4 Dec against 1-4 Nov; on 31 March, 1-28 Mar against
    1-28 Feb (February has no 29th to 30th to compare with).
    """

    start: date
    end: date  # inclusive
    previous_start: date
    previous_end: date  # inclusive
    amount: Decimal
    previous_amount: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return _day_range(self.start, self.end)

    @property
    def previous_label(self) -> str:
        return _day_range(self.previous_start, self.previous_end)

    @property
    def change_percent(self) -> float | None:
        if not self.previous_amount:
            return None
        change = (self.amount - self.previous_amount) / self.previous_amount
        return round(float(change * 100), 1)


def _day_range(start: date, end: date) -> str:
    """'1-4 Dec' (with an en dash), or '1 Dec' for a single day."""
    if start == end:
        return f"{start.day} {start:%b}"
    return f"{start.day}\u2013{end.day} {end:%b}"


@dataclass(frozen=True)
class StatCards:
    month_to_date: Decimal
    forecast: Decimal | None  # None without enough data (alerts/forecast.py)
    forecast_method: str  # alerts.forecast.DAY_OF_WEEK or RUN_RATE
    same_days: SameDays | None  # None on the 1st: no complete day to compare yet
    open_idle_instances: int
    potential_monthly_savings: Decimal
    open_recommendations: int
    realised: realised.Realised  # fixes applied through Spendlens (actions/realised.py)

    @property
    def change_percent(self) -> float | None:
        return self.same_days.change_percent if self.same_days else None


def same_days_window(today: date) -> tuple[date, date, date, date] | None:
    """(start, end, previous start, previous end) of the like-for-like comparison, inclusive."""
    complete = today.day - 1
    if complete < 1:
        return None
    previous_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    days = min(complete, calendar.monthrange(previous_start.year, previous_start.month)[1])
    start = today.replace(day=1)
    return start, start.replace(day=days), previous_start, previous_start.replace(day=days)


def _same_days(organizations, month_daily: dict[date, Decimal], today: date) -> SameDays | None:
    window = same_days_window(today)
    if window is None:
        return None
    start, end, previous_start, previous_end = window
    previous = _daily_totals(organizations, previous_start, previous_end)
    return SameDays(
        start,
        end,
        previous_start,
        previous_end,
        amount=sum((a for d, a in month_daily.items() if start <= d <= end), Decimal(0)),
        previous_amount=sum(previous.values(), Decimal(0)),
    )


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
    # The forecast reads the weeks before the month too (its weekday rates).
    daily = _daily_totals(organizations, history_start(today), today)
    outlook = month_end_forecast(daily, today)
    open_recs = Recommendation.objects.filter(
        account__organization__in=organizations, status=Recommendation.Status.OPEN
    ).aggregate(
        count=Count("pk"),
        idle=Count("pk", filter=Q(kind=Recommendation.Kind.IDLE_INSTANCE)),
        savings=Sum("monthly_saving"),
    )
    return StatCards(
        month_to_date=outlook.actual,
        forecast=outlook.forecast,
        forecast_method=outlook.method,
        same_days=_same_days(organizations, daily, today),
        realised=realised.realised_savings(
            InstanceAction.objects.filter(organization__in=organizations)
        ).total,
        open_idle_instances=open_recs["idle"],
        potential_monthly_savings=open_recs["savings"] or Decimal(0),
        open_recommendations=open_recs["count"],
    )


def _chart_view(
    by_service: dict[str, dict[date, Decimal]],
    days: list[date],
    spikes_by_day: dict[date, list[dict]],
) -> dict:
    """Stacked series for DAYS: the top services by spend in the view, the rest as one; and
    each day's spikes (empty lists on the others)."""
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
        "spikes": [spikes_by_day.get(d, []) for d in days],
    }


def cost_chart(organizations, today: date) -> dict:
    """Daily spend for the last 30 days (today included), stacked by top services, with the
    spikes of its complete days; 7-day too."""
    longest = max(CHART_DAYS)
    start = today - timedelta(days=longest - 1)
    by_service: dict[str, dict[date, Decimal]] = defaultdict(dict)
    rows = _daily_rollups(organizations, start, today).values("key", "usage_date").order_by()
    for row in rows.annotate(amount=Sum("amount")):
        by_service[row["key"] or "(no service)"][row["usage_date"]] = row["amount"]
    # Complete days only, like the alert rule: today's figures are still arriving.
    spikes_by_day: dict[date, list[dict]] = defaultdict(list)
    for spike in spikes.recorded(organizations, start, today - timedelta(days=1)):
        spikes_by_day[spike.day].append(spike.figures())
    all_days = [start + timedelta(days=i) for i in range(longest)]
    views = {str(n): _chart_view(by_service, all_days[-n:], spikes_by_day) for n in CHART_DAYS}
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
        "daily_rows": list(
            zip(longest["labels"], longest["totals"], longest["spikes"], strict=True)
        ),
        "has_cost_data": has_cost_data(chart),
        "has_accounts": CloudAccount.objects.filter(organization__in=organizations).exists(),
        "month_start": today.replace(day=1),
        "today": today,
    }
