"""import_billing: one import from file to cost store, recorded as a BillingImport."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

import pyarrow as pa
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import CloudAccount, Organization
from costs import partitions
from costs.models import BillingImport

from .aggregate import DailyTotals, TagNumbers, cost_records
from .columns import COLUMNS, COMMITMENT_COLUMNS
from .commitment_usage import HourlyUsage
from .errors import ImportFailed, storable
from .source import Source, as_strings, open_source
from .store import replace_records, written_months
from .validation import Tally, check_columns, clean_chunk, count_invalid_rows

# The name it has always logged under, before the importer became a package.
logger = logging.getLogger("costs.ingest.focus")

Progress = Callable[[int, int | None, str], None]


def connected_accounts(organization: Organization) -> dict[str, int]:
    return dict(
        CloudAccount.objects.filter(organization=organization).values_list("account_id", "pk")
    )


def _read(
    source: Source, tally: Tally, tags: TagNumbers, account_id: str | None, progress, accounts
) -> tuple[DailyTotals, HourlyUsage]:
    totals, usage = DailyTotals(), HourlyUsage(accounts)
    for chunk in source.chunks():
        first_row = tally.rows_read + 1
        tally.rows_read += chunk.num_rows
        rows = clean_chunk(as_strings(chunk), first_row, tally, account_id, tags)
        totals.add(rows)
        usage.add(rows)
        if progress is not None:
            progress(source.position(), source.total, source.unit)
    count_invalid_rows(source.invalid_rows, tally)
    return totals, usage


def import_billing(
    uri: str,
    organization: Organization,
    account_id: str | None = None,
    progress: Progress | None = None,
) -> BillingImport:
    """Import the FOCUS file at URI (path or s3://bucket/key) for ORGANIZATION.

    Only rows of sub-account ACCOUNT_ID when given. PROGRESS, if given, is called after each
    chunk with (done, total or None, unit). Returns the succeeded BillingImport (with a
    `rows_skipped` attribute); raises ImportFailed, after recording the failure, when the file
    cannot be imported.
    """
    billing_import = BillingImport.objects.create(organization=organization, uri=uri)
    tally = Tally()
    try:
        _run(billing_import, tally, account_id, progress)
    except ImportFailed as exc:
        finish_failed(billing_import, tally, exc.message)
        raise ImportFailed(exc.message, billing_import) from exc
    except Exception as exc:
        logger.exception("Import %s of %s failed unexpectedly", billing_import.pk, uri)
        finish_failed(billing_import, tally, f"unexpected error: {exc!r}")
        raise
    billing_import.rows_skipped = tally.rows_skipped
    return billing_import


def _run(billing_import: BillingImport, tally: Tally, account_id, progress) -> None:
    tags = TagNumbers()
    accounts = connected_accounts(billing_import.organization)
    # Commitment usage is kept for connected accounts only: without any, its columns are not
    # even parsed.
    wanted = COLUMNS if accounts else tuple(c for c in COLUMNS if c not in COMMITMENT_COLUMNS)
    with open_source(billing_import.uri, wanted) as source:
        billing_import.file_format = source.file_format
        check_columns(source.columns)
        totals, usage = _read(source, tally, tags, account_id, progress, accounts)
    groups = totals.groups()
    organization = billing_import.organization
    if groups is None:
        records = pa.table({})
    else:
        records = cost_records(groups, billing_import, accounts, tags)
    usage_hours = usage.rows(billing_import, accounts)
    try:
        partitions.ensure_months(written_months(records))
        with transaction.atomic():
            replaced = replace_records(organization, totals.scopes, records, tags, usage_hours)
            record_outcome(billing_import, tally, totals.scopes, records.num_rows, replaced)
    except DatabaseError as exc:
        raise ImportFailed(database_message(exc)) from exc


def database_message(exc: DatabaseError) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    if isinstance(exc, IntegrityError):
        return (
            "the file has daily records that already exist under another billing period "
            f"(a charge reported again in a later period?); nothing was changed: {text}"
        )
    if "numeric field overflow" in text:
        # Each daily record was range-checked, but the day's rollup (all services, regions or
        # sub-accounts of the organisation added up) can still outgrow numeric(24, 10).
        return (
            "a day's total across the organisation's records exceeds what the cost store can "
            f"hold (10^14); nothing was changed: {text}"
        )
    return f"the database refused the records; nothing was changed: {text}"


def record_outcome(billing_import, tally: Tally, scopes: dict, written, replaced):
    """SCOPES: (billing period, provider, sub-account) -> sub-account name, as written."""
    billing_import.status = BillingImport.Status.SUCCEEDED
    billing_import.finished_at = timezone.now()
    _copy_tally(billing_import, tally)
    billing_import.records_written = written
    billing_import.records_replaced = replaced
    billing_import.billing_periods = sorted({p.isoformat() for p, _, _ in scopes})
    sub_accounts = {}
    for (_, provider, sub_account), name in scopes.items():
        if sub_accounts.get((provider, sub_account)) is None:
            sub_accounts[(provider, sub_account)] = name and storable(name)
    billing_import.sub_accounts = [
        {"provider": provider, "id": sub_account, "name": name}
        for (provider, sub_account), name in sorted(sub_accounts.items())
    ]
    billing_import.save()


def _copy_tally(billing_import: BillingImport, tally: Tally) -> None:
    billing_import.rows_read = tally.rows_read
    billing_import.rows_rejected = tally.rows_rejected
    billing_import.rejects = tally.samples
    billing_import.reject_reasons = dict(tally.reasons.most_common())


def finish_failed(billing_import: BillingImport, tally: Tally, message: str) -> None:
    billing_import.status = BillingImport.Status.FAILED
    billing_import.finished_at = timezone.now()
    billing_import.error = message
    _copy_tally(billing_import, tally)
    billing_import.records_written = 0
    billing_import.records_replaced = 0
    # Nothing was imported; and if saving these is what the database refused, this save must
    # not fail the same way.
    billing_import.billing_periods, billing_import.sub_accounts = [], []
    billing_import.save()


def summary(billing_import: BillingImport, account_id: str | None = None) -> str:
    """A few human lines about an import, for the command and the logs."""
    lines = [
        f"Import {billing_import.pk} of {billing_import.uri} ({billing_import.file_format}): "
        f"{billing_import.status}",
        f"  rows read: {billing_import.rows_read:,}, rejected: {billing_import.rows_rejected:,}",
    ]
    skipped = getattr(billing_import, "rows_skipped", 0)
    if account_id is not None:
        lines.append(f"  only sub-account {account_id}: {skipped:,} rows of others skipped")
    if billing_import.rows_rejected:
        lines.append("  top reject reasons:")
        for reason, count in list(billing_import.reject_reasons.items())[:5]:
            lines.append(f"    {count:,} {reason}")
        lines.append("  first rejected rows:")
        for sample in billing_import.rejects[:5]:
            row = sample["row"] if sample["row"] is not None else "?"
            lines.append(f"    row {row}: {sample['reason']} ({sample['value']!r})")
    lines.append(
        f"  records written: {billing_import.records_written:,}, "
        f"replaced: {billing_import.records_replaced:,}"
    )
    lines.append(f"  billing periods: {', '.join(billing_import.billing_periods) or 'none'}")
    providers = Counter(s["provider"] for s in billing_import.sub_accounts)
    detail = ", ".join(f"{p} {n}" for p, n in sorted(providers.items()))
    lines.append(
        f"  sub-accounts: {len(billing_import.sub_accounts)}" + (f" ({detail})" if detail else "")
    )
    if billing_import.query_execution_id or billing_import.bytes_scanned is not None:
        scanned = billing_import.bytes_scanned
        cost = billing_import.query_cost
        lines.append(
            f"  Athena query {billing_import.query_execution_id or '(not started)'}: "
            + (
                f"{scanned:,} bytes scanned, about {cost} USD at 5 USD per TB"
                if scanned is not None
                else "bytes scanned unknown"
            )
        )
    if billing_import.error:
        lines.append(f"  error: {billing_import.error}")
    return "\n".join(lines)
