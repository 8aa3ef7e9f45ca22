"""The aggregation query: the file importer's validation and daily grouping, in Athena's SQL.

What is checked, in which order and under which reason comes from columns.RULES, the same
table the Arrow checks read; this module only says how each test is written in Athena's
engine (Trino). One scan does everything: each row gets the number of the first rule it fails
(0 if none, -1 if it belongs to another sub-account), usable rows are grouped by CostRecord's
natural key, and a second grouping set, the empty one, adds one total row that counts the rows
read, skipped and rejected per reason (COUNT_IF), with an example value per reason.

Every value is read as text (timestamps as ISO 8601, maps and structs as JSON) so that the
tests behave as on a CSV file's cells; an empty text is NULL, as the CSV reader makes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from costs.ingest.focus.columns import (
    AMOUNT_LIMIT,
    BEYOND_12_PLACES,
    CURRENCY_RE,
    DATETIME_RE,
    DECIMAL_DIGITS,
    KEY_COLUMNS,
    LEADING_ZEROS,
    NUMBER_RE,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    TINY_AMOUNT,
    Rule,
    reasons,
)

# The columns the query reads: the store's (no commitment columns, see README's limits).
READ_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# AWS Data Exports partition the export by month: BILLING_PERIOD=YYYY-MM in the S3 path,
# billing_period in the Glue table. Filtering on it makes Athena read only that month.
PARTITION_COLUMN = "billing_period"
SKIPPED = -1
# Result columns of the groups, in order; the reason columns follow.
GROUP_COLUMNS = (
    "is_total",
    *KEY_COLUMNS,
    "currency_min",
    "currency_max",
    "billing_period_min",
    "billing_period_max",
    "billed",
    "effective",
    "tags",
    "sub_account_name",
    "row_count",
    "rows_skipped",
)


def literal(text: str) -> str:
    """TEXT as a SQL string literal: quotes doubled, so nothing in it can end the literal."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """NAME as a quoted identifier (double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


# Glue's types whose text must be made rather than cast.
_TIME = re.compile(r"^(timestamp|date)\b")
_NESTED = re.compile(r"^(map|array|struct|row)\b")


def as_text(column: str, glue_type: str) -> str:
    """The expression reading COLUMN of GLUE_TYPE as text, as a CSV cell would hold it."""
    quoted = identifier(column)
    glue_type = glue_type.strip().lower()
    if _TIME.match(glue_type):
        # '2024-09-01T00:00:00.000': the ISO form the date tests expect (CAST would print a
        # space, or a zone name for timestamps with one).
        text = f"to_iso8601({quoted})"
    elif _NESTED.match(glue_type):
        # AWS's FOCUS export has Tags as map<string,string>: its JSON is what a CSV export holds.
        text = f"json_format(CAST({quoted} AS json))"
    elif glue_type.startswith(("string", "varchar", "char")):
        text = quoted
    else:
        text = f"CAST({quoted} AS varchar)"
    return f"nullif({text}, '')"


def _cut_places(value: str) -> str:
    cut = f"regexp_replace({value}, {literal(BEYOND_12_PLACES)}, '$1')"
    return f"regexp_replace({cut}, {literal(LEADING_ZEROS)}, '$1$2')"


def _matches(value: str, pattern: str) -> str:
    return f"coalesce(regexp_like({value}, {literal(pattern)}), false)"


def _test(test: str, value: str, limit: int | None) -> str:
    """The SQL condition true for the rows that fail TEST (a name from columns.TESTS)."""
    if test == "blank":
        return f"({value} IS NULL OR length(trim({value})) = 0)"
    if test == "null":
        return f"{value} IS NULL"
    if test == "too_long":
        return f"coalesce(length({value}) > {int(limit)}, false)"
    if test == "nul":
        return f"coalesce(strpos({value}, chr(0)) > 0, false)"
    if test == "bad_date":
        # CAST refuses 2024-02-30 (strptime's roll-over is caught by printing back in Arrow).
        day = f"try(CAST(substr({value}, 1, 10) AS date))"
        return f"NOT ({_matches(value, DATETIME_RE)} AND coalesce(year({day}) >= 1, false))"
    if test == "not_number":
        return f"NOT {_matches(value, NUMBER_RE)}"
    if test == "huge":
        return f"coalesce(abs(try(CAST({value} AS double))) >= {AMOUNT_LIMIT:.0E}, false)"
    if test == "too_precise":
        mantissa = f"regexp_replace({_cut_places(value)}, '[eE].*', '')"
        digits = f"length(regexp_replace({mantissa}, '[^0-9]', ''))"
        return f"coalesce({digits} > {DECIMAL_DIGITS}, false)"
    if test == "not_currency":
        return f"NOT {_matches(value, CURRENCY_RE)}"
    raise ValueError(f"no SQL for the test {test!r}")


def _amount(value: str) -> str:
    """A validated amount at 12 places, digits beyond them dropped as the file importer does.
    An exponent form goes through a double: exact for a double column (what AWS exports in
    that form), within 15 significant digits for text."""
    exponent = f"regexp_like({value}, '[eE]')"
    return (
        f"CASE WHEN abs(CAST({value} AS double)) < {TINY_AMOUNT:.0E} THEN DECIMAL '0' "
        f"WHEN {exponent} THEN CAST(CAST({value} AS double) AS decimal(38, 12)) "
        f"ELSE CAST({_cut_places(value)} AS decimal(38, 12)) END"
    )


@dataclass(frozen=True)
class Reason:
    number: int  # the row's reason code in the query, 1 up
    reason: str
    rule: Rule
    test: str  # a name from columns.TESTS

    @property
    def column(self) -> str:
        return self.rule.column

    @property
    def count_column(self) -> str:
        return f"reject_{self.number:02d}"

    @property
    def example_column(self) -> str:
        return f"reject_{self.number:02d}_example"


REASONS = tuple(Reason(n, *reason) for n, reason in enumerate(reasons(), 1))
RESULT_COLUMNS = GROUP_COLUMNS + tuple(
    name for r in REASONS for name in (r.count_column, r.example_column)
)
EXAMPLE_CHARS = 200


@dataclass(frozen=True)
class Table:
    database: str
    name: str
    columns: dict[str, str]  # FOCUS column -> (Glue column name, Glue type)
    partitioned: bool  # has the billing_period partition column
    # FOCUS column -> its text expression over another schema's columns (a CUR 2.0 table:
    # cur2.py); takes precedence over COLUMNS.
    expressions: dict[str, str] = field(default_factory=dict)
    kind: str = "FOCUS"

    def column(self, focus: str) -> str:
        """The text expression of the FOCUS column, NULL if the table does not have it."""
        if focus in self.expressions:
            return self.expressions[focus]
        if focus not in self.columns:
            return "CAST(NULL AS varchar)"
        name, glue_type = self.columns[focus]
        return as_text(name, glue_type)


def aggregation_query(table: Table, period: str, account_id: str | None = None) -> str:
    """The query for the billing period PERIOD (YYYY-MM, validated by the caller)."""
    typed = ",\n    ".join(f"{table.column(c)} AS {identifier(c)}" for c in READ_COLUMNS)
    if table.partitioned:
        where = f"{identifier(PARTITION_COLUMN)} = {literal(period)}"
    else:
        where = f"substr({table.column('BillingPeriodStart')}, 1, 7) = {literal(period)}"
    whens = []
    if account_id is not None:
        match = f"coalesce({identifier('SubAccountId')} = {literal(account_id)}, false)"
        whens.append(f"WHEN NOT {match} THEN {SKIPPED}")
    for reason in REASONS:
        condition = _test(reason.test, identifier(reason.column), reason.rule.limit)
        whens.append(f"WHEN {condition} THEN {reason.number}")
    case = "CASE\n      " + "\n      ".join(whens) + "\n      ELSE 0 END"

    def usable(expression: str) -> str:
        return f"IF(reason = 0, {expression})"

    def text(focus: str) -> str:
        return f"coalesce({identifier(focus)}, '')"

    keys = {
        "provider": identifier("ProviderName"),
        "sub_account_id": identifier("SubAccountId"),
        "usage_date": f"substr({identifier('ChargePeriodStart')}, 1, 10)",
        "service": identifier("ServiceName"),
        "region": text("RegionId"),
        "resource_id": text("ResourceId"),
        "charge_category": text("ChargeCategory"),
    }
    assert list(keys) == list(KEY_COLUMNS)
    fields = {
        **keys,
        "currency": identifier("BillingCurrency"),
        "billing_period": f"substr({identifier('BillingPeriodStart')}, 1, 10)",
        "billed": _amount(identifier("BilledCost")),
        "effective": _amount(identifier("EffectiveCost")),
        "tags": identifier("Tags"),
        "sub_account_name": identifier("SubAccountName"),
    }
    accepted = ",\n    ".join(f"{usable(e)} AS {identifier(n)}" for n, e in fields.items())
    key_list = ", ".join(identifier(k) for k in KEY_COLUMNS)
    # A group keeps one Tags value that is a JSON object (the file importer: its first one; a
    # table has no row order, so here the least).
    is_object = "try(CAST(json_parse(tags) AS map(varchar, json))) IS NOT NULL"
    per_reason = []
    for reason in REASONS:
        example = f"substr({identifier(reason.column)}, 1, {EXAMPLE_CHARS})"
        per_reason.append(f"count_if(reason = {reason.number}) AS {reason.count_column}")
        per_reason.append(
            f"arbitrary(IF(reason = {reason.number}, {example})) AS {reason.example_column}"
        )
    reason_lines = ",\n  ".join(per_reason)
    source = f"{identifier(table.database)}.{identifier(table.name)}"
    # Every name is an identifier() and every value a literal(), both quoted, or a constant.
    return f"""WITH typed AS (
  SELECT
    {typed}
  FROM {source}
  WHERE {where}
),
checked AS (
  SELECT *, {case} AS reason
  FROM typed
),
accepted AS (
  SELECT
    reason,
    {", ".join(dict.fromkeys(identifier(r.column) for r in REASONS))},
    {accepted}
  FROM checked
)
SELECT
  grouping({key_list}) <> 0 AS is_total,
  {key_list},
  min(currency) AS currency_min,
  max(currency) AS currency_max,
  min(billing_period) AS billing_period_min,
  max(billing_period) AS billing_period_max,
  sum(billed) AS billed,
  sum(effective) AS effective,
  min(tags) FILTER (WHERE {is_object}) AS tags,
  max(sub_account_name) AS sub_account_name,
  count(*) AS row_count,
  count_if(reason = {SKIPPED}) AS rows_skipped,
  {reason_lines}
FROM accepted
GROUP BY GROUPING SETS (({key_list}), ())
"""  # noqa: S608
