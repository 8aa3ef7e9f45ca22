"""Running an import and checking every property on its outcome."""

from __future__ import annotations

from django.db import connection, transaction
from hypothesis import assume, event
from hypothesis.control import currently_in_test_context

from costs.ingest.focus import ImportFailed, import_billing
from costs.models import BillingImport
from tests.reliability.focus_fuzz.independent_model import (
    HEADER,
    SQLITE_READABLE,
    assert_store_is,
    model,
    note_differences,
    prediction,
    rollup_overflows,
    stored,
    stored_rows,
)

# --- Running an import -------------------------------------------------------------------------


def attempt(organization, path) -> tuple[BillingImport | None, ImportFailed | None]:
    try:
        return import_billing(str(path), organization), None
    except ImportFailed as exc:  # anything else fails the test: property 1
        return None, exc


def assert_failed_cleanly(organization, exc: ImportFailed, rows_before: list) -> None:
    assert stored_rows(organization) == rows_before, "a failed import changed the store"
    failed = exc.billing_import
    assert failed is not None and failed.status == BillingImport.Status.FAILED
    assert failed.finished_at is not None
    assert failed.error == exc.message
    assert "\n" not in exc.message and "Traceback" not in exc.message, exc.message
    assert not exc.message.startswith("unexpected error"), exc.message
    assert (failed.records_written, failed.records_replaced) == (0, 0)


def check(organization, path, rows: list[dict], columns: set[str]) -> str:
    """Import PATH, whose data rows are ROWS, and check every property; returns the outcome."""
    before = stored(organization)
    rows_before = stored_rows(organization)
    expected = model(rows, columns)
    predicted = prediction(before, expected)
    if connection.vendor == "sqlite" and not expected.failure:
        # SQLite keeps amounts as floats and Django reads 15 significant digits back: from
        # 99999999999999.95 up they read as 1E+14, which no longer fits numeric(24, 10), and
        # reading the record raises InvalidOperation. A SQLite-only limit (PostgreSQL is exact).
        assume(all(abs(v) < SQLITE_READABLE for v, _, _ in expected.records.values()))
    with transaction.atomic():
        billing_import, failed = attempt(organization, path)
        if failed is not None and rollup_overflows(predicted):
            # Allowed either way: PostgreSQL refuses a daily rollup over 10^14 (SQLite, with
            # floats, does not); what matters is that nothing changed and the error says so.
            assert "exceeds what the cost store can hold" in failed.message, failed.message
            assert_failed_cleanly(organization, failed, rows_before)
        elif expected.failure:
            assert failed is not None, f"expected a failure: {expected.failure}"
            assert expected.failure in failed.message, failed.message
            assert_failed_cleanly(organization, failed, rows_before)
        else:
            assert failed is None, failed.message
            assert billing_import.status == BillingImport.Status.SUCCEEDED
            assert billing_import.rows_read == len(rows)
            assert billing_import.reject_reasons == dict(expected.reasons)
            assert billing_import.rows_rejected == sum(expected.reasons.values())
            for sample in billing_import.rejects:
                assert expected.rejected_rows.get(sample["row"]) == sample["reason"], sample
            assert len(billing_import.rejects) == min(20, len(expected.rejected_rows))
            try:
                assert_store_is(organization, predicted)
            except AssertionError:
                note_differences(organization, predicted, rows)
                raise
            assert billing_import.records_written == len(expected.records)
        transaction.set_rollback(True)
    outcome = f"failed: {failed.message.split(':')[0]}" if failed else "imported"
    if currently_in_test_context():  # --hypothesis-show-statistics: what examples covered
        event(outcome)
        for reason in expected.reasons:
            event(f"rejected: {reason}")
    return outcome


def check_either(organization, path, rows) -> str:
    """Import PATH: a clean failure (nothing changed), or the model's exact result."""
    rows_before = stored_rows(organization)
    with transaction.atomic():
        _, failed = attempt(organization, path)
        if failed is not None:
            assert_failed_cleanly(organization, failed, rows_before)
            transaction.set_rollback(True)
            return f"failed: {failed.message}"
        transaction.set_rollback(True)
    check(organization, path, rows, set(HEADER))
    return "imported"
