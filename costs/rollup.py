"""Keep CostRollup equal to the cost store, one organisation and date range at a time."""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction
from django.db.models import Max, Min, Sum

from accounts.models import Organization
from costs.models import CostRecord, CostRollup
from costs.signals import store_changed
from costs.summary import counted_once

FIELDS = {
    CostRollup.Dimension.SERVICE: "service",
    CostRollup.Dimension.REGION: "region",
    CostRollup.Dimension.ACCOUNT: "sub_account_id",
}


def _take_turn(organization) -> None:
    Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)


def refresh(organization, start: date, end: date) -> None:
    """Recompute ORGANIZATION's rollups for the days START..END (inclusive).

    Two writers of one organisation's store (two accounts' syncs, a sync and an import) would
    each delete what they see and insert totals the other's uncommitted rows miss, and the
    second insert would hit the first's keys. So refreshes of one organisation take turns on
    its row, held until the caller's transaction commits; the next one then sees every
    committed record. (NO KEY UPDATE: inserting records that reference the organisation, which
    takes KEY SHARE on it, is not blocked.)
    """
    quote = connection.ops.quote_name
    table = quote(CostRollup._meta.db_table)
    with transaction.atomic():
        _take_turn(organization)
        CostRollup.objects.filter(
            organization=organization, usage_date__gte=start, usage_date__lte=end
        ).delete()
        records = counted_once(
            CostRecord.objects.filter(
                organization=organization,
                currency="USD",
                usage_date__gte=start,
                usage_date__lte=end,
            ),
            start,
            end,
        )
        for dimension, field in FIELDS.items():
            grouped = records.values("usage_date", field).annotate(total=Sum("amount")).order_by()
            select, params = grouped.query.sql_with_params()
            # One INSERT ... SELECT per dimension: the database aggregates, nothing travels.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (organization_id, dimension, usage_date, {quote('key')}, amount) "  # noqa: E501, S608
                    f"SELECT %s, %s, q.usage_date, q.{quote(field)}, q.total FROM ({select}) q",
                    [organization.pk, dimension.value, *params],
                )
        store_changed.send(sender=CostRollup, organization=organization, start=start, end=end)


def rebuild(organization) -> None:
    """Every day of ORGANIZATION's store (after a bulk load, or to repair)."""
    with transaction.atomic():
        _take_turn(organization)
        bounds = CostRecord.objects.filter(organization=organization).aggregate(
            first=Min("usage_date"), last=Max("usage_date")
        )
        CostRollup.objects.filter(organization=organization).delete()
        if bounds["first"] is not None:
            refresh(organization, bounds["first"], bounds["last"])
