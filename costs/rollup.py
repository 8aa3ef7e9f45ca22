"""Keep CostRollup equal to the cost store, one organisation and date range at a time."""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction
from django.db.models import Max, Min, Sum

from costs.models import CostRecord, CostRollup
from costs.summary import counted_once

FIELDS = {
    CostRollup.Dimension.SERVICE: "service",
    CostRollup.Dimension.REGION: "region",
    CostRollup.Dimension.ACCOUNT: "sub_account_id",
}


def refresh(organization, start: date, end: date) -> None:
    """Recompute ORGANIZATION's rollups for the days START..END (inclusive)."""
    quote = connection.ops.quote_name
    table = quote(CostRollup._meta.db_table)
    with transaction.atomic():
        CostRollup.objects.filter(
            organization=organization, usage_date__gte=start, usage_date__lte=end
        ).delete()
        records = counted_once(
            CostRecord.objects.filter(
                organization=organization,
                currency="USD",
                usage_date__gte=start,
                usage_date__lte=end,
            )
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


def rebuild(organization) -> None:
    """Every day of ORGANIZATION's store (after a bulk load, or to repair)."""
    bounds = CostRecord.objects.filter(organization=organization).aggregate(
        first=Min("usage_date"), last=Max("usage_date")
    )
    CostRollup.objects.filter(organization=organization).delete()
    if bounds["first"] is not None:
        refresh(organization, bounds["first"], bounds["last"])
