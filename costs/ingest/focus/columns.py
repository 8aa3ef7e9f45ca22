"""The FOCUS columns the importer reads and the cost-store limits their values must fit."""

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
