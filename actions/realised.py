"""Realised savings: what the fixes Spendlens applied have saved so far, from the action log.

A fix is a successful stop that applied a recommendation: its InstanceAction row carries the
recommendation's monthly saving (actions/stop_start.py writes it). The fix saves that much a month
for as long as the instance stays stopped:

- from the moment the stop finished,
- until the next successful start of the instance through Spendlens, or until the inventory
  saw the instance running again (started outside Spendlens, e.g. in the console), whichever
  comes first; a fix with neither is still in force.

Money accrues by the hour at monthly saving / 730 (AWS's hours in a month, the figure every
saving uses), so "this month" is the accrual since the 1st and "to date" since each stop.
Potential savings (open recommendations) and realised savings never count the same finding:
a stop that applies a recommendation closes it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from actions.models import InstanceAction
from costs.pricing import HOURS_PER_MONTH

CENT = Decimal("0.01")
STOPPED_STATES = {"stopped", "stopping", "terminated", "shutting-down"}


@dataclass(frozen=True)
class Fix:
    action: InstanceAction
    start: datetime
    end: datetime | None  # None: still stopped, still saving

    @property
    def monthly_saving(self) -> Decimal:
        return self.action.monthly_saving

    @property
    def in_force(self) -> bool:
        return self.end is None

    def realised(self, since: datetime | None, until: datetime) -> Decimal:
        """The saving accrued between SINCE (None: ever) and UNTIL."""
        start = self.start if since is None else max(self.start, since)
        end = until if self.end is None else min(self.end, until)
        if end <= start:
            return Decimal(0)
        hours = Decimal((end - start).total_seconds()) / Decimal(3600)
        return self.monthly_saving * hours / HOURS_PER_MONTH


@dataclass
class Realised:
    """Realised savings of some fixes: this month, to date, and the monthly rate in force."""

    this_month: Decimal = Decimal(0)
    to_date: Decimal = Decimal(0)
    in_force_monthly: Decimal = Decimal(0)
    fixes: int = 0

    def add(self, fix: Fix, month_start: datetime, now: datetime) -> None:
        self.this_month += fix.realised(month_start, now)
        self.to_date += fix.realised(None, now)
        self.in_force_monthly += fix.monthly_saving if fix.in_force else 0
        self.fixes += 1

    def rounded(self) -> Realised:
        return Realised(
            self.this_month.quantize(CENT),
            self.to_date.quantize(CENT),
            self.in_force_monthly.quantize(CENT),
            self.fixes,
        )


@dataclass
class RealisedSavings:
    total: Realised
    accounts: list[tuple[object, Realised]] = field(default_factory=list)  # (CloudAccount, ...)
    month_start: datetime | None = None


def fix_actions(actions):
    """The stops among ACTIONS that applied a saving, each with the start that ended it."""
    next_start = InstanceAction.objects.filter(
        account=OuterRef("account"),
        aws_instance_id=OuterRef("aws_instance_id"),
        action=InstanceAction.Action.START,
        result=InstanceAction.Result.SUCCEEDED,
        requested_at__gt=OuterRef("requested_at"),
    ).order_by("requested_at")
    return (
        actions.filter(
            action=InstanceAction.Action.STOP,
            result=InstanceAction.Result.SUCCEEDED,
            monthly_saving__gt=0,
        )
        .annotate(started_again_at=Subquery(next_start.values("finished_at")[:1]))
        .select_related("account__organization", "instance")
        .order_by("requested_at", "pk")
    )


def as_fix(action: InstanceAction) -> Fix:
    start = action.finished_at or action.requested_at
    ends = [action.started_again_at] if action.started_again_at else []
    instance = action.instance
    # Started outside Spendlens: the inventory saw it leave the stopped states after our stop.
    if (
        instance is not None
        and instance.state not in STOPPED_STATES
        and instance.state_since is not None
        and instance.state_since > start
    ):
        ends.append(instance.state_since)
    return Fix(action, start, min(ends) if ends else None)


def month_start_of(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def realised_savings(actions, now: datetime | None = None) -> RealisedSavings:
    """Realised savings of the fixes among ACTIONS (an InstanceAction queryset, scoped)."""
    now = now or timezone.now()
    month_start = month_start_of(now)
    total = Realised()
    by_account: dict[int, Realised] = defaultdict(Realised)
    accounts = {}
    for action in fix_actions(actions):
        fix = as_fix(action)
        total.add(fix, month_start, now)
        by_account[action.account_id].add(fix, month_start, now)
        accounts[action.account_id] = action.account
    rows = sorted(
        ((accounts[pk], realised.rounded()) for pk, realised in by_account.items()),
        key=lambda row: (-row[1].to_date, str(row[0])),
    )
    return RealisedSavings(total.rounded(), rows, month_start)
