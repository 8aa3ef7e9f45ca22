"""Which rows can be used: vectorised checks per column, and the Tally of the rejected ones.

A row gets the first reason it fails, in the order _validate() lists the checks; the usable
rows leave clean_chunk() as the store's fields, amounts as decimals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .aggregate import TagNumbers
from .columns import (
    AMOUNT,
    AMOUNT_LIMIT,
    BEYOND_12_PLACES,
    COLUMNS,
    CURRENCY,
    CURRENCY_RE,
    DATE,
    DATETIME_RE,
    DECIMAL_DIGITS,
    LEADING_ZEROS,
    NUMBER_RE,
    REQUIRED_COLUMNS,
    RULES,
    TEXT,
    TINY_AMOUNT,
)
from .errors import ImportFailed, storable

REJECT_SAMPLE_LIMIT = 20
AMOUNT_TYPE = pa.decimal128(38, 12)


def check_columns(columns: list[str]) -> None:
    """Fail the import when the header lacks a required column."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ImportFailed(
            f"the file lacks required FOCUS column(s): {', '.join(missing)} "
            f"(found: {', '.join(columns[:50]) or 'no header'})"
        )


def _matches(values, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _blank(values) -> pa.Array:
    # utf8_is_space is false for "", hence the length test.
    empty = pc.equal(pc.utf8_length(values), 0)
    return pc.fill_null(pc.or_(empty, pc.utf8_is_space(values)), True)


def _too_long(values, limit: int) -> pa.Array:
    return pc.fill_null(pc.greater(pc.utf8_length(values), limit), False)


def _spread(column: pa.Array, per_value: Callable[[pa.Array], list]) -> list[pa.Array]:
    """PER_VALUE's arrays computed once per distinct value of COLUMN, spread back to the rows
    (null rows get null). Dates, currencies, providers, services and sub-accounts repeat on
    almost every row, so this is far cheaper than checking each row."""
    encoded = pc.dictionary_encode(column)
    return [pc.take(result, encoded.indices) for result in per_value(encoded.dictionary)]


Check = tuple[str, str, pa.Array]  # (reason, FOCUS column, mask of the rows that fail)
Masks = dict[str, pa.Array]  # test name (columns.TESTS) -> mask of the rows that fail it


def _has_nul(values) -> pa.Array:
    return pc.fill_null(pc.match_substring(values, "\x00"), False)


def _text_masks(column, limit: int) -> Masks:
    blank, too_long, nul = _spread(
        column, lambda values: [_blank(values), _too_long(values, limit), _has_nul(values)]
    )
    # PostgreSQL text cannot hold NUL: without that test one such row failed the whole import
    # there (and was stored on SQLite).
    return {
        "blank": pc.fill_null(blank, True),
        "too_long": pc.fill_null(too_long, False),
        "nul": pc.fill_null(nul, False),
    }


def _parse_dates(values: pa.Array) -> list[pa.Array]:
    day = pc.utf8_slice_codeunits(values, 0, 10)
    parsed = pc.cast(pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True), "date32")
    # strptime rolls 2024-02-30 over into March: a real date prints back as itself. Year 0
    # prints back too, but neither Python nor PostgreSQL has it (it failed the whole import).
    real = pc.fill_null(
        pc.and_(pc.equal(pc.cast(parsed, pa.string()), day), pc.greater_equal(pc.year(parsed), 1)),
        False,
    )
    return [_blank(values), pc.invert(pc.and_(_matches(values, DATETIME_RE), real)), parsed]


def _date_masks(column) -> tuple[Masks, pa.Array]:
    blank, invalid, parsed = _spread(column, _parse_dates)
    return {"blank": pc.fill_null(blank, True), "bad_date": pc.fill_null(invalid, True)}, parsed


def _amount_masks(column) -> Masks:
    malformed = pc.invert(_matches(column, NUMBER_RE))
    # Scientific notation can write numbers the store cannot hold: range-check them as floats.
    as_float = pc.cast(pc.if_else(malformed, "0", column), pa.float64())
    huge = pc.greater_equal(pc.abs(as_float), AMOUNT_LIMIT)
    # What _decimal() cannot cut to 38 digits (an exponent form with a longer mantissa) would
    # be parsed wrongly: refuse it rather than store a wrong amount.
    mantissa = pc.replace_substring_regex(_cut_places(column), r"[eE].*$", "")
    digits = pc.utf8_length(pc.replace_substring_regex(mantissa, r"[^0-9]", ""))
    too_precise = pc.fill_null(pc.greater(digits, DECIMAL_DIGITS), False)
    return {
        "null": pc.is_null(column),
        "not_number": malformed,
        "huge": huge,
        "too_precise": too_precise,
    }


# pyarrow parses a decimal string at the string's own precision before rescaling it, and with
# safe=False a string of more than 38 significant digits wraps around silently:
# "1.0000000000000000000000000000000000000000" became 0.0131811359, "-0.999...9" (39 nines)
# +0.0208471008. Digits beyond the 12th place are dropped anyway, so they are cut from the
# text first (plain notation; leading zeros are harmless), which leaves at most 14 + 12 digits
# for any amount in range.


def _cut_places(column) -> pa.Array:
    column = pc.replace_substring_regex(column, BEYOND_12_PLACES, r"\1")
    # Leading zeros count as digits for the parser's precision too.
    return pc.replace_substring_regex(column, LEADING_ZEROS, r"\1\2")


def _decimal(column) -> pa.Array:
    """The amounts at 12 places, digits beyond them dropped (the regex vouched for the rest)."""
    # The same wrap-around hits tiny exponent forms: "4.851243698375387e-65" (a float printed
    # by some exporter) became 70.3078796866. Below 1E-12 the amount is 0 at 12 places anyway.
    tiny = pc.less(pc.abs(pc.cast(column, pa.float64())), TINY_AMOUNT)
    return pc.cast(pc.if_else(tiny, "0", _cut_places(column)), AMOUNT_TYPE, safe=False)


def _currency_masks(column) -> Masks:
    (invalid,) = _spread(column, lambda values: [pc.invert(_matches(values, CURRENCY_RE))])
    return {"null": pc.is_null(column), "not_currency": pc.fill_null(invalid, True)}


def _validate(columns: dict[str, pa.Array]) -> tuple[list[Check], dict[str, pa.Array]]:
    """Every check of columns.RULES, in the order reasons are given (a row gets the first
    reason it fails), and the parsed dates."""
    checks: list[Check] = []
    dates = {}
    for rule in RULES:
        column = columns[rule.column]
        if rule.kind == TEXT:
            masks = _text_masks(column, rule.limit)
        elif rule.kind == DATE:
            masks, dates[rule.column] = _date_masks(column)
        elif rule.kind == AMOUNT:
            masks = _amount_masks(column)
        elif rule.kind == CURRENCY:
            masks = _currency_masks(column)
        checks += [(reason, rule.column, masks[test]) for reason, test in rule.checks()]
    return checks, dates


@dataclass
class Tally:
    """What happened to the rows: read, skipped (other sub-accounts), rejected and why."""

    rows_read: int = 0
    rows_skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    samples: list[dict] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return sum(self.reasons.values())

    def reject(self, reason: str, count: int, examples: list[dict]) -> None:
        self.reasons[reason] += count
        # Malformed CSV lines may have no known row number: they come last.
        self.samples = sorted(
            self.samples + examples, key=lambda s: (s["row"] is None, s["row"] or 0)
        )
        del self.samples[REJECT_SAMPLE_LIMIT:]


def _sample_value(value):
    if isinstance(value, str):
        value = storable(value)  # kept in a JSON column: jsonb refuses \u0000
        if len(value) > 200:
            return value[:200] + "..."
    return value


def clean_chunk(
    table: pa.Table, first_row: int, tally: Tally, account_id: str | None, tags: TagNumbers
) -> pa.Table:
    """The usable rows of TABLE as store fields; the others counted in TALLY."""
    positions = None
    if account_id is not None:
        keep = pc.fill_null(pc.equal(table["SubAccountId"], account_id), False)
        positions = pc.indices_nonzero(keep)
        tally.rows_skipped += table.num_rows - len(positions)
        table = table.filter(keep)
    columns = {name: _array(table[name]) for name in COLUMNS}
    checks, dates = _validate(columns)
    rejected = None
    for reason, column, mask in checks:
        bad = mask if rejected is None else pc.and_not(mask, rejected)
        count = pc.sum(bad).as_py() or 0
        if count:
            rejected = bad if rejected is None else pc.or_(rejected, bad)
            examples = _examples(reason, columns[column], bad, first_row, positions)
            tally.reject(reason, count, examples)
    if rejected is not None:
        keep = pc.invert(rejected)
        columns = {name: column.filter(keep) for name, column in columns.items()}
        dates = {name: column.filter(keep) for name, column in dates.items()}
    return _store_fields(columns, dates, tags)


def _array(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _examples(reason: str, column, bad, first_row: int, positions) -> list[dict]:
    where = pc.indices_nonzero(bad)[:REJECT_SAMPLE_LIMIT]
    rows = where if positions is None else positions.take(where)
    values = column.take(where).to_pylist()
    return [
        {"row": first_row + row, "reason": reason, "value": _sample_value(value)}
        for row, value in zip(rows.to_pylist(), values, strict=True)
    ]


def _hour_of_day(values: pa.Array) -> list[pa.Array]:
    # ChargePeriodStart passed DATETIME_RE: the hour, when there is one, is at 11-12.
    hours = pc.utf8_slice_codeunits(values, 11, 13)
    has_hour = pc.equal(pc.utf8_length(hours), 2)
    return [pc.cast(pc.if_else(has_hour, hours, "0"), pa.int8())]


# An optional amount is used only in plain notation within the store's range (14 integer
# digits); anything else counts as missing. Cheaper than the required amounts' checks, which
# run on every row while this runs on the few commitment-relevant ones.
PLAIN_AMOUNT_RE = r"^[+-]?\d{1,14}(\.\d*)?$"


def optional_amount(column: pa.Array) -> pa.Array:
    """An optional amount column as decimals (12 places, beyond them dropped), null where it
    is missing or not a plain decimal number in range."""
    usable = _matches(column, PLAIN_AMOUNT_RE)
    cut = pc.replace_substring_regex(column, BEYOND_12_PLACES, r"\1")
    parsed = pc.cast(pc.if_else(usable, cut, "0"), AMOUNT_TYPE, safe=False)
    return pc.if_else(usable, parsed, pa.scalar(None, AMOUNT_TYPE))


def _store_fields(columns, dates, tags: TagNumbers) -> pa.Table:
    def text(name):
        return pc.fill_null(columns[name], "")

    (hour,) = _spread(columns["ChargePeriodStart"], _hour_of_day)

    return pa.table(
        {
            "provider": columns["ProviderName"],
            "sub_account_id": columns["SubAccountId"],
            "usage_date": dates["ChargePeriodStart"],
            "service": columns["ServiceName"],
            "region": text("RegionId"),
            "resource_id": text("ResourceId"),
            "charge_category": text("ChargeCategory"),
            "currency": columns["BillingCurrency"],
            "billing_period": dates["BillingPeriodStart"],
            "billed": _decimal(columns["BilledCost"]),
            "effective": _decimal(columns["EffectiveCost"]),
            "tag_id": tags.number(columns["Tags"]),
            "sub_account_name": columns["SubAccountName"],
            # For the hourly commitment usage only (commitment_usage.py); ListCost stays text
            # until then, as most rows are not commitment-relevant.
            "hour": hour,
            "list_text": columns["ListCost"],
            "pricing_category": columns["PricingCategory"],
            "commitment_category": columns["CommitmentDiscountCategory"],
            "commitment_status": columns["CommitmentDiscountStatus"],
        }
    )


def count_invalid_rows(invalid_rows: list[pa_csv.InvalidRow], tally: Tally) -> None:
    """Count the CSV lines the reader skipped (wrong number of fields) as rejected rows."""
    if not invalid_rows:
        return
    tally.rows_read += len(invalid_rows)
    examples = []
    for row in invalid_rows[:REJECT_SAMPLE_LIMIT]:
        examples.append(
            {
                "row": row.number,
                "reason": "malformed CSV row",
                "value": _sample_value(
                    f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text}"
                ),
            }
        )
    tally.reject("malformed CSV row", len(invalid_rows), examples)
