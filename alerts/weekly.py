"""The weekly report's figures: one organisation, or one value of one of its dimensions.

A report covers the last full ISO week (Monday to Sunday) against the week before: the total,
its change, month-to-date against the budgets that cover the same spend, the services that
moved most, the open savings and the stops and starts of the week, and 14 days of daily spend
for the chart. The organisation's figures come from the cost rollups (costs.CostRollup: each
cost counted once), a value's from the allocation rollups, so they match the dashboard's.

Everything is aggregated in the database: a handful of queries whatever the size of the store
(tests/alerts/test_weekly_report.py counts them). A value's report leaves out the savings and
actions, which are not allocated to values: the organisation's report carries them.

A report travels in its alert's evidence (to_evidence / from_evidence): plain JSON, amounts as
strings, so the e-mail and its chart are rendered at send time from the event alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from actions.models import InstanceAction
from alerts.models import Budget
from allocation.models import AllocationRollup
from costs.models import CostRollup
from findings.models import Recommendation

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
MOVERS = 5
CHART_DAYS = 14
CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Week:
    """An ISO week, Monday to Sunday: "2026-W49"."""

    monday: date

    @classmethod
    def parse(cls, text: str) -> Week:
        match = WEEK.match((text or "").strip())
        if not match:
            raise ValueError(f"{text!r} is not a week: write it as YYYY-Www, e.g. 2026-W49.")
        try:
            return cls(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        except ValueError:
            raise ValueError(f"{text!r} is not a week of {match[1]}.") from None

    @classmethod
    def containing(cls, day: date) -> Week:
        return cls(day - timedelta(days=day.weekday()))

    @classmethod
    def last_full(cls, today: date) -> Week:
        """The latest week that is over on TODAY."""
        return cls.containing(today).previous

    @property
    def previous(self) -> Week:
        return Week(self.monday - timedelta(days=7))

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    def __str__(self):
        return self.label


@dataclass
class Mover:
    service: str
    this_week: Decimal
    last_week: Decimal

    @property
    def change(self) -> Decimal:
        return self.this_week - self.last_week


@dataclass
class BudgetLine:
    name: str
    monthly_amount: Decimal
    month_to_date: Decimal

    @property
    def percent(self) -> Decimal:
        return (self.month_to_date * 100 / self.monthly_amount).quantize(Decimal("0.1"))


@dataclass
class Actions:
    stops: int = 0
    starts: int = 0
    by_schedules: int = 0
    by_auto_stop: int = 0

    @property
    def total(self) -> int:
        return self.stops + self.starts


@dataclass
class WeeklyReport:
    organization: str
    week: Week
    scope: str = ""  # "Team = payments" for a value's report, "" for the organisation's
    this_week: Decimal = ZERO
    last_week: Decimal = ZERO
    month_to_date: Decimal = ZERO
    budgets: list[BudgetLine] = field(default_factory=list)
    movers: list[Mover] = field(default_factory=list)
    # None in a value's report: neither is allocated to values.
    savings_count: int | None = None
    savings_monthly: Decimal | None = None
    actions: Actions | None = None
    daily: list[tuple[date, Decimal]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scope or self.organization

    @property
    def has_spend(self) -> bool:
        return bool(self.this_week or self.last_week)

    @property
    def change(self) -> Decimal:
        return self.this_week - self.last_week

    @property
    def change_percent(self) -> Decimal | None:
        if not self.last_week:
            return None
        return (self.change * 100 / self.last_week).quantize(Decimal("0.1"))

    @property
    def month(self) -> date:
        """The month the month-to-date figures are of: the week's Sunday's."""
        return self.week.sunday.replace(day=1)

    def to_evidence(self) -> dict:
        return {
            "organization": self.organization,
            "week": self.week.label,
            "scope": self.scope,
            "this_week": _money(self.this_week),
            "last_week": _money(self.last_week),
            "month_to_date": _money(self.month_to_date),
            "budgets": [
                [b.name, _money(b.monthly_amount), _money(b.month_to_date)] for b in self.budgets
            ],
            "movers": [[m.service, _money(m.this_week), _money(m.last_week)] for m in self.movers],
            "savings_count": self.savings_count,
            "savings_monthly": None
            if self.savings_monthly is None
            else _money(self.savings_monthly),
            "actions": None if self.actions is None else vars(self.actions).copy(),
            "daily": [[day.isoformat(), _money(amount)] for day, amount in self.daily],
        }

    @classmethod
    def from_evidence(cls, data: dict) -> WeeklyReport:
        return cls(
            organization=data["organization"],
            week=Week.parse(data["week"]),
            scope=data.get("scope", ""),
            this_week=Decimal(data["this_week"]),
            last_week=Decimal(data["last_week"]),
            month_to_date=Decimal(data["month_to_date"]),
            budgets=[BudgetLine(n, Decimal(a), Decimal(m)) for n, a, m in data["budgets"]],
            movers=[Mover(s, Decimal(t), Decimal(p)) for s, t, p in data["movers"]],
            savings_count=data.get("savings_count"),
            savings_monthly=None
            if data.get("savings_monthly") is None
            else Decimal(data["savings_monthly"]),
            actions=None if data.get("actions") is None else Actions(**data["actions"]),
            daily=[(date.fromisoformat(d), Decimal(a)) for d, a in data["daily"]],
        )

    def lines(self) -> list[str]:
        """The summary in a few sentences: the chat message, and the e-mail's opening."""
        monday, sunday = self.week.monday, self.week.sunday
        span = f"{monday.day} {monday:%b} to {sunday.day} {sunday:%b %Y}"
        if not self.has_spend:
            return [
                f"No spend recorded for {self.name} in {self.week} ({span}) or the week before."
            ]
        percent = self.change_percent
        trend = f"{signed(self.change)}" + (f" ({percent:+}%)" if percent is not None else "")
        lines = [
            f"Spend {span}: {usd(self.this_week)}, {trend} on the week before "
            f"({usd(self.last_week)})."
        ]
        month = f"{self.month:%B}"
        lines.append(
            f"{month} to date: {usd(self.month_to_date)}"
            + "".join(f"; {b.name}: {b.percent}% of {usd(b.monthly_amount)}" for b in self.budgets)
            + "."
        )
        if self.movers:
            lines.append(
                "Biggest movers: "
                + ", ".join(f"{m.service} {signed(m.change)}" for m in self.movers)
                + "."
            )
        if self.savings_count is not None:
            lines.append(
                f"Open savings: {self.savings_count} recommendation"
                f"{'' if self.savings_count == 1 else 's'}, "
                f"{usd(self.savings_monthly or ZERO)} a month."
            )
        if self.actions is not None:
            a = self.actions
            lines.append(
                f"Actions taken: {a.stops} stop{'' if a.stops == 1 else 's'}, {a.starts} "
                f"start{'' if a.starts == 1 else 's'} ({a.by_schedules} by schedules, "
                f"{a.by_auto_stop} by auto-stop)."
            )
        return lines


def usd(amount: Decimal) -> str:
    return f"${amount.quantize(CENT):,}"


def signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "-") + usd(abs(amount))


def _money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


# --- Building a report ---


def organization_report(organization, week: Week) -> WeeklyReport:
    rows = CostRollup.objects.filter(
        organization=organization, dimension=CostRollup.Dimension.SERVICE
    )
    report = _spend(WeeklyReport(organization.name, week), rows, "key")
    budgets = Budget.objects.filter(
        organization=organization, active=True, dimension__isnull=True
    ).select_related("account")
    report.budgets = _organization_budgets(organization, list(budgets), report)
    savings = (
        Recommendation.objects.open()
        .filter(account__organization=organization)
        .aggregate(count=Count("pk"), monthly=Sum("monthly_saving"))
    )
    report.savings_count, report.savings_monthly = savings["count"], savings["monthly"] or ZERO
    report.actions = _actions(organization, week)
    return report


def value_report(dimension, value: str, week: Week, organization_name: str) -> WeeklyReport:
    rows = AllocationRollup.objects.filter(dimension=dimension, value=value)
    scope = f"{dimension.name} = {value}"
    report = _spend(WeeklyReport(organization_name, week, scope), rows, "service")
    budgets = Budget.objects.filter(
        organization_id=dimension.organization_id,
        active=True,
        dimension=dimension,
        dimension_value=value,
    )
    report.budgets = [
        BudgetLine(b.name, b.monthly_amount, report.month_to_date) for b in budgets.order_by("name")
    ]
    return report


def _spend(report: WeeklyReport, rows, service_field: str) -> WeeklyReport:
    """Totals, movers, month to date and the daily series from ROWS (a rollup queryset with
    usage_date, amount and a service column): two aggregating queries."""
    week, previous = report.week, report.week.previous
    this = Q(usage_date__gte=week.monday, usage_date__lte=week.sunday)
    last = Q(usage_date__gte=previous.monday, usage_date__lte=previous.sunday)
    by_service = (
        rows.filter(usage_date__gte=previous.monday, usage_date__lte=week.sunday)
        .values(service_field)
        .annotate(this_week=Sum("amount", filter=this), last_week=Sum("amount", filter=last))
        .order_by()
    )
    movers = [
        Mover(row[service_field], row["this_week"] or ZERO, row["last_week"] or ZERO)
        for row in by_service
    ]
    report.this_week = sum((m.this_week for m in movers), ZERO)
    report.last_week = sum((m.last_week for m in movers), ZERO)
    moved = [m for m in movers if m.change]
    report.movers = sorted(moved, key=lambda m: (-abs(m.change), m.service))[:MOVERS]

    first = min(report.month, week.sunday - timedelta(days=CHART_DAYS - 1))
    per_day = dict(
        rows.filter(usage_date__gte=first, usage_date__lte=week.sunday)
        .values("usage_date")
        .annotate(amount=Sum("amount"))
        .order_by()
        .values_list("usage_date", "amount")
    )
    report.month_to_date = sum(
        (amount for day, amount in per_day.items() if day >= report.month), ZERO
    )
    days = [week.sunday - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    report.daily = [(day, per_day.get(day, ZERO)) for day in days]
    return report


def _organization_budgets(organization, budgets, report: WeeklyReport) -> list[BudgetLine]:
    """The organisation's budgets, an account's against that account's month to date."""
    accounts = {b.account.account_id for b in budgets if b.account_id}
    per_account = {}
    if accounts:
        per_account = dict(
            CostRollup.objects.filter(
                organization=organization,
                dimension=CostRollup.Dimension.ACCOUNT,
                key__in=accounts,
                usage_date__gte=report.month,
                usage_date__lte=report.week.sunday,
            )
            .values("key")
            .annotate(amount=Sum("amount"))
            .order_by()
            .values_list("key", "amount")
        )
    lines = []
    for budget in sorted(budgets, key=lambda b: b.name):
        spent = (
            per_account.get(budget.account.account_id, ZERO)
            if budget.account_id
            else report.month_to_date
        )
        lines.append(BudgetLine(budget.name, budget.monthly_amount, spent))
    return lines


def _actions(organization, week: Week) -> Actions:
    """The week's successful stops and starts, the week being the organisation's local one."""
    zone = ZoneInfo(organization.time_zone)
    start = datetime.combine(week.monday, time(), zone)
    end = datetime.combine(week.sunday + timedelta(days=1), time(), zone)
    stop, start_action = InstanceAction.Action.STOP, InstanceAction.Action.START
    counts = InstanceAction.objects.filter(
        organization=organization,
        result=InstanceAction.Result.SUCCEEDED,
        requested_at__gte=start,
        requested_at__lt=end,
    ).aggregate(
        stops=Count("pk", filter=Q(action=stop)),
        starts=Count("pk", filter=Q(action=start_action)),
        by_schedules=Count(
            "pk", filter=Q(actor_label__startswith=f"{InstanceAction.SCHEDULE_ACTOR} ")
        ),
        by_auto_stop=Count("pk", filter=Q(actor_label=InstanceAction.AUTO_STOP_ACTOR)),
    )
    return Actions(**counts)
