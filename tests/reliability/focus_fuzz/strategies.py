"""The hypothesis settings and strategies: the sample's rows, mutated cell by cell."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.reliability.focus_fuzz.independent_model import ROWS

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# --- Strategies --------------------------------------------------------------------------------

# Every character but lone surrogates (which cannot be written as UTF-8 at all; see the
# encoding test): NULs, controls, RTL and LTR marks, emoji, combining marks, private use...
ANY_CHAR = st.characters(exclude_categories=["Cs"])
ODD = ["\u202e", "\u200f", "\u200b", "\ufeff", "\x00", "\U0001f4b8", "e\u0301", "\u0627\u0644"]
texts = st.one_of(
    st.text(ANY_CHAR, max_size=12),
    st.sampled_from([*ODD, "", " ", "\t", "NULL", "null", '"', "a,b", "line\nbreak", "x\r\ny"]),
    # Just under and over every column's limit.
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "\u00e9", "\U0001f600"]),
              st.sampled_from([31, 32, 33, 63, 64, 65, 199, 200, 201, 255, 256, 512, 513])),
)  # fmt: skip

plain_numbers = st.decimals(
    min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=14
).map(str)
odd_numbers = st.sampled_from(
    [
        "1.", ".5", "+.5", "-.5e3", "1e3", "1E-7", "-0", "+0.0", "1e400", "-1e400", "1e-400",
        "99999999999999.99", "100000000000000", "9.9999999999999e13", "1e14",
        "0." + "1" * 45, "1." + "0" * 40, "-0." + "9" * 39, "0" * 50 + "1.5", "1" * 20 + "e-10",
        "12,5", "1.2.3", "abc", "", " ", " 1", "1 ", "NaN", "inf", "-inf", "0x10", "1_000",
        "1e", "e5", ".", "+", "-", "\u0661\u0662", "\uff11\uff12", "1\u00a0000", "$1.00",
    ]
)  # fmt: skip
numbers = st.one_of(plain_numbers, odd_numbers, st.floats().map(repr), texts)

days = st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat)
suffixes = st.sampled_from(
    ["", " 00:00:00", "T00:00:00Z", "T12:30", "T23:59:59.999+00:00", " 10:00:00-0000",
     "T10:00:00-05:00", "T10:00:00+01:00", " 25:00:00", "Z", "T", " "]
)  # fmt: skip
odd_dates = st.sampled_from(
    ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01", "0001-01-01",
     "9999-12-31", "24-09-01", "2024/09/01", "2024-9-1", "20240901", "", " ", "yesterday"]
)  # fmt: skip
dates = st.one_of(st.builds(str.__add__, days, suffixes), odd_dates, texts)

currencies = st.sampled_from(["USD", "EUR", "usd", "US", "USDX", " USD", "", "\u00dcSD", "\u20ac"])
tags = st.one_of(
    st.sampled_from(
        ['{"team": "a"}', '{"e": "\\u0000"}', '{"k": "\\ud800"}', '{"x": "\U0001f600"}',
         "[1]", "not json", '{"a": 1', "{}", '{"rtl": "\u202e"}']
    ),
    texts,
)  # fmt: skip

COLUMN_VALUES = {
    "BilledCost": numbers,
    "EffectiveCost": numbers,
    "ChargePeriodStart": dates,
    "BillingPeriodStart": dates,
    "BillingCurrency": currencies,
    "ProviderName": texts,
    "SubAccountId": texts,
    "ServiceName": texts,
    "ChargeCategory": texts,
    "RegionId": texts,
    "ResourceId": texts,
    "SubAccountName": texts,
    "Tags": tags,
    "ChargeDescription": texts,  # a column the importer does not read
}


@st.composite
def sample_rows(draw, max_rows=60) -> list[dict]:
    picks = draw(st.lists(st.integers(0, len(ROWS) - 1), max_size=max_rows, unique=True))
    return [dict(ROWS[i]) for i in picks]


@st.composite
def mutated_rows(draw) -> list[dict]:
    rows = draw(sample_rows())
    if not rows:
        return rows
    for _ in range(draw(st.integers(0, 8))):
        row = rows[draw(st.integers(0, len(rows) - 1))]
        column = draw(st.sampled_from(sorted(COLUMN_VALUES)))
        row[column] = draw(st.one_of(st.none(), COLUMN_VALUES[column]))
    if draw(st.booleans()):
        # Repeat a row's day and key with a huge amount: its daily total may overflow.
        source = rows[draw(st.integers(0, len(rows) - 1))]
        huge = draw(st.sampled_from(["60000000000000", "-60000000000000", "99999999999999"]))
        rows += [{**source, "BilledCost": huge, "EffectiveCost": huge} for _ in range(2)]
    return rows
