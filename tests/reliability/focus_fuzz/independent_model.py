"""The sample read with the csv module, and the independent model of an import: what the
importer must store or refuse, computed with csv, Python's re and Decimal, never with the
importer's code."""

from __future__ import annotations

import csv
import decimal
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db import connection
from hypothesis import note

from costs.models import CostRecord, CostSource
from tests.costs.test_focus import SAMPLE

# --- The sample, read with the csv module ------------------------------------------------------


def _read_sample() -> tuple[list[str], list[dict]]:
    with open(SAMPLE, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        # The sample writes NULL bare for a null; the model uses None.
        rows = [{k: (None if v == "NULL" else v) for k, v in row.items()} for row in reader]
        return list(reader.fieldnames), rows


HEADER, ROWS = _read_sample()
REQUIRED = [
    "BilledCost",
    "EffectiveCost",
    "ChargePeriodStart",
    "BillingPeriodStart",
    "BillingCurrency",
    "ProviderName",
    "SubAccountId",
    "ServiceName",
    "ChargeCategory",
]
OPTIONAL = ["SubAccountName", "RegionId", "ResourceId", "Tags"]


def max_length(name: str) -> int:
    return CostRecord._meta.get_field(name).max_length


LIMITS = {
    "SubAccountId": max_length("sub_account_id"),
    "ServiceName": max_length("service"),
    "ProviderName": max_length("provider"),
    "RegionId": max_length("region"),
    "ChargeCategory": max_length("charge_category"),
    "ResourceId": max_length("resource_id"),
}


def to_csv(header: list[str], rows: list[dict], newline: str = "\n") -> str:
    """CSV in the sample's conventions: NULL bare for None, every other value quoted."""
    lines = []
    for values in [header, *([row.get(name) for name in header] for row in rows)]:
        cells = ["NULL" if v is None else '"' + v.replace('"', '""') + '"' for v in values]
        lines.append(",".join(cells) + newline)
    return "".join(lines)


# --- The independent model ---------------------------------------------------------------------

# From the importer's documented rules (costs/ingest/focus/'s docstring and README), written here
# with Python's re: a number is digits with an optional point and exponent; a date is
# YYYY-MM-DD, optionally with a time and a UTC designator; a currency is three capitals.
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"
    r"(Z|[+-]00(:?00)?)?"
)
CURRENCY = re.compile(r"[A-Z]{3}")
AMOUNT_LIMIT = Decimal(10) ** 14
EXACT = decimal.Context(prec=200)
METRICS = {"billed": "BilledCost", "effective": "EffectiveCost"}


def blank(value: str | None) -> bool:
    return value is None or value == "" or value.isspace()


def parse_day(value: str) -> date | None:
    if not DATETIME.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def significant_digits(text: str) -> int:
    """Digits of the mantissa once places beyond the 12th (plain notation) and leading zeros
    are dropped: more than 38 cannot be parsed exactly, and the row is refused."""
    mantissa, exponent = re.fullmatch(r"[+-]?([^eE]*)([eE].*)?", text).groups()
    whole, _, places = mantissa.partition(".")
    if not exponent:
        places = places[:12]
    whole = whole.lstrip("0") or ("0" if whole else "")
    return len(whole) + len(places)


def text_reason(name: str, value: str | None, required: bool) -> str | None:
    if required and blank(value):
        return f"missing {name}"
    if value is not None and len(value) > LIMITS[name]:
        return f"{name} longer than {LIMITS[name]} characters"
    if value is not None and "\x00" in value:
        # PostgreSQL cannot store NUL: such rows are refused on every database.
        return f"{name} contains a NUL character"
    return None


def reject_reason(row: dict, columns: set[str]) -> str | None:
    """The first reason the row cannot be used, in the importer's documented order."""

    def get(name):
        return row.get(name) if name in columns else None

    for name in ("SubAccountId", "ServiceName", "ProviderName"):
        if reason := text_reason(name, get(name), required=True):
            return reason
    for name in ("ChargePeriodStart", "BillingPeriodStart"):
        if blank(get(name)):
            return f"missing {name}"
        if parse_day(get(name)) is None:
            return f"invalid {name}"
    for name in ("BilledCost", "EffectiveCost"):
        value = get(name)
        if value is None:
            return f"missing {name}"
        if not NUMBER.fullmatch(value):
            return f"malformed {name}"
        if abs(EXACT.create_decimal(value)) >= AMOUNT_LIMIT:
            return f"{name} out of range"
        if significant_digits(value) > 38:
            return f"{name} has more than 38 digits"
    if get("BillingCurrency") is None:
        return "missing BillingCurrency"
    if not CURRENCY.fullmatch(get("BillingCurrency")):
        return "invalid BillingCurrency"
    for name in ("RegionId", "ChargeCategory", "ResourceId"):
        if reason := text_reason(name, get(name), required=False):
            return reason
    return None


def amount(text: str) -> Decimal:
    """The value at 12 places, digits beyond them dropped (as documented)."""
    value = EXACT.create_decimal(text)
    return value.quantize(Decimal("1E-12"), rounding=ROUND_DOWN, context=EXACT)


@dataclass
class Expected:
    reasons: Counter = field(default_factory=Counter)
    rejected_rows: dict[int, str] = field(default_factory=dict)  # row number -> reason
    records: dict[tuple, tuple] = field(default_factory=dict)
    scopes: set[tuple] = field(default_factory=set)
    failure: str = ""  # a whole-file failure the importer must report


def model(rows: list[dict], columns: set[str]) -> Expected:
    expected = Expected()
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    currencies: dict[tuple, set] = defaultdict(set)
    periods: dict[tuple, set] = defaultdict(set)
    for number, row in enumerate(rows, start=1):
        reason = reject_reason(row, columns)
        if reason:
            expected.reasons[reason] += 1
            expected.rejected_rows[number] = reason
            continue

        def text(name, row=row):
            return (row.get(name) if name in columns else None) or ""

        key = (
            text("ProviderName"),
            text("SubAccountId"),
            text("ServiceName"),
            text("RegionId"),
            text("ResourceId"),
            date.fromisoformat(text("ChargePeriodStart")[:10]),
            text("ChargeCategory"),
        )
        period = date.fromisoformat(text("BillingPeriodStart")[:10])
        expected.scopes.add((period, key[0], key[1]))
        currencies[key].add(text("BillingCurrency"))
        periods[key].add(period)
        for metric, column in METRICS.items():
            sums[(metric, *key)] = EXACT.add(sums[(metric, *key)], amount(text(column)))
    mixed = overflow = False
    for (metric, *key), total in sums.items():
        key = tuple(key)
        rounded = total.quantize(Decimal("1E-10"), rounding=ROUND_HALF_UP, context=EXACT)
        mixed |= len(currencies[key]) > 1
        overflow |= abs(rounded) >= AMOUNT_LIMIT
        expected.records[(metric, *key)] = (rounded, min(currencies[key]), min(periods[key]))
    # Whole-file failures, in the documented order of the checks.
    if mixed:
        expected.failure = "different currencies"
    elif overflow:
        expected.failure = "exceeds what the cost store can hold"
    return expected


def stored(organization) -> dict[tuple, tuple]:
    records = CostRecord.objects.filter(organization=organization, source=CostSource.FOCUS)
    result = {}
    for values in records.values_list(
        "metric", "provider", "sub_account_id", "service", "region", "resource_id",
        "usage_date", "charge_category", "amount", "currency", "billing_period",
    ):  # fmt: skip
        *key, value, currency, period = values
        assert tuple(key) not in result, f"duplicate record {key}"
        result[tuple(key)] = (value, currency, period)
    return result


SQLITE_READABLE = Decimal("99999999999999.95")


def assert_store_is(organization, predicted: dict) -> None:
    actual = stored(organization)
    if connection.vendor != "sqlite":
        assert actual == predicted
        return
    # SQLite has no decimal type: Django stores CostRecord.amount as a REAL and reads back 15
    # significant digits, so large amounts with many places come back rounded (60000000000000
    # + 0.0000008 reads 60000000000000). PostgreSQL's numeric is exact: exact comparison there.
    assert actual.keys() == predicted.keys()
    for key, (value, *rest) in predicted.items():
        got, *got_rest = actual[key]
        assert got_rest == rest, key
        assert abs(got - value) <= max(abs(value), 1) * Decimal("1E-14"), (key, got, value)


def note_differences(organization, predicted: dict, rows: list[dict]) -> None:
    """Put the file rows behind any wrong record in the failure report."""
    actual = stored(organization)
    wrong = {k for k in set(actual) | set(predicted) if actual.get(k) != predicted.get(k)}
    shown = ("ServiceName", "ChargePeriodStart", "BillingPeriodStart", *METRICS.values())
    for key in wrong:
        note(f"record {key}: stored {actual.get(key)}, predicted {predicted.get(key)}")
        for number, row in enumerate(rows, start=1):
            if (row.get("ProviderName"), row.get("SubAccountId")) == key[1:3]:
                reason = reject_reason(row, set(row))
                note(f"  row {number}: {[row.get(c) for c in shown]} -> {reason}")


def rollup_overflows(predicted: dict) -> bool:
    """Whether a day's total per service, region or sub-account would reach 10^14."""
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for (metric, _, sub_account, service, region, _, day, _), (value, _, _) in predicted.items():
        for dimension in (("service", service), ("region", region), ("account", sub_account)):
            totals[(metric, day, *dimension)] += value
    return any(abs(total) >= AMOUNT_LIMIT for total in totals.values())


def stored_rows(organization) -> list[tuple]:
    """Every record with its primary key: what 'nothing changed' compares."""
    return list(
        CostRecord.objects.filter(organization=organization)
        .order_by("pk")
        .values_list("pk", "metric", "service", "usage_date", "amount", "billing_import_id")
    )


def prediction(before: dict, expected: Expected) -> dict:
    """The store after a successful import: the covered scopes replaced by the new records."""
    kept = {k: v for k, v in before.items() if (v[2], k[1], k[2]) not in expected.scopes}
    if set(kept) & set(expected.records):
        # A daily record stored under another billing period: the importer must refuse.
        expected.failure = expected.failure or "another billing period"
    return {**kept, **expected.records}
