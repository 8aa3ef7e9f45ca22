"""What people see of commitments: daily coverage and utilization summed over accounts, the
commitments' next expiry, and the what-to-buy engine run on the cost store's eligible spend.

Plain functions over querysets the caller has already scoped to the user's organisations; the
API (commitments/api.py), the admin pages and the dashboard card only shape their results.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from commitments import purchase
from commitments.models import BASE_CURRENCY, AwsPurchaseRecommendation, Commitment, CommitmentDay
from commitments.rates import COMPUTE, EC2_INSTANCE, catalogue
from costs.models import SAVINGS_PLAN_SERVICES, CommitmentUsageHour, CostRecord

ELIGIBLE_SERVICES = SAVINGS_PLAN_SERVICES
# FOCUS charge categories that are not usage paid at on-demand rates.
NOT_USAGE = ("Purchase", "Tax", "Credit", "Adjustment")
MIN_DAYS = purchase.MIN_HOURS // 24
MAX_DAYS = 90
FLAT_BASIS = (
    "Daily spend on Compute Savings Plan eligible services ({services}) from the cost store, "
    "{days} days with cost data between {start} and {end}: no hourly figures were imported for "
    "them (hourly FOCUS exports give them), so each day is spread evenly over its 24 hours. A "
    "flat day hides its peaks and troughs, which would make a commitment look better used than "
    "it will be, and the daily spend includes what existing commitments already cover: treat "
    "the figures as an upper bound and prefer the risk view's lower usage. The engine's "
    "{floor:.0%} utilization floor applies to every plan." + " {family}"
)
HOURLY_BASIS = (
    "Hourly on-demand spend on Compute Savings Plan eligible services ({services}) that no "
    "commitment covered, from the FOCUS imports: {days} days between {start} and {end}, "
    "{hours} hours, an hour without such spend counted as 0. Spend existing commitments "
    "already cover is left out: the plan is what to buy on top of them. The engine's "
    "{floor:.0%} utilization floor applies to every plan." + " {family}"
)
# The series has no instance family: an EC2 Instance plan covers one family in one region.
FAMILY_CAVEAT = (
    "EC2 Instance Savings Plans are evaluated on the whole series, as if it were one instance "
    "family in one region: for a mixed fleet their figures are an upper bound, and the Compute "
    "plans' are the ones to trust."
)


class NotEnoughData(ValueError):
    """Too few days of cost data to judge a commitment on."""


# --- Coverage and utilization ---------------------------------------------------------------


@dataclass(frozen=True)
class DayFigures:
    day: date
    kind: str
    coverage: Decimal | None  # per cent
    utilization: Decimal | None  # per cent
    covered_spend: Decimal | None
    on_demand_spend: Decimal | None
    used_commitment: Decimal | None
    unused_commitment: Decimal | None


def share_percent(part, rest) -> Decimal | None:
    """PART's share of PART + REST in per cent, to 0.001; None when either is unknown or both
    are 0 (a share of nothing is no figure)."""
    if part is None or rest is None or part + rest == 0:
        return None
    return (Decimal(100) * part / (part + rest)).quantize(Decimal("0.001"))


def daily(days, start: date, end: date, kind: str | None = None) -> list[DayFigures]:
    """Per day and kind, coverage = sum(covered) / sum(covered + on demand) and utilization =
    sum(used) / sum(used + unused) over the accounts of DAYS (a scoped CommitmentDay queryset).
    A day or figure no account reported is absent or None, never 0. USD rows only: another
    currency's amounts cannot be summed with them."""
    rows = days.filter(day__gte=start, day__lte=end, currency=BASE_CURRENCY)
    if kind:
        rows = rows.filter(kind=kind)
    # One source per account and day: Cost Explorer's when there is one (FOCUS's otherwise).
    explorer = set(
        rows.filter(source=CommitmentDay.Source.EXPLORER).values_list("account_id", "day", "kind")
    )
    sums = defaultdict(lambda: defaultdict(list))
    fields = ("covered_spend", "on_demand_spend", "used_commitment", "unused_commitment")
    for row in rows.order_by().values("account_id", "day", "kind", "source", *fields):
        key = (row["account_id"], row["day"], row["kind"])
        if row["source"] != CommitmentDay.Source.EXPLORER and key in explorer:
            continue
        bucket = sums[(row["day"], row["kind"])]  # a day of None figures is still reported
        for name in fields:
            if row[name] is not None:
                bucket[name].append(row[name])

    def total(values):
        return sum(values, Decimal(0)) if values else None

    result = []
    for (day, day_kind), figures in sorted(sums.items()):
        covered, on_demand, used, unused = (total(figures.get(name)) for name in fields)
        result.append(
            DayFigures(
                day=day,
                kind=day_kind,
                coverage=share_percent(covered, on_demand),
                utilization=share_percent(used, unused),
                covered_spend=covered,
                on_demand_spend=on_demand,
                used_commitment=used,
                unused_commitment=unused,
            )
        )
    return result


@dataclass(frozen=True)
class Summary:
    coverage: Decimal | None
    utilization: Decimal | None
    next_expiry: Commitment | None
    next_expiry_days: int | None
    commitments: int


def summary(commitments, days, start: date, end: date) -> Summary:
    """Coverage and utilization over a window (all kinds), and the next commitment to expire,
    of scoped querysets of Commitment and CommitmentDay."""
    figures = daily(days, start, end)

    def over(part, rest):
        parts = [getattr(f, part) for f in figures if getattr(f, part) is not None]
        rests = [getattr(f, rest) for f in figures if getattr(f, rest) is not None]
        if not parts or not rests:
            return None
        return share_percent(sum(parts, Decimal(0)), sum(rests, Decimal(0)))

    now = timezone.now()
    upcoming = commitments.filter(end__gt=now).order_by("end").first()
    return Summary(
        coverage=over("covered_spend", "on_demand_spend"),
        utilization=over("used_commitment", "unused_commitment"),
        next_expiry=upcoming,
        next_expiry_days=upcoming.days_to_expiry(now) if upcoming else None,
        commitments=commitments.count(),
    )


# --- What to buy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    accounts: list
    start: date
    end: date
    days_with_data: int
    basis: str
    recommendation: purchase.Recommendation


def eligible_daily(accounts, start: date, end: date) -> dict[date, Decimal]:
    """Per day with any cost data of ACCOUNTS in [start, end]: their on-demand eligible spend
    (0 when the day has cost data but none of it eligible). Days without cost data are absent."""
    records = CostRecord.objects.primary().filter(
        account__in=accounts, usage_date__gte=start, usage_date__lte=end
    )
    days = set(records.order_by().values_list("usage_date", flat=True).distinct())
    eligible = (
        records.filter(service__in=ELIGIBLE_SERVICES, currency=BASE_CURRENCY)
        .exclude(charge_category__in=NOT_USAGE)
        .order_by()
        .values("usage_date")
        .annotate(total=Sum("amount"))
    )
    spend = {day: Decimal(0) for day in days}
    for row in eligible:
        # A day's net refund is no negative usage: it counts as no eligible spend.
        spend[row["usage_date"]] = max(row["total"], Decimal(0))
    return spend


def _hourly_days(rows, start: date, end: date, amount: str, counted) -> dict[date, list]:
    """Per day of [start, end] whose usage in ROWS (CommitmentUsageHour) is hourly: its 24
    hourly sums of AMOUNT over the buckets COUNTED (an hour's net refund counts as 0). A day
    whose usage sits in a single hour came from a daily export and is left out (it says nothing
    about the hours)."""
    rows = rows.filter(
        hour__gte=datetime.combine(start, time.min, tzinfo=UTC),
        hour__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )
    seen = defaultdict(set)
    sums = defaultdict(lambda: [0.0] * 24)
    for hour, bucket, total in (
        rows.values("hour", "bucket")
        .annotate(total=Sum(amount))
        .order_by()
        .values_list("hour", "bucket", "total")
    ):
        hour = hour.astimezone(UTC)
        seen[hour.date()].add(hour.hour)
        if bucket in counted:
            sums[hour.date()][hour.hour] += float(total)
    return {
        day: [max(value, 0.0) for value in sums[day]]
        for day, hours in seen.items()
        if len(hours) > 1
    }


def eligible_hourly(accounts, start: date, end: date) -> dict[date, list[float]]:
    """Per day of [start, end] whose FOCUS usage of ACCOUNTS is hourly: its 24 hours of
    uncovered on-demand eligible spend (USD)."""
    rows = CommitmentUsageHour.objects.filter(account__in=accounts, currency=BASE_CURRENCY)
    return _hourly_days(rows, start, end, "effective_cost", {CommitmentUsageHour.Bucket.ON_DEMAND})


def what_to_buy(accounts, days: int, today: date | None = None) -> Purchase:
    """The engine's recommendation on the last DAYS complete days of ACCOUNTS' eligible spend
    (summed: a Savings Plan bought in the payer account applies across its linked accounts):
    hourly from the FOCUS imports when they cover MIN_DAYS of them, else each day's cost data
    spread flat. Raises NotEnoughData when neither has MIN_DAYS days."""
    accounts = list(accounts)
    end = (today or timezone.localdate()) - timedelta(days=1)  # today is not complete yet
    start = end - timedelta(days=days - 1)
    hourly_days = eligible_hourly(accounts, start, end) if accounts else {}
    floor = purchase.MIN_UTILIZATION
    services = ", ".join(ELIGIBLE_SERVICES)
    if len(hourly_days) >= MIN_DAYS:
        hourly = [value for day in sorted(hourly_days) for value in hourly_days[day]]
        days_with_data = len(hourly_days)
        basis = HOURLY_BASIS.format(
            services=services,
            days=days_with_data,
            hours=len(hourly),
            start=start,
            end=end,
            floor=floor,
            family=FAMILY_CAVEAT,
        )
    else:
        spend = eligible_daily(accounts, start, end) if accounts else {}
        if len(spend) < MIN_DAYS:
            names = ", ".join(a.account_id for a in accounts) or "no connected account"
            raise NotEnoughData(
                f"What to buy needs at least {MIN_DAYS} days of cost data; {names} "
                f"{'has' if len(accounts) < 2 else 'have'} {len(spend)} between {start} and "
                f"{end}. Sync costs first."
            )
        hourly = [float(spend[day]) / 24 for day in sorted(spend) for _ in range(24)]
        days_with_data = len(spend)
        basis = FLAT_BASIS.format(
            services=services,
            days=days_with_data,
            start=start,
            end=end,
            floor=floor,
            family=FAMILY_CAVEAT,
        )
    recommendation = purchase.recommend(hourly, min_utilization=floor)
    return Purchase(accounts, start, end, days_with_data, basis, recommendation)


def plan_rows(recommendation: purchase.Recommendation) -> list[dict]:
    """Every plan's figures, plain values (the API's JSON and the admin page's table)."""
    rows = []
    for result in recommendation.plans:
        plan = result.plan
        rows.append(
            {
                "plan": plan.label,
                "plan_type": plan.plan_type,
                "term_years": plan.term_years,
                "payment": plan.payment,
                "discount": plan.discount,
                "chosen": result is recommendation.best,
                "hourly_commitment": round(result.hourly_commitment, 3),
                "upfront": round(result.upfront, 2),
                "recurring_hourly": round(result.recurring_hourly, 3),
                "monthly_net_savings": round(result.monthly_net_savings, 2),
                "break_even_month": result.break_even_month,
                "utilization": round(result.utilization, 4),
                "coverage": round(result.coverage, 4),
                "utilization_bound": result.utilization_bound,
                "reason": result.reason,
                "how": dict(result.how),
                "risk": [
                    {
                        "usage_drop": case.usage_drop,
                        "monthly_net_savings": round(case.monthly_net_savings, 2),
                        "utilization": round(case.utilization, 4),
                        "how": case.how,
                    }
                    for case in result.risk
                ],
            }
        )
    return rows


# --- AWS's own recommendation -------------------------------------------------------------------

TERM_YEARS = {"ONE_YEAR": 1, "THREE_YEARS": 3}


def aws_recommendations(accounts):
    """The stored AWS recommendations of ACCOUNTS (already scoped to the caller)."""
    return (
        AwsPurchaseRecommendation.objects.filter(account__in=accounts)
        .select_related("account")
        .order_by("account__account_id", "plan_type", "term", "payment_option")
    )


def aws_rows(recommendations) -> list[dict]:
    """AWS's recommendations in the units of plan_rows(): commitment per hour, net savings a
    month, utilization as a fraction; per account, as AWS recommends for each account."""
    rows = []
    for rec in recommendations:
        utilization = rec.utilization_percent
        rows.append(
            {
                "account": rec.account.account_id,
                "plan": (
                    f"{rec.get_plan_type_display()}, {rec.get_term_display()}, "
                    f"{rec.get_payment_option_display()}"
                ),
                "plan_type": rec.plan_type,
                "term_years": TERM_YEARS[rec.term],
                "payment": rec.payment_option,
                "lookback_days": rec.lookback_days,
                "hourly_commitment": round(float(rec.hourly_commitment), 3),
                "upfront": round(float(rec.upfront_cost), 2),
                "monthly_net_savings": round(float(rec.monthly_savings), 2),
                "savings_percent": None
                if rec.savings_percent is None
                else round(float(rec.savings_percent), 3),
                "utilization": None if utilization is None else round(float(utilization) / 100, 4),
                "currency": rec.currency,
                "generated_at": rec.generated_at,
                "fetched_at": rec.fetched_at,
            }
        )
    return rows


# --- Renewal sizing -------------------------------------------------------------------------------


# DescribeSavingsPlans' savingsPlanType -> the purchase engine's plan type (SageMaker plans and
# the like are not sized).
RENEWABLE_PLAN_TYPES = {"Compute": COMPUTE, "EC2Instance": EC2_INSTANCE}


@dataclass(frozen=True)
class Renewal:
    days_with_data: int
    hourly: bool  # sized on hourly FOCUS figures, not flat days
    recommendation: purchase.Recommendation


def _renewal_series(account, start: date, end: date) -> tuple[list[float], int, bool]:
    """The account's eligible spend as it will be once its Savings Plans end: uncovered
    on-demand plus what the plans cover now, at on-demand rates. Hourly from the FOCUS usage
    where it is hourly, else each day's coverage figures spread flat."""
    counted = {
        CommitmentUsageHour.Bucket.ON_DEMAND,
        CommitmentUsageHour.Bucket.SAVINGS_PLAN_USED,
    }
    rows = CommitmentUsageHour.objects.filter(
        account=account, currency=BASE_CURRENCY, bucket__in=counted, list_cost__isnull=False
    )
    hours = _hourly_days(rows, start, end, "list_cost", counted)
    hourly_days = sorted(hours)
    if len(hourly_days) >= MIN_DAYS:
        return [v for day in hourly_days for v in hours[day]], len(hourly_days), True
    by_day = {}
    for figures in daily(
        CommitmentDay.objects.filter(account=account),
        start,
        end,
        kind=CommitmentDay.Kind.SAVINGS_PLAN,
    ):
        if figures.covered_spend is not None and figures.on_demand_spend is not None:
            by_day[figures.day] = float(figures.covered_spend + figures.on_demand_spend)
    series = [by_day[day] / 24 for day in sorted(by_day) for _ in range(24)]
    return series, len(by_day), False


def renewal(commitment: Commitment, today: date | None = None) -> Renewal | None:
    """The Savings Plan (of COMMITMENT's type) to renew COMMITMENT with, sized on the last 30
    days of its account's eligible spend as it will be without it; None for reservations, plan
    types the engine does not price, for an account with other
    active Savings Plans (which of the covered spend is this plan's cannot be told), or on fewer
    than MIN_DAYS days of figures."""
    if (
        commitment.kind != Commitment.Kind.SAVINGS_PLAN
        or commitment.foreign_currency
        or commitment.plan_type not in RENEWABLE_PLAN_TYPES
    ):
        return None
    today = today or timezone.localdate()
    others = Commitment.objects.filter(
        account=commitment.account, kind=Commitment.Kind.SAVINGS_PLAN, end__date__gt=today
    ).exclude(pk=commitment.pk)
    if others.exists():
        return None
    end = today - timedelta(days=1)
    start = end - timedelta(days=29)
    series, days, hourly = _renewal_series(commitment.account, start, end)
    if days < MIN_DAYS:
        return None
    # Renewed as the same kind of plan: a Compute plan's usage may span families and regions
    # that one EC2 Instance plan could not cover.
    plan_type = RENEWABLE_PLAN_TYPES[commitment.plan_type]
    plans = [plan for plan in catalogue() if plan.plan_type == plan_type]
    found = purchase.recommend(series, plans=plans, min_utilization=purchase.MIN_UTILIZATION)
    return Renewal(days, hourly, found)
