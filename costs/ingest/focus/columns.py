"""The FOCUS columns the importer reads and the cost-store limits their values must fit."""

from dataclasses import dataclass

from costs.models import CostRecord

REQUIRED_COLUMNS = (
    "BilledCost",
    "EffectiveCost",
    "ChargePeriodStart",
    "BillingPeriodStart",
    "BillingCurrency",
    "ProviderName",
    "SubAccountId",
    "ServiceName",
    "ChargeCategory",
)
# Conditional in FOCUS 1.0: a file without them is still usable.
OPTIONAL_COLUMNS = ("SubAccountName", "RegionId", "ResourceId", "Tags")
# Read for the hourly commitment usage (commitment_usage.py); a file without them imports the
# same costs and simply has no commitment figures.
COMMITMENT_COLUMNS = (
    "ListCost",
    "PricingCategory",
    "CommitmentDiscountCategory",
    "CommitmentDiscountStatus",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + COMMITMENT_COLUMNS

# Store fields and their FOCUS columns; the group key is CostRecord's natural key.
KEY_COLUMNS = {
    "provider": "ProviderName",
    "sub_account_id": "SubAccountId",
    "usage_date": "ChargePeriodStart",
    "service": "ServiceName",
    "region": "RegionId",
    "resource_id": "ResourceId",
    "charge_category": "ChargeCategory",
}
MAX_LENGTHS = {
    column: CostRecord._meta.get_field(name).max_length
    for name, column in KEY_COLUMNS.items()
    if name != "usage_date"
}
# CostRecord.amount has 24 digits with 10 places: a stored amount stays below 10^14.
AMOUNT_LIMIT = 10.0**14

# --- The validation rules, declared once ------------------------------------------------------
# Read by the Arrow checks of a file (validation.py) and by the Athena query generator
# (costs/ingest/athena/sql.py): each names its rows' tests in its own engine, but which column
# is checked, in what order, with which limit and under which reason, is only said here. A row
# gets the first reason it fails, in RULES order.

# The regexes are RE2 (pyarrow) and Java (Athena's engine) alike: \z, not $, since Java's $
# also matches before a final line break.
NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\z"
# FOCUS date-times are UTC; a date alone is accepted too. Other offsets are refused rather than
# guessed, since they could move a charge to another day.
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]00(:?00)?)?\z"
CURRENCY_RE = r"^[A-Z]{3}\z"
# Digits beyond the 12th place are dropped before an amount is parsed (see validation.py).
BEYOND_12_PLACES = r"^([+-]?\d*\.\d{12})\d+\z"
LEADING_ZEROS = r"^([+-]?)0+(\d)"
# The most significant digits an amount may have once cut to 12 places (decimal128's limit).
DECIMAL_DIGITS = 38
# Amounts below this are 0 at 12 places (and their exponent forms would parse wrongly).
TINY_AMOUNT = 1e-12

TEXT, DATE, AMOUNT, CURRENCY = "text", "date", "amount", "currency"

# The tests each engine implements, per kind of column: (test, reason template). The template
# is formatted with the column's name and limit.
TESTS = {
    # blank: null, empty or only white space; too_long: more characters than the store's
    # column holds; nul: holds U+0000 (PostgreSQL text cannot).
    (TEXT, True): (
        ("blank", "missing {name}"),
        ("too_long", "{name} longer than {limit} characters"),
        ("nul", "{name} contains a NUL character"),
    ),
    (TEXT, False): (
        ("too_long", "{name} longer than {limit} characters"),
        ("nul", "{name} contains a NUL character"),
    ),
    # bad_date: not DATETIME_RE, or its YYYY-MM-DD is not a real date from year 1 on.
    (DATE, True): (("blank", "missing {name}"), ("bad_date", "invalid {name}")),
    # not_number: not NUMBER_RE; huge: |value| >= AMOUNT_LIMIT; too_precise: more than
    # DECIMAL_DIGITS digits once cut to 12 places.
    (AMOUNT, True): (
        ("null", "missing {name}"),
        ("not_number", "malformed {name}"),
        ("huge", "{name} out of range"),
        ("too_precise", "{name} has more than {limit} digits"),
    ),
    (CURRENCY, True): (("null", "missing {name}"), ("not_currency", "invalid {name}")),
}


@dataclass(frozen=True)
class Rule:
    column: str
    kind: str
    required: bool = True

    @property
    def limit(self) -> int | None:
        if self.kind == AMOUNT:
            return DECIMAL_DIGITS
        return MAX_LENGTHS.get(self.column)

    def checks(self) -> list[tuple[str, str]]:
        """(reason, test) for each way a row can fail this rule, in order."""
        return [
            (reason.format(name=self.column, limit=self.limit), test)
            for test, reason in TESTS[(self.kind, self.required)]
        ]


RULES = (
    Rule("SubAccountId", TEXT),
    Rule("ServiceName", TEXT),
    Rule("ProviderName", TEXT),
    Rule("ChargePeriodStart", DATE),
    Rule("BillingPeriodStart", DATE),
    Rule("BilledCost", AMOUNT),
    Rule("EffectiveCost", AMOUNT),
    Rule("BillingCurrency", CURRENCY),
    Rule("RegionId", TEXT, required=False),
    Rule("ChargeCategory", TEXT, required=False),
    Rule("ResourceId", TEXT, required=False),
)


def reasons() -> list[tuple[str, Rule, str]]:
    """(reason, rule, test) of every check, in the order a row's reason is chosen."""
    return [(reason, rule, test) for rule in RULES for reason, test in rule.checks()]
