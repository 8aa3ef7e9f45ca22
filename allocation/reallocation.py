"""Re-allocating history after a rule change: a preview of what would move, then the change.

A rule change applies to new days at once (the admin refreshes the current month on save);
past months keep the rules they were allocated with until someone asks, because re-allocating
history changes figures people have already reported. preview() shows, per value, the total
the rollups hold now and the total under the current rules; apply() writes the new rollups,
all of the window or none of it, and records who asked and what moved (Reallocation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from allocation import engine
from allocation.models import AllocationRollup, Dimension, Reallocation
from costs.models import CostRollup


@dataclass(frozen=True)
class Change:
    value: str
    before: Decimal
    after: Decimal

    @property
    def difference(self) -> Decimal:
        return self.after - self.before


def changes(before: dict[str, Decimal], after: dict[str, Decimal]) -> list[Change]:
    """Every value of either side, biggest after first; a value absent on one side is 0."""
    found = [
        Change(value, before.get(value, Decimal(0)), after.get(value, Decimal(0)))
        for value in before.keys() | after.keys()
    ]
    return sorted(found, key=lambda c: (-c.after, -c.before, c.value))


def moved(found: list[Change]) -> Decimal:
    """What the values gained between before and after (the spend that changes value)."""
    return sum((c.difference for c in found if c.difference > 0), Decimal(0))


def recorded_changes(record: Reallocation) -> list[Change]:
    def decimals(totals):
        return {value: Decimal(amount) for value, amount in totals.items()}

    return changes(decimals(record.before), decimals(record.after))


def preview(dimension: Dimension, start: date, end: date) -> list[Change]:
    """Per value: the rollups' total of START..END now, and under the current rules."""
    before = engine.rollup_totals(dimension, start, end)
    after = engine.allocate(dimension, start, end).by_value()
    return changes(before, after)


def apply(dimension: Dimension, start: date, end: date, user=None) -> Reallocation:
    """Re-allocate START..END under the current rules, in one transaction, and record it."""
    requested_at = timezone.now()
    with transaction.atomic():
        before = engine.rollup_totals(dimension, start, end)
        allocation = engine.allocate(dimension, start, end)
        engine.store(dimension, start, end, allocation)
        finished_at = timezone.now()
        record = Reallocation.objects.create(
            dimension=dimension,
            start=start,
            end=end,
            requested_by=user,
            requested_at=requested_at,
            finished_at=finished_at,
            before=_as_json(before),
            after=_as_json(allocation.by_value()),
        )
        Dimension.objects.filter(pk=dimension.pk).update(reallocated_at=finished_at)
    dimension.reallocated_at = finished_at
    return record


def _as_json(totals: dict[str, Decimal]) -> dict[str, str]:
    # Decimal text, not float: the record keeps the store's ten places, to the cent and beyond,
    # written the same way whatever the database returned (SQLite drops trailing zeros).
    return {
        value: str(Decimal(amount).quantize(engine.PLACES))
        for value, amount in sorted(totals.items())
    }


def first_day(dimension: Dimension) -> date | None:
    """The earliest day the rollups or the organisation's store hold (the default window)."""
    days = [
        AllocationRollup.objects.filter(dimension=dimension).aggregate(d=Min("usage_date"))["d"],
        CostRollup.objects.filter(organization_id=dimension.organization_id).aggregate(
            d=Min("usage_date")
        )["d"],
    ]
    days = [d for d in days if d is not None]
    return min(days) if days else None
