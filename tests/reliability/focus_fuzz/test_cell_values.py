"""Bad values in the cells: mutated rows, amounts, unicode and long text in every column, a
billing period at the end of the calendar."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from tests.reliability.focus_fuzz.importing import check
from tests.reliability.focus_fuzz.independent_model import HEADER, OPTIONAL, ROWS, to_csv
from tests.reliability.focus_fuzz.strategies import (
    COLUMN_VALUES,
    FUZZ,
    mutated_rows,
    numbers,
    texts,
)

# --- Properties --------------------------------------------------------------------------------


@FUZZ
@given(
    rows=mutated_rows(),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    order=st.randoms(use_true_random=False),
    dropped=st.sets(st.sampled_from(OPTIONAL)),
)
def test_mutated_cells(store, tmp_path_factory, rows, newline, bom, order, dropped):
    header = [name for name in HEADER if name not in dropped]
    order.shuffle(header)
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + to_csv(header, rows, newline).encode())

    check(store, path, rows, set(header))


# Amounts pyarrow used to parse wrongly (more than 38 digits, or tiny exponent forms, wrapped
# around silently), and
# the unicode that broke PostgreSQL (NUL in a kept column, \u0000 and lone surrogates in Tags).
WRAPPED = [
    ("0." + "1" * 45, "1." + "0" * 40),
    ("-0." + "9" * 39, "1." + "0" * 40 + "e2"),
    ("4.851243698375387e-65", "2.3645400230997434e-98"),
]
POSTGRES_BREAKERS = [
    ("ServiceName", "svc\x00x"),
    ("ResourceId", "\x00"),
    ("SubAccountName", "n\x00m"),
    ("Tags", '{"e": "\\u0000"}'),
    ("Tags", '{"k": "\\ud800"}'),
    ("BilledCost", "1\x00"),
    ("ChargePeriodStart", "0000-01-01"),
]


@FUZZ
@given(amounts=st.lists(st.tuples(numbers, numbers), min_size=1, max_size=20))
@example(amounts=WRAPPED)
def test_amounts(store, tmp_path_factory, amounts):
    """Every row's BilledCost and EffectiveCost replaced: dense coverage of the number rules."""
    rows = [
        {**row, "BilledCost": billed, "EffectiveCost": effective}
        for row, (billed, effective) in zip(ROWS[::7], amounts, strict=False)
    ]
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_text(to_csv(HEADER, rows), encoding="utf-8")

    check(store, path, rows, set(HEADER))


@FUZZ
@given(
    cells=st.lists(
        st.tuples(st.sampled_from(sorted(COLUMN_VALUES)), st.integers(0, 19), texts),
        min_size=1,
        max_size=20,
    )
)
@example(cells=[(column, n, value) for n, (column, value) in enumerate(POSTGRES_BREAKERS)])
def test_unicode_and_long_text_in_every_column(store, tmp_path_factory, cells):
    rows = [dict(row) for row in ROWS[3::50]]
    for column, n, value in cells:
        rows[n][column] = value
    path = tmp_path_factory.mktemp("fuzz") / "focus.csv"
    path.write_text(to_csv(HEADER, rows), encoding="utf-8")

    check(store, path, rows, set(HEADER))


def test_a_billing_period_in_december_9999(globex, tmp_path):
    """Valid, if absurd: the rollup refresh computed the month after it (OverflowError)."""
    rows = [{**row, "BillingPeriodStart": "9999-12-01"} for row in ROWS[:20]]
    path = tmp_path / "focus.csv"
    path.write_text(to_csv(HEADER, rows), encoding="utf-8")

    assert check(globex, path, rows, set(HEADER)) == "imported"
