"""Savings Plan discount rates: the catalogue of plans the purchase engine compares.

A plan's discount rate d is the share of the on-demand price it saves: a Savings Plan hour that
covers $1.00 of on-demand usage costs (1 - d) dollars of commitment.

The defaults below are approximations, rounded to whole per cent, chosen to sit in the ranges
AWS advertises for Savings Plans ("up to 66 %" for Compute, "up to 72 %" for EC2 Instance, the
typical general-purpose family saving well under that); they were not taken from AWS's price
list and no account pays exactly them. The real rate depends on the instance family, region,
operating system and tenancy. Every caller can override any of them per call
(`catalogue(overrides)`), e.g. with the discount AWS's own GetSavingsPlansPurchaseRecommendation
reports for the account, which is what a purchase decision should use.

Shape of the table, as on AWS's price list:
- EC2 Instance Savings Plans (one family in one region) save more than Compute Savings Plans
  (any family, region, Fargate and Lambda): the price of flexibility;
- 3-year terms save much more than 1-year terms;
- paying more upfront saves a little more (a few points).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

COMPUTE = "compute"
EC2_INSTANCE = "ec2_instance"
PLAN_TYPES = (COMPUTE, EC2_INSTANCE)

NO_UPFRONT = "no_upfront"
PARTIAL_UPFRONT = "partial_upfront"
ALL_UPFRONT = "all_upfront"
PAYMENTS = (NO_UPFRONT, PARTIAL_UPFRONT, ALL_UPFRONT)

TERMS = (1, 3)

# AWS counts a Savings Plan year as 365 days; a month is 730 hours (8,760 / 12), as in the
# AWS pricing calculator and Cost Explorer's monthly figures.
HOURS_PER_YEAR = 8760
HOURS_PER_MONTH = 730

# Share of the commitment paid upfront for each payment option (AWS: partial = half).
UPFRONT_SHARE = {NO_UPFRONT: 0.0, PARTIAL_UPFRONT: 0.5, ALL_UPFRONT: 1.0}

TYPE_LABELS = {COMPUTE: "Compute Savings Plan", EC2_INSTANCE: "EC2 Instance Savings Plan"}
PAYMENT_LABELS = {
    NO_UPFRONT: "no upfront",
    PARTIAL_UPFRONT: "partial upfront",
    ALL_UPFRONT: "all upfront",
}

# (plan type, term in years, payment option) -> discount rate d. See the module docstring.
DEFAULT_RATES: dict[tuple[str, int, str], float] = {
    (COMPUTE, 1, NO_UPFRONT): 0.20,
    (COMPUTE, 1, PARTIAL_UPFRONT): 0.23,
    (COMPUTE, 1, ALL_UPFRONT): 0.25,
    (COMPUTE, 3, NO_UPFRONT): 0.45,
    (COMPUTE, 3, PARTIAL_UPFRONT): 0.48,
    (COMPUTE, 3, ALL_UPFRONT): 0.50,
    (EC2_INSTANCE, 1, NO_UPFRONT): 0.30,
    (EC2_INSTANCE, 1, PARTIAL_UPFRONT): 0.33,
    (EC2_INSTANCE, 1, ALL_UPFRONT): 0.35,
    (EC2_INSTANCE, 3, NO_UPFRONT): 0.52,
    (EC2_INSTANCE, 3, PARTIAL_UPFRONT): 0.55,
    (EC2_INSTANCE, 3, ALL_UPFRONT): 0.57,
}


@dataclass(frozen=True)
class Plan:
    """One purchasable Savings Plan variant and its discount rate."""

    plan_type: str
    term_years: int
    payment: str
    discount: float

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.plan_type, self.term_years, self.payment)

    @property
    def label(self) -> str:
        return (
            f"{TYPE_LABELS[self.plan_type]}, {self.term_years} year"
            f"{'s' if self.term_years > 1 else ''}, {PAYMENT_LABELS[self.payment]}"
        )

    @property
    def term_hours(self) -> int:
        return self.term_years * HOURS_PER_YEAR

    @property
    def term_months(self) -> int:
        return self.term_years * 12

    @property
    def upfront_share(self) -> float:
        return UPFRONT_SHARE[self.payment]

    @property
    def lock_in(self) -> tuple[int, int, int]:
        """Smaller is less lock-in: a shorter term first, then the flexible plan type
        (Compute covers any family, region, Fargate and Lambda), then less cash upfront."""
        return (
            self.term_years,
            PLAN_TYPES.index(self.plan_type),
            PAYMENTS.index(self.payment),
        )


def catalogue(overrides: Mapping[tuple[str, int, str], float] | None = None) -> list[Plan]:
    """The twelve plan variants with the default rates, any of them overridden.

    `overrides` maps (plan type, term years, payment) to a discount rate in [0, 1).
    """
    rates = dict(DEFAULT_RATES)
    for key, rate in (overrides or {}).items():
        if key not in DEFAULT_RATES:
            raise ValueError(
                f"unknown Savings Plan {key!r}: expected (plan type, term years, payment) with "
                f"plan type in {PLAN_TYPES}, term in {TERMS}, payment in {PAYMENTS}"
            )
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise ValueError(f"discount rate for {key!r} is not a number: {rate!r}") from None
        if not (math.isfinite(rate) and 0 <= rate < 1):
            raise ValueError(
                f"discount rate for {key!r} must be a fraction in [0, 1) "
                f"(0.2 for 20 %), got {rate!r}"
            )
        rates[key] = rate
    return [Plan(t, term, p, rates[(t, term, p)]) for (t, term, p) in DEFAULT_RATES]
