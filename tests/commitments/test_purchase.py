"""The purchase engine (commitments/purchase.py): plain functions, no database."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commitments.purchase import (
    MIN_UTILIZATION,
    evaluate,
    exhaustive,
    recommend,
)
from commitments.rates import (
    ALL_UPFRONT,
    COMPUTE,
    EC2_INSTANCE,
    NO_UPFRONT,
    PARTIAL_UPFRONT,
    Plan,
    catalogue,
)

HOURS = 30 * 24
PLANS = {plan.key: plan for plan in catalogue()}
# Low to high discount: the floor binds more often as d grows.
SAMPLE_PLANS = [
    PLANS[(COMPUTE, 1, NO_UPFRONT)],
    PLANS[(EC2_INSTANCE, 1, PARTIAL_UPFRONT)],
    PLANS[(COMPUTE, 3, ALL_UPFRONT)],
    PLANS[(EC2_INSTANCE, 3, ALL_UPFRONT)],
]


def diurnal(t: int) -> float:
    """0 at night, 1 in the early afternoon."""
    return max(0.0, math.sin(math.pi * ((t % 24) - 6) / 12))


def curve(name: str) -> list[float]:
    rng = random.Random(name)
    noise = [rng.uniform(0.97, 1.03) for _ in range(HOURS)]
    if name == "steady":
        base = [100.0] * HOURS
    elif name == "diurnal":
        base = [50 + 50 * diurnal(t) for t in range(HOURS)]
    elif name == "weekly":
        base = [(80 if (t // 24) % 7 < 5 else 30) + 40 * diurnal(t) for t in range(HOURS)]
    elif name == "growing":
        base = [(50 + 100 * t / HOURS) * (0.8 + 0.2 * diurnal(t)) for t in range(HOURS)]
    elif name == "declining":
        base = [(150 - 100 * t / HOURS) * (0.8 + 0.2 * diurnal(t)) for t in range(HOURS)]
    else:  # spiky: a small base and a 10x batch in about one hour in twelve
        base = [20.0 + (200.0 if rng.random() < 0.08 else 0.0) for _ in range(HOURS)]
    return [b * n for b, n in zip(base, noise, strict=True)]


def direct_savings(hourly, commitment, discount):
    """Net savings and utilization straight from the definition, hour by hour."""
    level = commitment / (1 - discount)
    cost = sum(commitment + max(0.0, h - level) for h in hourly)
    used = sum(min(h * (1 - discount), commitment) for h in hourly)
    return sum(hourly) - cost, used / (commitment * len(hourly))


# --- Quality against exhaustive search ----------------------------------------------------------


@pytest.mark.parametrize("name", ["steady", "diurnal", "weekly", "growing", "declining", "spiky"])
@pytest.mark.parametrize("plan", SAMPLE_PLANS, ids=lambda plan: "-".join(map(str, plan.key)))
def test_optimum_matches_exhaustive_search_within_one_percent(name, plan):
    hourly = curve(name)
    ours = evaluate(hourly, plan)
    grid = exhaustive(hourly, plan)

    assert grid.period_net_savings > 0
    assert ours.period_net_savings >= 0.99 * grid.period_net_savings
    assert ours.utilization >= MIN_UTILIZATION
    # The figures are the definition's, not only the shortcut's.
    savings, utilization = direct_savings(hourly, ours.hourly_commitment, plan.discount)
    assert ours.period_net_savings == pytest.approx(savings, rel=1e-9)
    assert ours.utilization == pytest.approx(utilization, rel=1e-9)


def test_bursty_usage_with_a_deep_discount_is_held_at_the_utilization_floor():
    # $20/h always, $60/h half the day: with 57 % off, covering the $60 hours still pays, but
    # the commitment would be used only 2/3 of the time.
    plan = PLANS[(EC2_INSTANCE, 3, ALL_UPFRONT)]
    hourly = [(60.0 if t % 24 < 12 else 20.0) * (1 + 0.01 * (t % 7)) for t in range(HOURS)]
    result = evaluate(hourly, plan)
    unconstrained = exhaustive(hourly, plan, min_utilization=0.0)
    grid = exhaustive(hourly, plan)

    assert unconstrained.utilization < 0.7
    assert result.period_net_savings >= grid.period_net_savings
    assert result.utilization_bound
    assert MIN_UTILIZATION <= result.utilization < MIN_UTILIZATION + 0.005
    assert "would be used only" in result.how["hourly_commitment"]


@st.composite
def usage(draw):
    """A base load with bursts on some hours (the shape that tempts a deep discount into
    covering hours it will not use), or arbitrary values."""
    hours = draw(st.integers(min_value=168, max_value=400))
    if draw(st.booleans()):
        amounts = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
        return draw(st.lists(amounts, min_size=hours, max_size=hours))
    base = draw(st.floats(min_value=0, max_value=100))
    burst = draw(st.floats(min_value=0, max_value=500))
    share = draw(st.floats(min_value=0, max_value=1))
    seed = draw(st.integers(min_value=0, max_value=2**32))
    rng = random.Random(seed)
    return [
        base * rng.uniform(0.9, 1.1) + (burst if rng.random() < share else 0.0)
        for _ in range(hours)
    ]


@settings(max_examples=80, deadline=None)
@given(hourly=usage(), plan_index=st.integers(min_value=0, max_value=11))
def test_never_recommends_below_ninety_percent_utilization(hourly, plan_index):
    plan = catalogue()[plan_index]
    result = evaluate(hourly, plan)
    if not result.recommended:
        assert result.reason
        return
    savings, utilization = direct_savings(hourly, result.hourly_commitment, plan.discount)
    assert utilization >= MIN_UTILIZATION
    assert result.utilization >= MIN_UTILIZATION
    assert savings > 0
    # Exact up to the $0.001 step: never beaten by a coarse grid by more than one step's worth.
    grid = exhaustive(hourly, plan, steps=100)
    one_step = len(hourly) * 0.001 / (1 - plan.discount)
    assert result.period_net_savings >= grid.period_net_savings - one_step


# --- Exact cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("plan", catalogue(), ids=lambda plan: "-".join(map(str, plan.key)))
def test_flat_usage_is_covered_exactly(plan):
    result = evaluate([12.5] * HOURS, plan)

    assert result.hourly_commitment == pytest.approx(12.5 * (1 - plan.discount), abs=0.001)
    assert result.covered_level == pytest.approx(12.5, abs=0.002)
    assert result.utilization == pytest.approx(1.0)
    assert result.coverage == pytest.approx(1.0, abs=2e-4)
    assert result.monthly_net_savings == pytest.approx(12.5 * 730 * plan.discount, rel=2e-4)


def test_zero_spend_buys_nothing():
    result = recommend([0.0] * HOURS)

    assert result.best is None
    assert all(not plan.recommended for plan in result.plans)
    assert result.reason == "no commitment: no on-demand eligible spend in the period"


def test_usage_present_in_half_the_hours_buys_nothing():
    on_off = [0.0 if (t // 12) % 2 else 40.0 for t in range(HOURS)]
    result = recommend(on_off)

    assert result.best is None
    reasons = {plan.plan.key: plan.reason for plan in result.plans}
    # A 20 % discount: the quantile itself is a zero hour.
    assert reasons[(COMPUTE, 1, NO_UPFRONT)].startswith("spend is zero in 50.0 % of hours")
    # A 57 % discount would cover the on hours, used only half the time.
    assert reasons[(EC2_INSTANCE, 3, ALL_UPFRONT)] == (
        "spend is present in only 50.0 % of hours: any commitment would be used less than 90.0 %"
    )


def test_risk_view_falls_as_usage_drops():
    for name in ("steady", "diurnal", "spiky"):
        for plan in SAMPLE_PLANS:
            result = evaluate(curve(name), plan)
            ten, quarter = result.risk
            assert (ten.usage_drop, quarter.usage_drop) == (0.10, 0.25)
            assert result.monthly_net_savings >= ten.monthly_net_savings
            assert ten.monthly_net_savings >= quarter.monthly_net_savings
            assert result.utilization >= ten.utilization >= quarter.utilization


def test_risk_view_on_flat_usage():
    # $10/h flat, 20 % off: $8/h covers all of it. At 90 % usage $9 of on-demand for $8 of
    # commitment; at 75 %, $7.50 for $8: a loss.
    result = evaluate([10.0] * HOURS, PLANS[(COMPUTE, 1, NO_UPFRONT)])
    ten, quarter = result.risk

    assert result.hourly_commitment == pytest.approx(8.0)
    assert ten.monthly_net_savings == pytest.approx(1.0 * 730)
    assert ten.utilization == pytest.approx(0.90)
    assert quarter.monthly_net_savings == pytest.approx(-0.5 * 730)
    assert quarter.utilization == pytest.approx(0.75)


def test_break_even_arithmetic():
    flat = [10.0] * HOURS

    # All upfront, 25 % off: $7.50/h x 8,760 h = $65,700 paid; each month avoids $7,300 of
    # on-demand and bills nothing more: $65,700 / $7,300 = 9.0 -> month 9.
    everything = evaluate(flat, PLANS[(COMPUTE, 1, ALL_UPFRONT)])
    assert everything.upfront == pytest.approx(65_700)
    assert everything.recurring_hourly == 0
    assert everything.break_even_month == 9
    assert "= 9.00 -> month 9" in everything.how["break_even_month"]

    # Partial upfront, 23 % off: $7.70/h, half of it upfront: $33,726; each month avoids
    # $7,300 and bills $3.85 x 730 = $2,810.50: $33,726 / $4,489.50 = 7.51 -> month 8.
    partial = evaluate(flat, PLANS[(COMPUTE, 1, PARTIAL_UPFRONT)])
    assert partial.upfront == pytest.approx(33_726)
    assert partial.recurring_hourly == pytest.approx(3.85)
    assert partial.break_even_month == 8

    nothing_upfront = evaluate(flat, PLANS[(COMPUTE, 3, NO_UPFRONT)])
    assert nothing_upfront.upfront == 0
    assert nothing_upfront.break_even_month == 1


def test_every_figure_carries_its_arithmetic():
    result = evaluate(curve("diurnal"), PLANS[(COMPUTE, 1, PARTIAL_UPFRONT)])

    assert set(result.how) == {
        "hourly_commitment",
        "upfront",
        "recurring_hourly",
        "period_net_savings",
        "monthly_net_savings",
        "break_even_month",
        "utilization",
        "coverage",
    }
    assert f"${result.hourly_commitment:,.3f}/h" in result.how["hourly_commitment"]
    assert f"${result.monthly_net_savings:,.2f} a month" in result.how["monthly_net_savings"]
    assert all(case.how.startswith("usage x 0.") for case in result.risk)


# --- Choosing the plan --------------------------------------------------------------------------


def test_the_highest_savings_wins():
    result = recommend(curve("steady"))

    assert result.best is max(result.plans, key=lambda plan: plan.monthly_net_savings)
    assert result.best.plan.key == (EC2_INSTANCE, 3, ALL_UPFRONT)
    assert "the highest net savings" in result.reason


def test_within_one_percent_the_least_lock_in_wins():
    # Every plan at the same rate saves the same: the 1-year Compute plan with nothing upfront.
    same = {plan.key: 0.3 for plan in catalogue()}
    assert recommend(curve("steady"), rates=same).best.plan.key == (COMPUTE, 1, NO_UPFRONT)

    # 3 years saving 0.7 % more than 1 year (0.302 / 0.3): tied, the shorter term wins.
    close = {**same, **{plan.key: 0.302 for plan in catalogue() if plan.term_years == 3}}
    result = recommend([100.0] * HOURS, rates=close)
    assert result.best.plan.key == (COMPUTE, 1, NO_UPFRONT)
    assert "within 1% of the highest" in result.reason

    # 2 points better is no tie.
    apart = {**same, **{plan.key: 0.32 for plan in catalogue() if plan.term_years == 3}}
    assert recommend([100.0] * HOURS, rates=apart).best.plan.key == (COMPUTE, 3, NO_UPFRONT)


def test_ec2_instance_plans_are_judged_on_their_family_series():
    compute = [100.0] * HOURS
    family = [30.0] * HOURS
    result = recommend(compute, ec2_instance_hourly=family)
    by_key = {plan.plan.key: plan for plan in result.plans}

    assert by_key[(COMPUTE, 1, NO_UPFRONT)].covered_level == pytest.approx(100.0, abs=0.002)
    assert by_key[(EC2_INSTANCE, 1, NO_UPFRONT)].covered_level == pytest.approx(30.0, abs=0.002)


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hourly", "message"),
    [
        ([], "the series is empty; no recommendation without data"),
        (None, "no series given"),
        ([1.0] * 100, "100 hours is shorter than 7 days (168 hours)"),
        ([1.0] * 200 + [float("nan")], "hour 200 is nan (missing data?)"),
        ([1.0] * 200 + [float("inf")], "hour 200 is inf"),
        ([1.0] * 5 + [-2.0] + [1.0] * 200, "hour 5 is negative (-2.0)"),
        ([1.0] * 7 + ["n/a"] + [1.0] * 200, "hour 7 is not a number ('n/a')"),
        ((v for v in [1.0] * 7 + [None] + [1.0] * 200), "hour 7 is not a number (None)"),
        (42, "not a series of numbers (int)"),
    ],
)
def test_bad_input_is_refused_with_the_reason(hourly, message):
    with pytest.raises(ValueError, match="hourly on-demand eligible spend") as refused:
        recommend(hourly)
    assert message in str(refused.value)


def test_bad_family_series_names_itself():
    with pytest.raises(ValueError, match="EC2 Instance Savings Plan eligible spend: hour 3"):
        recommend([1.0] * HOURS, ec2_instance_hourly=[1.0, 1.0, 1.0, -1.0] + [1.0] * HOURS)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({(COMPUTE, 2, NO_UPFRONT): 0.3}, "unknown Savings Plan"),
        ({(COMPUTE, 1, NO_UPFRONT): 1.0}, "must be a fraction in [0, 1)"),
        ({(COMPUTE, 1, NO_UPFRONT): -0.1}, "must be a fraction in [0, 1)"),
        ({(COMPUTE, 1, NO_UPFRONT): "twenty"}, "is not a number"),
    ],
)
def test_bad_rate_overrides_are_refused(overrides, message):
    with pytest.raises(ValueError) as refused:
        recommend([1.0] * HOURS, rates=overrides)
    assert message in str(refused.value)


def test_default_rates_have_the_published_shape():
    rates = {plan.key: plan.discount for plan in catalogue()}
    for term in (1, 3):
        for payment in (NO_UPFRONT, PARTIAL_UPFRONT, ALL_UPFRONT):
            # The EC2 Instance plan's lack of flexibility is paid for in discount.
            assert rates[(EC2_INSTANCE, term, payment)] > rates[(COMPUTE, term, payment)]
    for plan_type in (COMPUTE, EC2_INSTANCE):
        for payment in (NO_UPFRONT, PARTIAL_UPFRONT, ALL_UPFRONT):
            assert rates[(plan_type, 3, payment)] > rates[(plan_type, 1, payment)]
        for term in (1, 3):
            assert (
                rates[(plan_type, term, NO_UPFRONT)]
                < rates[(plan_type, term, PARTIAL_UPFRONT)]
                < rates[(plan_type, term, ALL_UPFRONT)]
            )


def test_a_plan_without_discount_buys_nothing():
    result = evaluate([10.0] * HOURS, Plan(COMPUTE, 1, NO_UPFRONT, 0.0))
    assert not result.recommended
    assert result.reason == "a discount rate of 0.0 % cannot save anything"
