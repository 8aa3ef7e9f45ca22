"""Daily coverage and utilization from FOCUS data: CommitmentDay rows of source "focus", built
from the hourly commitment usage the importer stored (costs.CommitmentUsageHour).

The figures mean what Cost Explorer's do, so the two sources can stand in for each other:
- Savings Plans: covered spend is the on-demand (list) cost of the usage a plan covered (Cost
  Explorer's SpendCoveredBySavingsPlans), on-demand spend the list cost of the eligible usage
  it did not (OnDemandCost); used and unused commitment are the plans' effective cost of the
  covered usage and of the unused commitment (UsedCommitment, UnusedCommitment); net savings
  are covered spend less the whole commitment (NetSavings).
- Reservations: utilization from used and unused effective cost as above. FOCUS cannot tell
  which on-demand usage a reservation could have covered, so reservation coverage is left to
  Cost Explorer (None here, never a guess).
A day with no figure for a kind has no row; a figure whose ListCost the file lacked is None.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from commitments.models import CommitmentDay
from commitments.report import share_percent
from costs.models import CommitmentUsageHour

Bucket = CommitmentUsageHour.Bucket
Kind = CommitmentDay.Kind


def _kind_figures(kind: str, sums: dict) -> dict | None:
    """The CommitmentDay figures of one account, day and kind from its buckets' sums, or None
    when the day has nothing of that kind."""
    used_bucket, unused_bucket = (
        (Bucket.SAVINGS_PLAN_USED, Bucket.SAVINGS_PLAN_UNUSED)
        if kind == Kind.SAVINGS_PLAN
        else (Bucket.RESERVATION_USED, Bucket.RESERVATION_UNUSED)
    )
    has_commitment = used_bucket in sums or unused_bucket in sums
    if kind == Kind.RESERVATION and not has_commitment:
        return None
    if kind == Kind.SAVINGS_PLAN and not has_commitment and Bucket.ON_DEMAND not in sums:
        return None
    zero = (Decimal(0), Decimal(0))
    figures = {"coverage_percent": None, "covered_spend": None, "on_demand_spend": None}
    if kind == Kind.SAVINGS_PLAN:
        covered = sums.get(used_bucket, zero)[0]
        on_demand = sums.get(Bucket.ON_DEMAND, zero)[0]
        figures.update(
            covered_spend=covered,
            on_demand_spend=on_demand,
            coverage_percent=share_percent(covered, on_demand),
        )
    if has_commitment:
        used = sums.get(used_bucket, zero)[1]
        unused = sums.get(unused_bucket, zero)[1]
        covered_list = sums.get(used_bucket, zero)[0]
        figures.update(
            used_commitment=used,
            unused_commitment=unused,
            utilization_percent=share_percent(used, unused),
            net_savings=None if covered_list is None else covered_list - used - unused,
        )
    return figures


def rebuild_days(organization, start: date, end: date) -> int:
    """Replace ORGANIZATION's FOCUS-sourced CommitmentDay rows of START..END (inclusive) with
    what its stored usage hours say; returns the rows written."""
    CommitmentDay.objects.filter(
        account__organization=organization,
        source=CommitmentDay.Source.FOCUS,
        day__gte=start,
        day__lte=end,
    ).delete()
    hours = CommitmentUsageHour.objects.filter(
        organization=organization,
        account__isnull=False,
        hour__gte=datetime.combine(start, time.min, tzinfo=UTC),
        hour__lte=datetime.combine(end, time.max, tzinfo=UTC),  # end may be date.max
    )
    sums = defaultdict(dict)  # (account, day, currency) -> bucket -> (list, effective)
    for row in (
        hours.annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("account_id", "day", "currency", "bucket")
        .annotate(
            listed=Sum("list_cost"),
            unlisted=Count("pk") - Count("list_cost"),
            effective=Sum("effective_cost"),
        )
        .order_by()
    ):
        listed = None if row["unlisted"] else row["listed"]
        key = (row["account_id"], row["day"], row["currency"])
        sums[key][row["bucket"]] = (listed, row["effective"])
    currencies = defaultdict(set)
    for account_id, day, currency in sums:
        currencies[(account_id, day)].add(currency)
    days = []
    for (account_id, day, currency), buckets in sums.items():
        if len(currencies[(account_id, day)]) > 1:
            # One row per account, day and kind: a day billed in two currencies is not summed.
            continue
        for kind in Kind.values:
            figures = _kind_figures(kind, buckets)
            if figures is not None:
                days.append(
                    CommitmentDay(
                        account_id=account_id,
                        day=day,
                        kind=kind,
                        source=CommitmentDay.Source.FOCUS,
                        currency=currency,
                        **figures,
                    )
                )
    CommitmentDay.objects.bulk_create(days, batch_size=2_000)
    return len(days)


def on_store_changed(sender, organization, start, end, **kwargs):
    """costs.signals.store_changed: an import (or sync) changed these days."""
    rebuild_days(organization, start, end)


def on_store_expired(sender, before, dry_run, **kwargs):
    """costs.signals.store_expired: retention removed the days before BEFORE. The days read
    from Cost Explorer go too: COST_RETENTION_MONTHS bounds every cost figure kept."""
    expired = CommitmentDay.objects.filter(day__lt=before)
    return {"commitment days": expired.count() if dry_run else expired.delete()[0]}
