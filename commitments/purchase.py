"""What to buy: the Savings Plan commitment that maximises net savings on an hourly spend series.

Plain Python on purpose (no Django, no numpy): the sync feeds it the hourly on-demand *eligible*
spend (USD per on-demand hour, e.g. 30 days x 24 h from Cost Explorer or FOCUS) and stores the
dataclasses it returns. The method, as documented in README.md ("Commitments"):

A plan with discount rate d and hourly commitment c (in Savings Plan dollars) covers, in hour t,
up to x = c / (1 - d) dollars of on-demand usage. The hour then costs
    c + max(0, h[t] - x)
and over the H hours of the period
    net savings S(x) = sum(h) - sum(cost) = sum(min(h[t], x)) - H (1 - d) x
    utilization U(x) = sum(min(h[t] (1 - d), c)) / (c H) = sum(min(h[t], x)) / (x H).
S is concave and piecewise linear with its breakpoints at the observed hourly values; its slope
right of x is #{t: h[t] > x} - H (1 - d). So the unconstrained optimum is a quantile: the level
exceeded in at most a fraction (1 - d) of hours, i.e. the sorted series' value at index
ceil(H d) - 1. U never increases with x; when U at that optimum is below the floor (90 %), the
best admissible commitment is the largest x with U(x) >= 90 %, which lies on one linear piece
of sum(min(h, x)) and is solved exactly there. Sorting is O(H log H); every figure after it is a
binary search over the sorted series and its prefix sums.

`exhaustive` is the deliberately naive reference (a grid over c, every hour summed) that the
tests and bench/commitment_purchase.py compare against.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from commitments.rates import EC2_INSTANCE, HOURS_PER_MONTH, Plan, catalogue

MIN_HOURS = 7 * 24
MIN_UTILIZATION = 0.90
RISK_DROPS = (0.10, 0.25)
# AWS sells Savings Plan commitments in steps of $0.001 per hour.
COMMITMENT_STEP = 0.001
# Plans whose net savings are within this share of the best one count as tied; among them the
# one with the least lock-in wins (rates.Plan.lock_in).
TIE_SHARE = 0.01


# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskCase:
    """The same commitment if the eligible usage drops by `usage_drop` (0.10 = 10 %)."""

    usage_drop: float
    monthly_net_savings: float
    utilization: float
    how: str


@dataclass(frozen=True)
class PlanRecommendation:
    """What to buy of one plan variant; `hourly_commitment` 0 and a `reason` when nothing."""

    plan: Plan
    period_hours: int
    eligible_spend: float  # sum of the series, USD over the period
    hourly_commitment: float = 0.0  # USD per hour, in Savings Plan dollars
    covered_level: float = 0.0  # on-demand USD per hour the commitment covers, c / (1 - d)
    upfront: float = 0.0  # USD paid at purchase
    recurring_hourly: float = 0.0  # USD per hour billed over the term
    period_net_savings: float = 0.0
    monthly_net_savings: float = 0.0
    break_even_month: int | None = None
    utilization: float = 0.0  # expected, 0..1
    coverage: float = 0.0  # share of the eligible on-demand spend covered, 0..1
    utilization_bound: bool = False  # the 90 % floor, not the savings optimum, set the level
    risk: tuple[RiskCase, ...] = ()
    reason: str = ""  # why no commitment, when hourly_commitment is 0
    how: dict[str, str] = field(default_factory=dict)  # figure name -> its arithmetic

    @property
    def recommended(self) -> bool:
        return self.hourly_commitment > 0


@dataclass(frozen=True)
class Recommendation:
    """Every plan variant evaluated, and the one to buy (None: buy nothing, see `reason`)."""

    best: PlanRecommendation | None
    plans: tuple[PlanRecommendation, ...]
    reason: str
    period_hours: int
    eligible_spend: float


@dataclass(frozen=True)
class GridResult:
    """The best commitment `exhaustive` found for one plan."""

    hourly_commitment: float
    period_net_savings: float
    utilization: float
    period_hours: int

    @property
    def monthly_net_savings(self) -> float:
        return self.period_net_savings * HOURS_PER_MONTH / self.period_hours


# --- Input --------------------------------------------------------------------------------------


def validate(hourly: Iterable[float] | None, what: str = "hourly on-demand eligible spend"):
    """The series as a list of floats, or a ValueError saying exactly what is wrong with it."""
    if hourly is None:
        raise ValueError(f"{what}: no series given")
    try:
        raw = list(hourly)  # once: a generator could not be read again for the message
    except TypeError:
        raise ValueError(f"{what}: not a series of numbers ({type(hourly).__name__})") from None
    try:
        values = list(map(float, raw))
    except (TypeError, ValueError):
        for hour, value in enumerate(raw):
            try:
                float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{what}: hour {hour} is not a number ({value!r})") from None
        raise ValueError(f"{what}: not a series of numbers") from None
    if not values:
        raise ValueError(f"{what}: the series is empty; no recommendation without data")
    if len(values) < MIN_HOURS:
        raise ValueError(
            f"{what}: {len(values)} hours is shorter than 7 days ({MIN_HOURS} hours); "
            "a commitment needs at least a week of usage to judge"
        )
    if not all(map(math.isfinite, values)):
        hour = next(i for i, v in enumerate(values) if not math.isfinite(v))
        raise ValueError(
            f"{what}: hour {hour} is {values[hour]} (missing data?); every hour needs a finite "
            "amount, 0 for no spend"
        )
    if min(values) < 0:
        hour = next(i for i, v in enumerate(values) if v < 0)
        raise ValueError(
            f"{what}: hour {hour} is negative ({values[hour]}); on-demand spend cannot be "
            "negative (credits and refunds are not usage)"
        )
    return values


class SortedSeries:
    """A validated series sorted once, with prefix sums: sum(min(h, x)) in O(log H)."""

    def __init__(self, hourly: Iterable[float], what: str = "hourly on-demand eligible spend"):
        self.values = sorted(validate(hourly, what))
        self.hours = len(self.values)
        self.prefix = list(accumulate(self.values, initial=0.0))
        self.total = self.prefix[-1]

    def covered(self, level: float) -> float:
        """sum over hours of min(h, level): the on-demand spend a level of cover absorbs."""
        if level <= 0:
            return 0.0
        below = bisect_right(self.values, level)
        return self.prefix[below] + level * (self.hours - below)

    def utilization(self, level: float) -> float:
        return self.covered(level) / (level * self.hours) if level > 0 else 0.0

    def share_above(self, level: float) -> float:
        return (self.hours - bisect_right(self.values, level)) / self.hours

    def highest_level_at(self, floor: float) -> float:
        """The largest level x with utilization(x) >= floor (0.0 when no x > 0 has it)."""
        values, hours = self.values, self.hours
        first = bisect_right(values, 0.0)  # zero hours are not breakpoints of U
        if first == hours or self.utilization(values[first]) < floor:
            return 0.0
        # U is non-increasing in x: binary search the last breakpoint at or above the floor.
        lo, hi = first, hours - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.utilization(values[mid]) >= floor:
                lo = mid
            else:
                hi = mid - 1
        below = bisect_right(values, values[lo])
        if below == hours:
            return values[-1]
        # On (values[lo], values[below]) sum(min(h, x)) = prefix[below] + x (hours - below):
        # solve prefix + x above = floor hours x.
        above = hours - below
        denominator = floor * hours - above
        level = self.prefix[below] / denominator if denominator > 0 else values[below]
        return max(values[lo], min(level, values[below]))


# --- One plan -----------------------------------------------------------------------------------


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _rate(value: float) -> str:
    return f"${value:,.3f}/h"


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _round_down(commitment: float) -> float:
    # The epsilon keeps 7.999999999999 (float noise for 8.000) from losing a whole step.
    return math.floor(commitment / COMMITMENT_STEP + 1e-6) * COMMITMENT_STEP


def _nothing(plan: Plan, series: SortedSeries, reason: str) -> PlanRecommendation:
    return PlanRecommendation(
        plan=plan,
        period_hours=series.hours,
        eligible_spend=series.total,
        reason=reason,
        how={"hourly_commitment": f"no commitment: {reason}"},
    )


def evaluate(
    series: SortedSeries | Iterable[float], plan: Plan, min_utilization: float = MIN_UTILIZATION
) -> PlanRecommendation:
    """The best commitment of one plan on one series, with every figure and its arithmetic."""
    if not isinstance(series, SortedSeries):
        series = SortedSeries(series)
    hours, d = series.hours, plan.discount
    keep = 1 - d
    if series.total <= 0:
        return _nothing(plan, series, "no on-demand eligible spend in the period")
    if d <= 0:
        return _nothing(plan, series, f"a discount rate of {_pct(d)} cannot save anything")

    # The unconstrained optimum: the level exceeded in at most (1 - d) of the hours.
    index = max(0, math.ceil(hours * d - 1e-9) - 1)
    optimum = series.values[index]
    if optimum <= 0:
        return _nothing(
            plan,
            series,
            f"spend is zero in {_pct(1 - series.share_above(0.0))} of hours, more than the "
            f"{_pct(d)} discount: any commitment would cost more than it saves",
        )
    level, bound = optimum, False
    if series.utilization(optimum) < min_utilization:
        level, bound = series.highest_level_at(min_utilization), True
        if level <= 0:
            return _nothing(
                plan,
                series,
                f"spend is present in only {_pct(series.share_above(0.0))} of hours: any "
                f"commitment would be used less than {_pct(min_utilization)}",
            )

    commitment = _round_down(level * keep)
    # Float noise at the floor's exact solution: step down until the floor holds (U grows as
    # the commitment shrinks), rarely more than once.
    while commitment > 0 and series.utilization(commitment / keep) < min_utilization:
        commitment = _round_down(commitment - COMMITMENT_STEP)
    if commitment <= 0:
        return _nothing(
            plan,
            series,
            f"the best commitment is below AWS's minimum of {_rate(COMMITMENT_STEP)}",
        )
    return _figures(series, plan, commitment, optimum, bound, min_utilization)


def _figures(
    series: SortedSeries,
    plan: Plan,
    commitment: float,
    optimum: float,
    bound: bool,
    min_utilization: float,
) -> PlanRecommendation:
    hours, d = series.hours, plan.discount
    keep = 1 - d
    level = commitment / keep
    covered = series.covered(level)
    period_savings = covered - hours * commitment
    if period_savings <= 0:
        return _nothing(plan, series, "no commitment saves money on this usage")
    per_month = HOURS_PER_MONTH / hours
    monthly = period_savings * per_month
    utilization = covered / (level * hours)
    upfront = commitment * plan.term_hours * plan.upfront_share
    recurring = commitment * (1 - plan.upfront_share)
    how: dict[str, str] = {}

    if bound:
        how["hourly_commitment"] = (
            f"the savings optimum, {_rate(optimum)} of on-demand usage (exceeded in "
            f"{_pct(series.share_above(optimum))} of hours, at most 1 - d = {_pct(keep)}), would "
            f"be used only {_pct(series.utilization(optimum))}; the highest level used at least "
            f"{_pct(min_utilization)} is {_rate(level)}; x (1 - d) = {level:,.4f} x {keep:.2f} = "
            f"{_rate(commitment)} (rounded down to $0.001)"
        )
    else:
        how["hourly_commitment"] = (
            f"the savings optimum covers {_rate(optimum)} of on-demand usage, the level exceeded "
            f"in {_pct(series.share_above(optimum))} of hours (at most 1 - d = {_pct(keep)}: "
            f"above it a dollar of commitment is used too rarely to pay for itself); x (1 - d) = "
            f"{optimum:,.4f} x {keep:.2f} = {_rate(commitment)} (rounded down to $0.001)"
        )
    how["upfront"] = (
        f"{plan.upfront_share:.0%} of {_rate(commitment)} x {plan.term_hours:,} h = "
        f"{_money(upfront)}"
    )
    how["recurring_hourly"] = (
        f"{1 - plan.upfront_share:.0%} of {_rate(commitment)} = {_rate(recurring)}"
    )
    how["period_net_savings"] = (
        f"on-demand covered {_money(covered)} - commitment {_rate(commitment)} x {hours:,} h "
        f"{_money(hours * commitment)} = {_money(period_savings)} over {hours:,} h"
    )
    how["monthly_net_savings"] = (
        f"{_money(period_savings)} x {HOURS_PER_MONTH} / {hours:,} h = {_money(monthly)} a month "
        "(upfront spread over the term, not discounted)"
    )
    if upfront > 0:
        # Cash view: each month avoids on-demand spend and pays the recurring part; the month
        # where those net amounts add up to the upfront is the break-even.
        cash = monthly + upfront / plan.term_months
        break_even = math.ceil(upfront / cash - 1e-9)
        how["break_even_month"] = (
            f"upfront {_money(upfront)} / monthly cash benefit {_money(cash)} (net savings "
            f"{_money(monthly)} + upfront / {plan.term_months} months "
            f"{_money(upfront / plan.term_months)}) = {upfront / cash:.2f} -> month {break_even}"
        )
    else:
        break_even = 1
        how["break_even_month"] = "no upfront payment: ahead from the first month"
    how["utilization"] = (
        f"sum of min(h, {level:,.4f}) / ({level:,.4f} x {hours:,} h) = {_money(covered)} / "
        f"{_money(level * hours)} = {_pct(utilization)}"
    )
    how["coverage"] = (
        f"on-demand covered {_money(covered)} / eligible {_money(series.total)} = "
        f"{_pct(covered / series.total)}"
    )
    risk = tuple(_risk(series, commitment, level, drop) for drop in RISK_DROPS)
    return PlanRecommendation(
        plan=plan,
        period_hours=hours,
        eligible_spend=series.total,
        hourly_commitment=commitment,
        covered_level=level,
        upfront=upfront,
        recurring_hourly=recurring,
        period_net_savings=period_savings,
        monthly_net_savings=monthly,
        break_even_month=break_even,
        utilization=utilization,
        coverage=covered / series.total,
        utilization_bound=bound,
        risk=risk,
        how=how,
    )


def _risk(series: SortedSeries, commitment: float, level: float, drop: float) -> RiskCase:
    # With every hour scaled by f: sum(min(f h, x)) = f sum(min(h, x / f)).
    scale = 1 - drop
    covered = scale * series.covered(level / scale)
    savings = covered - series.hours * commitment
    monthly = savings * HOURS_PER_MONTH / series.hours
    utilization = covered / (level * series.hours)
    how = (
        f"usage x {scale:.2f}: on-demand covered {_money(covered)} - commitment "
        f"{_money(series.hours * commitment)} = {_money(savings)}, {_money(monthly)} a month; "
        f"utilization {_pct(utilization)}"
    )
    return RiskCase(drop, monthly, utilization, how)


# --- Every plan ---------------------------------------------------------------------------------


def recommend(
    hourly: Iterable[float],
    *,
    ec2_instance_hourly: Iterable[float] | None = None,
    rates: Mapping[tuple[str, int, str], float] | None = None,
    plans: Sequence[Plan] | None = None,
    min_utilization: float = MIN_UTILIZATION,
) -> Recommendation:
    """Evaluate every plan variant and choose the one to buy.

    `hourly` is the Compute-Savings-Plan-eligible on-demand spend per hour. An EC2 Instance
    Savings Plan covers one instance family in one region: pass that family's series as
    `ec2_instance_hourly`; without it, EC2 Instance plans are judged on `hourly` (right only
    when that spend is a single family in a single region). `rates` overrides discount rates
    (rates.catalogue); `plans` replaces the catalogue altogether.
    Raises ValueError, with the reason, on a series that cannot be judged.
    """
    series = SortedSeries(hourly)
    instance_series = (
        SortedSeries(ec2_instance_hourly, "EC2 Instance Savings Plan eligible spend")
        if ec2_instance_hourly is not None
        else series
    )
    results = tuple(
        evaluate(
            instance_series if plan.plan_type == EC2_INSTANCE else series, plan, min_utilization
        )
        for plan in (plans if plans is not None else catalogue(rates))
    )
    best, reason = choose(results)
    return Recommendation(best, results, reason, series.hours, series.total)


def choose(results: Sequence[PlanRecommendation]) -> tuple[PlanRecommendation | None, str]:
    """The plan with the highest monthly net savings; plans within 1 % of it are tied and the
    least lock-in among them wins (shorter term, then Compute over EC2 Instance, then less
    upfront); a tie on all of those keeps the higher savings, then the catalogue order."""
    viable = [r for r in results if r.recommended]
    if not viable:
        reasons = list(dict.fromkeys(r.reason for r in results))
        return None, "no commitment: " + "; ".join(reasons)
    top = max(viable, key=lambda r: r.monthly_net_savings)
    tied = [r for r in viable if r.monthly_net_savings >= top.monthly_net_savings * (1 - TIE_SHARE)]
    best = min(tied, key=lambda r: (r.plan.lock_in, -r.monthly_net_savings))
    if best is top:
        return best, (
            f"{best.plan.label}: the highest net savings, {_money(best.monthly_net_savings)} "
            "a month"
        )
    return best, (
        f"{best.plan.label}: {_money(best.monthly_net_savings)} a month, within "
        f"{TIE_SHARE:.0%} of the highest ({top.plan.label}, "
        f"{_money(top.monthly_net_savings)}), with less lock-in"
    )


# --- Reference ----------------------------------------------------------------------------------


def exhaustive(
    hourly: Iterable[float],
    plan: Plan,
    *,
    steps: int = 2000,
    min_utilization: float = MIN_UTILIZATION,
) -> GridResult:
    """Grid search: `steps` commitments from 0 to max(h) (1 - d), each summed over every hour
    straight from the definition, keeping the best net savings with utilization >= the floor.
    Independent of the sorting and prefix sums above; the benchmark's and tests' reference."""
    values = validate(hourly)
    hours, keep = len(values), 1 - plan.discount
    total = sum(values)
    top = max(values) * keep
    best = GridResult(0.0, 0.0, 0.0, hours)
    for step in range(1, steps + 1):
        commitment = top * step / steps
        level = commitment / keep
        # cost of each hour = c + max(0, h - x)
        beyond = sum(v - level for v in values if v > level)
        savings = total - (hours * commitment + beyond)
        # sum(min(h (1 - d), c)) = (1 - d) sum(min(h, x)) = (1 - d) (sum(h) - beyond)
        utilization = keep * (total - beyond) / (commitment * hours)
        if utilization >= min_utilization and savings > best.period_net_savings:
            best = GridResult(commitment, savings, utilization, hours)
    return best
