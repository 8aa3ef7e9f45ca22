"""The cost store and the records of how it was filled.

One table, CostRecord, holds daily costs from both sources:

- Cost Explorer (source="explorer"): metric "unblended" (UnblendedCost: the on-demand rate
  actually charged, the default Cost Explorer view) and "amortized" (AmortizedCost: upfront
  Savings Plan and RI fees spread over the days they cover).
- FOCUS billing exports (source="focus"): metric "billed" (BilledCost: what the invoice
  charges) and "effective" (EffectiveCost: amortized, after discounts and commitments).

Each row is one day of one (provider, sub-account, service, region, resource, usage type,
charge category) for one metric. The natural key below is unique, so every write is an
idempotent upsert or an atomic replace of a window: re-running a sync or re-importing a
billing period never double-counts.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import CloudAccount, Organization, TenantQuerySet

CE_REQUEST_PRICE = Decimal("0.01")  # USD per Cost Explorer API request


class CostSource(models.TextChoices):
    EXPLORER = "explorer", "Cost Explorer"
    FOCUS = "focus", "FOCUS billing export"


class CostMetric(models.TextChoices):
    UNBLENDED = "unblended", "Unblended (Cost Explorer)"
    AMORTIZED = "amortized", "Amortized (Cost Explorer)"
    BILLED = "billed", "Billed (FOCUS BilledCost)"
    EFFECTIVE = "effective", "Effective (FOCUS EffectiveCost)"


# The metric each source reports as "the cost" in summaries and charts.
PRIMARY_METRIC = {CostSource.EXPLORER: CostMetric.UNBLENDED, CostSource.FOCUS: CostMetric.BILLED}


# Athena bills 5 USD per TB scanned (10^12 bytes), at least 10 MB per query.
ATHENA_USD_PER_TB = Decimal("5")
ATHENA_MINIMUM_BYTES = 10 * 10**6


def athena_query_cost(bytes_scanned: int) -> Decimal:
    billed = max(bytes_scanned, ATHENA_MINIMUM_BYTES) if bytes_scanned else 0
    return (ATHENA_USD_PER_TB * billed / 10**12).quantize(Decimal("0.000001"))


class BillingImport(models.Model):
    """One run of import_billing: what was read, what was written, what was refused."""

    tenant_path = "organization"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="billing_imports"
    )
    uri = models.CharField("file or s3:// URI", max_length=1024)
    file_format = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    records_written = models.PositiveBigIntegerField(default=0)
    records_replaced = models.PositiveBigIntegerField(default=0)
    billing_periods = models.JSONField(default=list, blank=True)
    sub_accounts = models.JSONField(default=list, blank=True)
    rejects = models.JSONField(
        default=list, blank=True, help_text="The first rejected rows, with their reasons."
    )
    reject_reasons = models.JSONField(
        default=dict, blank=True, help_text="Count of rejected rows per reason."
    )
    error = models.TextField(blank=True)
    # Athena imports only: what the aggregation query scanned (what Athena bills) and its id,
    # to find it in the workgroup's history.
    bytes_scanned = models.PositiveBigIntegerField(null=True, blank=True)
    query_execution_id = models.CharField(max_length=128, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Import {self.pk} of {self.uri}"

    @property
    def query_cost(self):
        """Athena's list price for the bytes scanned (5 USD per TB, 10 MB minimum)."""
        if self.bytes_scanned is None:
            return None
        return athena_query_cost(self.bytes_scanned)


# The natural key of a cost row: unique, so every write is an idempotent upsert.
COST_RECORD_KEY = (
    "organization",
    "source",
    "metric",
    "provider",
    "sub_account_id",
    "usage_date",
    "service",
    "region",
    "resource_id",
    "usage_type",
    "charge_category",
)


class CostRecordQuerySet(TenantQuerySet):
    def primary(self):
        """Only each source's headline metric, so sums never add two views of one cost."""
        return self.filter(
            Q(source=CostSource.EXPLORER, metric=PRIMARY_METRIC[CostSource.EXPLORER])
            | Q(source=CostSource.FOCUS, metric=PRIMARY_METRIC[CostSource.FOCUS])
        )


class CostRecord(models.Model):
    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cost_records"
    )
    # Set when the sub-account is a connected AWS account; FOCUS files also bill others.
    account = models.ForeignKey(
        CloudAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cost_records",
    )
    source = models.CharField(max_length=10, choices=CostSource.choices)
    metric = models.CharField(max_length=10, choices=CostMetric.choices)
    provider = models.CharField(max_length=64, default="AWS")
    sub_account_id = models.CharField(max_length=255)
    usage_date = models.DateField()
    service = models.CharField(max_length=200)
    region = models.CharField(max_length=64, blank=True, default="")
    resource_id = models.CharField(max_length=512, blank=True, default="")
    usage_type = models.CharField(max_length=200, blank=True, default="")
    charge_category = models.CharField(max_length=32, blank=True, default="")
    amount = models.DecimalField(max_digits=24, decimal_places=10)
    currency = models.CharField(max_length=3, default="USD")
    estimated = models.BooleanField(
        default=False, help_text="Cost Explorer still marks the day as estimated."
    )
    billing_import = models.ForeignKey(
        BillingImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="records"
    )
    billing_period = models.DateField(
        null=True, blank=True, help_text="First day of the FOCUS billing period."
    )
    tags = models.JSONField(null=True, blank=True)

    objects = CostRecordQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=list(COST_RECORD_KEY),
                name="unique_cost_record",
            ),
        ]
        indexes = [
            # Summaries filter an organisation's date range first, then group.
            models.Index(
                fields=["organization", "usage_date", "metric"], name="cost_org_date_metric"
            ),
            models.Index(fields=["account", "source", "usage_date"], name="cost_account_date"),
            models.Index(
                fields=["organization", "source", "billing_period"], name="cost_org_period"
            ),
        ]

    def __str__(self):
        return f"{self.usage_date} {self.service} {self.amount} {self.currency}"


class CostRollup(models.Model):
    """Each day's spend per service, region and account, each cost counted once.

    Written by costs/rollup.py whenever the store changes (Cost Explorer sync, billing import),
    read by unfiltered cost summaries: a 30-day summary of a large store reads a few thousand
    rollup rows instead of hundreds of thousands of cost records.
    """

    tenant_path = "organization"

    class Dimension(models.TextChoices):
        SERVICE = "service"
        REGION = "region"
        ACCOUNT = "account"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    usage_date = models.DateField()
    dimension = models.CharField(max_length=8, choices=Dimension.choices)
    key = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=24, decimal_places=10)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dimension", "usage_date", "key"], name="unique_rollup"
            ),
        ]

    def __str__(self):
        return f"{self.usage_date} {self.dimension}={self.key} {self.amount}"


class AccountRun(models.Model):
    """What every sync of one account records: when, over which days, how many AWS requests,
    and the error. Concrete runs add their status and counts, and the lock: a unique
    constraint on the account where status is "running"."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True, help_text="Exclusive.")
    requests_made = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


class SyncRun(AccountRun):
    """One Cost Explorer sync of one account, with its window and its bill ($0.01/request)."""

    tenant_path = "account__organization"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        NO_DATA = "no_data", "no data available"
        SKIPPED = "skipped", "skipped (another sync running)"
        FAILED = "failed"

    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_deleted = models.PositiveIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["account", "-started_at"], name="syncrun_account_recent")]
        constraints = [
            # The sync lock: a second sync of the same account cannot even record itself as
            # running, whichever worker or process it comes from.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="running"),
                name="one_running_sync_per_account",
            ),
        ]

    def __str__(self):
        return f"Sync of {self.account} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def request_cost(self) -> Decimal:
        return self.requests_made * CE_REQUEST_PRICE


class TagKey(models.Model):
    """A cost-allocation tag key the organisation wants in the store.

    Cost Explorer reports tags only when asked, one GroupBy per key: the sync asks for each of
    these (costs/ingest/explorer.py), one extra request per key. FOCUS exports carry every tag
    on every row already.
    """

    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="tag_keys"
    )
    key = models.CharField(
        max_length=128,
        help_text="As activated in the AWS Billing console's cost allocation tags (e.g. Team, "
        "user:team, aws:createdBy).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "key"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="unique_tag_key"),
        ]

    def __str__(self):
        return self.key


class TagSpend(models.Model):
    """A day's Cost Explorer spend of one service in one account, by one tag key's value.

    Cost Explorer groups by at most two dimensions, so a tag's split of the spend comes per
    (day, service), region aside, one tag key at a time: "" is the untagged spend. Replaced with
    the cost records of the same days by the sync.
    """

    tenant_path = "organization"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    sub_account_id = models.CharField(max_length=255)
    usage_date = models.DateField()
    service = models.CharField(max_length=200)
    tag_key = models.CharField(max_length=128)
    tag_value = models.CharField(max_length=256, blank=True)
    amount = models.DecimalField(max_digits=24, decimal_places=10)
    estimated = models.BooleanField(default=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "account",
                    "sub_account_id",
                    "usage_date",
                    "service",
                    "tag_key",
                    "tag_value",
                ],
                name="unique_tag_spend",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "usage_date"], name="tagspend_org_date"),
        ]

    def __str__(self):
        return f"{self.usage_date} {self.service} {self.tag_key}={self.tag_value}: {self.amount}"


# Cost Explorer's and FOCUS's names of the services a Compute Savings Plan covers (EC2 compute,
# Fargate, which is billed under ECS, and Lambda).
SAVINGS_PLAN_SERVICES = (
    "Amazon Elastic Compute Cloud - Compute",
    "Amazon Elastic Compute Cloud",
    "Amazon Elastic Container Service",
    "AWS Lambda",
)


class CommitmentUsageHour(models.Model):
    """One hour of a sub-account's commitment-relevant usage, from a FOCUS import: the
    on-demand spend Savings Plans could cover, and the usage commitments covered or left unused.

    Kept hourly because a commitment is bought per hour: a day's total hides the troughs a
    commitment would sit unused in. Replaced with the cost records of the same billing period
    and sub-account by every import of the period.
    """

    tenant_path = "organization"

    class Bucket(models.TextChoices):
        ON_DEMAND = "on_demand", "On-demand, Savings Plan eligible"
        SAVINGS_PLAN_USED = "sp_used", "Covered by a Savings Plan"
        SAVINGS_PLAN_UNUSED = "sp_unused", "Savings Plan commitment unused"
        RESERVATION_USED = "ri_used", "Covered by a reservation"
        RESERVATION_UNUSED = "ri_unused", "Reservation unused"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    sub_account_id = models.CharField(max_length=255)
    hour = models.DateTimeField(help_text="Start of the UTC hour (ChargePeriodStart).")
    bucket = models.CharField(max_length=10, choices=Bucket.choices)
    list_cost = models.DecimalField(
        max_digits=24,
        decimal_places=10,
        null=True,
        blank=True,
        help_text="At on-demand (list) prices; empty when the file had no usable ListCost.",
    )
    effective_cost = models.DecimalField(max_digits=24, decimal_places=10)
    currency = models.CharField(max_length=3, default="USD")
    billing_import = models.ForeignKey(
        BillingImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    billing_period = models.DateField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "billing_period",
                    "sub_account_id",
                    "hour",
                    "bucket",
                    "currency",
                ],
                name="unique_commitment_usage_hour",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "hour"], name="commitment_usage_account_hour"),
        ]

    def __str__(self):
        return f"{self.sub_account_id} {self.hour:%Y-%m-%d %H:00} {self.bucket}"


class PriceQuote(models.Model):
    """One on-demand price from the AWS Price List Query API, for one price key in one region.

    Public AWS prices, not tenant data: one row serves every organisation. Keys are those of
    costs/prices.py ("ec2:m5.large", "nat:gb", ...); costs/price_list.py fills the table.
    NOT_LISTED remembers that the API was asked and lists no such product there, so lookups
    fall back to the shipped table (marked as such) and the refresh does not guess.
    """

    class Status(models.TextChoices):
        OK = "ok", "Listed"
        NOT_LISTED = "not_listed", "Not listed by the Price List API"

    key = models.CharField(max_length=100)
    region = models.CharField(max_length=32)
    amount = models.DecimalField(
        max_digits=20, decimal_places=10, null=True, blank=True, help_text="USD per unit."
    )
    unit = models.CharField(max_length=16, help_text='"hour", "GB-month" or "GB".')
    sku = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    fetched_at = models.DateTimeField(help_text="When the Price List API answered this.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "region"], name="unique_price_quote"),
            models.CheckConstraint(
                condition=~Q(status="ok") | Q(amount__isnull=False),
                name="price_quote_ok_has_amount",
            ),
        ]
        ordering = ["region", "key"]

    def __str__(self):
        return f"{self.key} in {self.region}"
