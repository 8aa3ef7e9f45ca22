"""AWS Data Exports' CUR 2.0 table, read as the FOCUS columns the aggregation query checks.

A CUR 2.0 export carries the same charges as a FOCUS one under AWS's own names; rather than a
second query, each FOCUS column the query reads becomes an expression over CUR 2.0 columns, and
everything after (the validation rules, their order and reasons, the daily grouping, the
totals) is the FOCUS query's, unchanged (sql.py). The mapping follows AWS's own FOCUS export:

- BilledCost: line_item_unblended_cost, what the invoice charges.
- EffectiveCost: the amortized cost (AWS's formula, as in its Cost Intelligence dashboards):
  usage covered by a Savings Plan or a reservation at its effective cost, the unused part of
  the commitment on its recurring fee line, upfront fees and Savings Plan negations at 0.
- ChargePeriodStart / BillingPeriodStart: line_item_usage_start_date /
  bill_billing_period_start_date; BillingCurrency: line_item_currency_code.
- SubAccountId / SubAccountName: line_item_usage_account_id / _name; ProviderName: AWS.
- ServiceName: the product map's product_name ("Amazon Elastic Compute Cloud", as FOCUS
  names it), else product_servicecode, else line_item_product_code.
- RegionId: product_region_code; ResourceId: line_item_resource_id (exports with resources).
- ChargeCategory: from line_item_line_item_type (CHARGE_CATEGORIES).
- Tags: resource_tags as JSON like a FOCUS export's, CUR's "user_" prefix dropped from the
  user tags' keys (the tag "team" is user_team there); AWS's own tags (aws_...) keep theirs.
"""

from __future__ import annotations

from .sql import as_text, identifier, literal

# Without these a table is not a CUR 2.0 export the query can read.
REQUIRED = (
    "line_item_usage_start_date",
    "bill_billing_period_start_date",
    "line_item_usage_account_id",
    "line_item_unblended_cost",
    "line_item_currency_code",
    "line_item_line_item_type",
    "line_item_product_code",
)
USAGE = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation")
PURCHASE = ("Fee", "RIFee", "SavingsPlanUpfrontFee", "SavingsPlanRecurringFee")
CREDIT = (
    "Credit",
    "Refund",
    "BundledDiscount",
    "EdpDiscount",
    "PrivateRateDiscount",
    "SppDiscount",
    "DistributorDiscount",
)
CHARGE_CATEGORIES = {"Usage": USAGE, "Purchase": PURCHASE, "Tax": ("Tax",), "Credit": CREDIT}
USER_TAG_PREFIX = "user_"


def is_cur2(found: dict[str, tuple[str, str]]) -> bool:
    """FOUND: the table's columns, lower-cased name -> (name, Glue type)."""
    return all(column in found for column in REQUIRED)


def expressions(found: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The text expression of each FOCUS column the query reads, over FOUND's columns."""

    def text(column: str) -> str:
        if column not in found:
            return "CAST(NULL AS varchar)"
        return as_text(*found[column])

    def number(column: str) -> str:
        if column not in found:
            return "CAST(NULL AS double)"
        return f"try_cast({identifier(found[column][0])} AS double)"

    kind = text("line_item_line_item_type")

    def among(values) -> str:
        return f"{kind} IN ({', '.join(literal(v) for v in values)})"

    amortized = (
        "CASE "
        f"WHEN {kind} = 'SavingsPlanCoveredUsage' "
        f"THEN {number('savings_plan_savings_plan_effective_cost')} "
        f"WHEN {kind} = 'SavingsPlanRecurringFee' "
        f"THEN {number('savings_plan_total_commitment_to_date')} "
        f"- {number('savings_plan_used_commitment')} "
        f"WHEN {among(('SavingsPlanNegation', 'SavingsPlanUpfrontFee'))} THEN 0e0 "
        f"WHEN {kind} = 'DiscountedUsage' THEN {number('reservation_effective_cost')} "
        f"WHEN {kind} = 'RIFee' "
        f"THEN {number('reservation_unused_amortized_upfront_fee_for_billing_period')} "
        f"+ {number('reservation_unused_recurring_fee')} "
        f"WHEN {kind} = 'Fee' AND coalesce({text('reservation_reservation_a_r_n')}, '') <> '' "
        "THEN 0e0 "
        f"ELSE {number('line_item_unblended_cost')} END"
    )
    category = (
        "CASE "
        + " ".join(
            f"WHEN {among(values)} THEN {literal(name)}"
            for name, values in CHARGE_CATEGORIES.items()
        )
        + f" WHEN {kind} IS NULL THEN NULL ELSE 'Adjustment' END"
    )
    services = [text("product_servicecode"), text("line_item_product_code")]
    product = _map(found, "product")
    if product:
        services.insert(0, f"nullif(element_at({identifier(product[0])}, 'product_name'), '')")
    return {
        "BilledCost": text("line_item_unblended_cost"),
        "EffectiveCost": f"CAST({amortized} AS varchar)",
        "ChargePeriodStart": text("line_item_usage_start_date"),
        "BillingPeriodStart": text("bill_billing_period_start_date"),
        "BillingCurrency": text("line_item_currency_code"),
        "ProviderName": "'AWS'",
        "SubAccountId": text("line_item_usage_account_id"),
        "SubAccountName": text("line_item_usage_account_name"),
        "ServiceName": f"coalesce({', '.join(services)})",
        "RegionId": text("product_region_code"),
        "ResourceId": text("line_item_resource_id"),
        "ChargeCategory": category,
        "Tags": _tags(found),
    }


def _tags(found) -> str:
    """Tags as a JSON object with CUR's "user_" prefix dropped from the keys; NULL without
    resource_tags. A key starts right after "{" or ","; inside a JSON string a quote is always
    escaped, so the pattern never matches in a value."""
    column = _map(found, "resource_tags")
    if column is None:
        return "CAST(NULL AS varchar)"
    key = literal('([{,])"' + USER_TAG_PREFIX)
    renamed = f"regexp_replace({as_text(*column)}, {key}, '$1\"')"  # as_text: its JSON
    return f"nullif({renamed}, '{{}}')"


def _map(found, name: str) -> tuple[str, str] | None:
    """(name, Glue type) of FOUND's column NAME if it is a map; CSV exports hold text."""
    column = found.get(name)
    return column if column and column[1].lower().startswith("map") else None
