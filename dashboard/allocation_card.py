"""The dashboard's "By team" card: this month's spend per value of a dimension, read from the
allocation rollups (a few rows per value and day, however big the store). A member following
a value (FollowedValue, set on the profile page) sees the card open on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from accounts.models import Organization
from allocation import summary
from allocation.models import AllocationRollup, Dimension, FollowedValue

TOP_VALUES = 5
REST = "Everyone else"
VALUE_DAYS = 90  # the values offered on the profile page: those with spend this recently


@dataclass(frozen=True)
class Followed:
    value: str
    amount: Decimal
    services: list[tuple[str, Decimal]]


@dataclass(frozen=True)
class TeamCard:
    dimension: Dimension
    month_start: date
    rows: list[tuple[str, Decimal]]  # the top values, then the rest as one
    total: Decimal
    followed: Followed | None


def followed_values(user):
    """USER's followed values in organisations they still belong to."""
    organizations = Organization.objects.for_user(user)
    return (
        FollowedValue.objects.filter(user=user, dimension__organization__in=organizations)
        .select_related("dimension", "dimension__organization")
        .order_by("dimension__organization__name", "dimension__name", "value")
    )


def team_card(user, today: date) -> TeamCard | None:
    """The card for USER: on the dimension of the value they follow, else on the first
    dimension of their organisations; None when they have no dimension."""
    follow = followed_values(user).first()
    if follow is not None:
        dimension = follow.dimension
    else:
        dimension = (
            Dimension.objects.filter(organization__in=Organization.objects.for_user(user))
            .order_by("organization__name", "created_at", "pk")
            .first()
        )
    if dimension is None:
        return None
    month_start = today.replace(day=1)
    totals = summary.totals(dimension, month_start, today)
    ranked = list(totals.items())
    rows = ranked[:TOP_VALUES]
    rest = sum((amount for _, amount in ranked[TOP_VALUES:]), Decimal(0))
    if rest:
        rows.append((REST, rest))
    followed = None
    if follow is not None:
        services = summary.services(dimension, follow.value, month_start, today)
        followed = Followed(
            follow.value,
            totals.get(follow.value, Decimal(0)),
            list(services.items())[:TOP_VALUES],
        )
    return TeamCard(dimension, month_start, rows, sum(totals.values(), Decimal(0)), followed)


def value_choices(user, today: date) -> list[tuple[str, str]]:
    """("<dimension id>:<value>", "Team = payments") for every value with recent spend in
    USER's organisations: what the profile page offers to follow."""
    dimensions = Dimension.objects.filter(organization__in=Organization.objects.for_user(user))
    rows = (
        AllocationRollup.objects.filter(
            dimension__in=dimensions, usage_date__gte=today - timedelta(days=VALUE_DAYS)
        )
        .values_list("dimension_id", "dimension__name", "value")
        .distinct()
        .order_by("dimension__name", "value")
    )
    return [(f"{pk}:{value}", f"{name} = {value}") for pk, name, value in rows]
