"""Writing an import: replace the stored records of what the file covers, refresh rollups.

Run inside the importer's transaction, so that a failure leaves the store as it was.
"""

from __future__ import annotations

import functools
import io
import operator
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.db import connection
from django.db.models import Max, Min, Q

from accounts.models import Organization
from costs import partitions, rollup
from costs.models import CommitmentUsageHour, CostRecord, CostSource

from .aggregate import TagNumbers
from .source import CHUNK_ROWS


def _copy_rows(model, records: pa.Table) -> None:
    """PostgreSQL: stream the rows through COPY, formatted as CSV by pyarrow."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in records.column_names)
    statement = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN (FORMAT csv)"
    # Quoting every non-null value keeps "" (an empty region) apart from NULL (no account).
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    # psycopg raises its own errors from inside COPY; Django's wrapper makes them DatabaseError.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for batch in records.to_batches(max_chunksize=CHUNK_ROWS):
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())


def _create_usage_hours(rows: pa.Table) -> None:
    foreign_keys = ("organization", "account", "billing_import")
    for batch in rows.to_batches(max_chunksize=5_000):
        objects = []
        for row in batch.to_pylist():
            row.update({f"{name}_id": row.pop(name) for name in foreign_keys})
            objects.append(CommitmentUsageHour(**row))
        CommitmentUsageHour.objects.bulk_create(objects)


def _create_records(records: pa.Table, tags: TagNumbers) -> None:
    """Any other database: bulk_create in batches."""
    objects_by_text = dict(zip(tags.texts, tags.objects, strict=True))
    foreign_keys = ("organization", "account", "billing_import")
    for batch in records.to_batches(max_chunksize=5_000):
        objects = []
        for row in batch.to_pylist():
            row.update({f"{name}_id": row.pop(name) for name in foreign_keys})
            row["tags"] = objects_by_text.get(row["tags"])
            objects.append(CostRecord(**row))
        CostRecord.objects.bulk_create(objects)


def written_months(records: pa.Table) -> list[date]:
    """The months RECORDS fall in, for partitions.ensure_months before the import's
    transaction (creating a partition locks the whole table: not for an import's duration)."""
    if not records.num_rows:
        return []
    low, high = pc.min_max(records.column("usage_date")).values()
    return partitions.months_between(low.as_py(), high.as_py())


def replace_records(
    organization: Organization,
    scopes,
    records: pa.Table,
    tags: TagNumbers,
    usage_hours: pa.Table | None = None,
    replace_usage_hours: bool = True,
) -> int:
    """Delete the stored records (and commitment usage hours) of SCOPES and write RECORDS and
    USAGE_HOURS; returns the records deleted. Without REPLACE_USAGE_HOURS (an import that does
    not compute them) the stored commitment usage hours are left as they are.

    Run inside the caller's transaction.
    """
    # One import per organisation at a time: two imports of one period must not interleave.
    Organization.objects.select_for_update().get(pk=organization.pk)
    by_period: dict[tuple, list[str]] = {}
    for period, provider, sub_account in scopes:
        by_period.setdefault((period, provider), []).append(sub_account)
    replaced = 0
    stored_span = None
    if by_period:
        scope = functools.reduce(
            operator.or_,
            (
                Q(billing_period=period, provider=provider, sub_account_id__in=sub_accounts)
                for (period, provider), sub_accounts in by_period.items()
            ),
        )
        stored = CostRecord.objects.filter(organization=organization, source=CostSource.FOCUS)
        stored = stored.filter(scope)
        # A billing period's rows can carry usage dates outside it (late charges, credits):
        # bounded by what is stored of these scopes, the DELETE reads only those months'
        # partitions and still finds every row (the bounds come from the cost_org_period index).
        bounds = stored.aggregate(low=Min("usage_date"), high=Max("usage_date"))
        if bounds["low"] is not None:
            replaced = stored.filter(
                usage_date__gte=bounds["low"], usage_date__lte=bounds["high"]
            ).delete()[0]
            stored_span = (bounds["low"], bounds["high"])
        aws_scopes = [
            Q(billing_period=period, sub_account_id__in=sub_accounts)
            for (period, provider), sub_accounts in by_period.items()
            if provider == "AWS"  # the only provider with commitment usage hours
        ]
        if aws_scopes and replace_usage_hours:
            CommitmentUsageHour.objects.filter(organization=organization).filter(
                functools.reduce(operator.or_, aws_scopes)
            ).delete()
    if records.num_rows:
        if connection.vendor == "postgresql":
            # Normally done before the transaction (a no-op here then); rows of a month
            # without a partition would land in DEFAULT, correct but not where they belong.
            partitions.ensure_months(written_months(records))
            _copy_rows(CostRecord, records)
        else:
            _create_records(records, tags)
    if usage_hours is not None and usage_hours.num_rows:
        if connection.vendor == "postgresql":
            _copy_rows(CommitmentUsageHour, usage_hours)
        else:
            _create_usage_hours(usage_hours)
    _refresh_rollups(organization, by_period, records, stored_span)
    return replaced


def _next_month(day: date) -> date:
    # A (nonsensical, but valid) period of December 9999 has no next month: OverflowError.
    if (day.year, day.month) == (date.max.year, 12):
        return date.max
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _refresh_rollups(
    organization: Organization, by_period: dict, records: pa.Table, stored_span=None
) -> None:
    """Rollups of every day the import replaced or wrote."""
    starts = [period for period, _ in by_period if period]
    ends = [_next_month(period) for period in starts]
    if stored_span is not None:
        starts.append(stored_span[0])
        ends.append(stored_span[1])
    if records.num_rows:
        low, high = pc.min_max(records.column("usage_date")).values()
        starts.append(low.as_py())
        ends.append(high.as_py())
    if starts:
        rollup.refresh(organization, min(starts), max(ends))
