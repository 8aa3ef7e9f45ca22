"""import_athena: one billing period aggregated in Athena, loaded like a file's daily groups.

The result is read from the query's CSV in S3, not through GetQueryResults: that API pages
1,000 rows per call (a month of a large organisation is millions of daily groups, hours of
calls) and returns every value as text in JSON, while the CSV streams through the file
importer's chunked reader in one GET. The rows are only written once the whole result has been
read and checked (its totals must account for every row Athena read), in the file importer's
transaction, through the same store.replace_records.
"""

from __future__ import annotations

import logging
import uuid

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import DatabaseError, transaction

from accounts import aws
from costs.ingest.focus.aggregate import TagNumbers, cost_records
from costs.ingest.focus.errors import ImportFailed, storable
from costs.ingest.focus.importer import (
    connected_accounts,
    database_message,
    finish_failed,
    record_outcome,
)
from costs.ingest.focus.source import open_source
from costs.ingest.focus.store import replace_records
from costs.ingest.focus.validation import AMOUNT_TYPE, Tally
from costs.models import BillingImport

from . import catalog, query
from .sql import GROUP_COLUMNS, REASONS, RESULT_COLUMNS, aggregation_query

logger = logging.getLogger("costs.ingest.athena")
FILE_FORMAT = "athena"


def import_athena(
    uri: str,
    organization,
    account_id: str | None = None,
    athena=None,
    glue=None,
    clock=None,
    sleep=None,
) -> BillingImport:
    """Import the billing period an athena:// URI names, aggregated by Athena.

    ATHENA and GLUE are boto3 clients (by default the platform's, in the URI's region or
    AWS_DEFAULT_REGION); CLOCK and SLEEP pace the polling. Returns the succeeded
    BillingImport; raises ImportFailed, after recording the failure, as import_billing does.
    """
    billing_import = BillingImport.objects.create(
        organization=organization, uri=uri, file_format=FILE_FORMAT
    )
    tally = Tally()
    execution = query.Execution()
    try:
        _run(billing_import, tally, execution, account_id, athena, glue, clock, sleep)
    except ImportFailed as exc:
        _keep_query(billing_import, execution)
        finish_failed(billing_import, tally, exc.message)
        raise ImportFailed(exc.message, billing_import) from exc
    except Exception as exc:
        logger.exception("Import %s of %s failed unexpectedly", billing_import.pk, uri)
        _keep_query(billing_import, execution)
        finish_failed(billing_import, tally, f"unexpected error: {exc!r}")
        raise
    billing_import.rows_skipped = tally.rows_skipped
    return billing_import


def _keep_query(billing_import: BillingImport, execution: query.Execution) -> None:
    billing_import.query_execution_id = execution.id
    billing_import.bytes_scanned = execution.bytes_scanned


def _run(billing_import, tally, execution, account_id, athena, glue, clock, sleep) -> None:
    target = catalog.parse(billing_import.uri)
    if glue is None:
        glue = aws.platform_client("glue", target.region)
    if athena is None:
        athena = aws.platform_client("athena", target.region)
    table = catalog.describe(glue, target)
    if table.kind != "FOCUS":  # saved with the outcome: "athena CUR 2.0"
        billing_import.file_format = f"{FILE_FORMAT} {table.kind}"
    sql = aggregation_query(table, target.period, account_id)
    pacing = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
    query.run(
        athena,
        sql,
        target.workgroup,
        target.database,
        execution,
        timeout=settings.ATHENA_QUERY_TIMEOUT_SECONDS,
        # Unique per import even across deployments sharing a workgroup; botocore's retries
        # of the start reuse it.
        token=f"spendlens-import-{billing_import.pk}-{uuid.uuid4().hex}",
        **pacing,
    )
    _keep_query(billing_import, execution)
    groups = _read_result(execution.output_location, tally)
    if tally.rows_read == 0:
        raise ImportFailed(
            f"the table {target.database}.{target.table} has no rows for the billing period "
            f"{target.period}; nothing was replaced (the stored period is kept)"
        )
    tags = TagNumbers()
    accounts = connected_accounts(billing_import.organization)
    scopes = _scopes(groups)
    if groups.num_rows:
        groups = groups.append_column("tag_id", tags.number(groups["tags"].combine_chunks()))
        records = cost_records(groups, billing_import, accounts, tags)
    else:
        records = pa.table({})
    try:
        with transaction.atomic():
            replaced = replace_records(
                billing_import.organization, scopes, records, tags, replace_usage_hours=False
            )
            record_outcome(billing_import, tally, scopes, records.num_rows, replaced)
    except DatabaseError as exc:
        raise ImportFailed(database_message(exc)) from exc


def _read_result(location: str, tally: Tally) -> pa.Table:
    """The daily groups of the result at LOCATION; its total row goes to TALLY. Checked whole
    before anything is written: a result that does not add up fails the import."""
    parts, totals = [], []
    with open_source(location, RESULT_COLUMNS) as source:
        absent = [c for c in RESULT_COLUMNS if c not in source.columns]
        if absent:
            raise ImportFailed(
                f"the Athena result {location} lacks the column(s) {', '.join(absent)}"
            )
        for chunk in source.chunks():
            total = pc.equal(chunk["is_total"], "true")
            totals.append(chunk.filter(total))
            # The rows rejected or skipped form one group of their own, with no key.
            usable = pc.and_(pc.invert(total), pc.is_valid(chunk["provider"]))
            parts.append(chunk.filter(usable).select(GROUP_COLUMNS))
        if source.invalid_rows:
            raise ImportFailed(f"the Athena result {location} has malformed CSV rows")
    total_rows = pa.concat_tables(totals).to_pylist() if totals else []
    if len(total_rows) != 1:
        raise ImportFailed(f"the Athena result {location} has {len(total_rows)} total rows, not 1")
    _tally(total_rows[0], tally)
    groups = _typed(pa.concat_tables(parts)) if parts else None
    if groups is None:
        groups = _typed(pa.table({name: pa.array([], pa.string()) for name in GROUP_COLUMNS}))
    grouped = pc.sum(groups["row_count"]).as_py() or 0
    if grouped + tally.rows_rejected + tally.rows_skipped != tally.rows_read:
        raise ImportFailed(
            f"the Athena result {location} is incomplete: {grouped:,} rows grouped, "
            f"{tally.rows_rejected:,} rejected and {tally.rows_skipped:,} skipped of "
            f"{tally.rows_read:,} read; nothing was replaced"
        )
    return groups


def _count(value) -> int:
    try:
        return int(value or 0)
    except ValueError as exc:
        raise ImportFailed(f"the Athena result has a count that is not a number: {value!r}") from (
            exc
        )


def _tally(total: dict, tally: Tally) -> None:
    tally.rows_read = _count(total["row_count"])
    tally.rows_skipped = _count(total["rows_skipped"])
    for reason in REASONS:
        count = _count(total[reason.count_column])
        if count:
            example = total[reason.example_column]
            # Athena knows no row numbers: one example value per reason, without one.
            value = storable(example) if isinstance(example, str) else example
            sample = {"row": None, "reason": reason.reason, "value": value}
            tally.reject(reason.reason, count, [sample])


def _typed(groups: pa.Table) -> pa.Table:
    """The result's text columns as the types DailyTotals.groups() has."""
    try:
        return pa.table(
            {
                **{name: groups[name] for name in ("provider", "sub_account_id", "service")},
                **{
                    name: pc.fill_null(groups[name], "")
                    for name in ("region", "resource_id", "charge_category")
                },
                "usage_date": _dates(groups["usage_date"]),
                "currency_min": groups["currency_min"],
                "currency_max": groups["currency_max"],
                "billing_period_min": _dates(groups["billing_period_min"]),
                "billing_period_max": _dates(groups["billing_period_max"]),
                "billed": pc.cast(groups["billed"], AMOUNT_TYPE),
                "effective": pc.cast(groups["effective"], AMOUNT_TYPE),
                "tags": groups["tags"],
                "sub_account_name": groups["sub_account_name"],
                "row_count": pc.cast(groups["row_count"], pa.int64()),
            }
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ImportFailed(f"the Athena result has a value of the wrong type: {exc}") from exc


def _dates(column) -> pa.Array:
    return pc.cast(pc.strptime(column, format="%Y-%m-%d", unit="s"), pa.date32())


def _scopes(groups: pa.Table) -> dict[tuple, str | None]:
    """(billing period, provider, sub-account) -> a sub-account name (the least), for both
    ends of each group's periods (a daily group rarely spans two)."""
    scopes: dict[tuple, str | None] = {}
    for end in ("billing_period_min", "billing_period_max"):
        keys = [end, "provider", "sub_account_id"]
        named = groups.group_by(keys).aggregate([("sub_account_name", "min")])
        for row in named.to_pylist():
            key = tuple(row[k] for k in keys)
            if scopes.get(key) is None:
                scopes[key] = row["sub_account_name_min"]
    return scopes
