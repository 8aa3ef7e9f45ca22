"""Files of the wrong shape: required columns missing, files cut short, 1 MB cells."""

from __future__ import annotations

import csv
import io
from collections import Counter

from django.db import transaction
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from tests.reliability.focus_fuzz.importing import assert_failed_cleanly, attempt, check_either
from tests.reliability.focus_fuzz.independent_model import (
    HEADER,
    REQUIRED,
    assert_store_is,
    model,
    prediction,
    rollup_overflows,
    stored,
    stored_rows,
    to_csv,
)
from tests.reliability.focus_fuzz.strategies import FUZZ, mutated_rows, sample_rows


@FUZZ
@given(rows=sample_rows(), missing=st.sets(st.sampled_from(REQUIRED), min_size=1))
def test_missing_required_columns_fail_and_change_nothing(store, tmp_path_factory, rows, missing):
    header = [name for name in HEADER if name not in missing]
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_text(to_csv(header, rows), encoding="utf-8")
    rows_before = stored_rows(store)

    with transaction.atomic():
        _, failed = attempt(store, path)
        assert failed is not None
        assert_failed_cleanly(store, failed, rows_before)
        for name in missing:
            assert name in failed.message
        transaction.set_rollback(True)


@FUZZ
@given(rows=mutated_rows().filter(bool), cut=st.floats(0.0, 1.0), crlf=st.booleans())
def test_truncated_files(store, tmp_path_factory, rows, cut, crlf):
    newline = "\r\n" if crlf else "\n"
    data = to_csv(HEADER, rows, newline).encode()
    header_end = data.index(newline.encode()) + len(newline)
    size = header_end + 1 + int((len(data) - header_end - 2) * cut)  # never whole, never empty
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_bytes(data[:size])
    rows_before, before = stored_rows(store), stored(store)
    try:
        text = data[:size].decode("utf-8")
    except UnicodeDecodeError:
        # Cut inside a character: pyarrow cannot even decode the broken row to report it, so
        # the whole file is refused, cleanly.
        with transaction.atomic():
            _, failed = attempt(store, path)
            assert failed is not None
            assert_failed_cleanly(store, failed, rows_before)
            transaction.set_rollback(True)
        event("cut inside a character: refused")
        return
    # The rows before the cut are known; the cut one is whatever its remains parse to: too few
    # fields (rejected as a malformed row), or all of them (the cut fell in the last one).
    parsed = list(csv.reader(io.StringIO(text, newline="")))[1:]
    complete, last = rows[: len(parsed) - 1], parsed[-1]
    if len(last) == len(HEADER):
        row = {k: None if v == "NULL" else v for k, v in zip(HEADER, last, strict=True)}
        # A quoted "NULL" reads back as None here; such rows are left to the other tests.
        assume(all(v != "NULL" for v in rows[len(complete)].values()))
        rows_in, extra = [*complete, row], Counter()
    else:
        rows_in, extra = complete, Counter({"malformed CSV row": 1})
    expected = model(rows_in, set(HEADER))
    predicted = prediction(before, expected)
    with transaction.atomic():
        billing_import, failed = attempt(store, path)
        if expected.failure or (failed is not None and rollup_overflows(predicted)):
            assert failed is not None
            assert_failed_cleanly(store, failed, rows_before)
        else:
            assert failed is None, failed.message
            assert billing_import.rows_read == len(rows_in) + sum(extra.values())
            assert billing_import.reject_reasons == dict(expected.reasons + extra)
            assert_store_is(store, predicted)
        transaction.set_rollback(True)
    event("imported" if failed is None else f"failed: {failed.message.split(':')[0]}")


@settings(FUZZ, max_examples=8)
@given(
    rows=sample_rows(max_rows=20).filter(bool),
    column=st.sampled_from(["ServiceName", "ResourceId", "Tags", "ChargeDescription"]),
    size=st.sampled_from([1_000_000, 1_100_000, 3_000_000]),
    char=st.sampled_from(["x", "\u00e9", "\U0001f600"]),
)
def test_one_megabyte_cells(store, tmp_path_factory, rows, column, size, char):
    value = char * (size // len(char.encode()))
    rows[len(rows) // 2][column] = '{"big": "' + value + '"}' if column == "Tags" else value
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_text(to_csv(HEADER, rows), encoding="utf-8")

    outcome = check_either(store, path, rows)
    if size < 2_000_000:
        assert outcome == "imported"  # rejected as too long where the store keeps the cell
    else:
        assert outcome.startswith("failed: a CSV row is too long for the reader"), outcome
