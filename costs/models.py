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

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Import {self.pk} of {self.uri}"


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


class SyncRun(models.Model):
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
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True, help_text="Exclusive.")
    requests_made = models.PositiveIntegerField(default=0)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_deleted = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

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
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    @property
    def request_cost(self) -> Decimal:
        return self.requests_made * CE_REQUEST_PRICE


# --- Inventory -------------------------------------------------------------------------------


class InventoryQuerySet(TenantQuerySet):
    def present(self):
        """Still in AWS at the last inventory sync."""
        return self.filter(gone_at__isnull=True)


class InventoryItem(models.Model):
    """Fields every inventoried resource shares; rows gone from AWS are marked, not deleted."""

    tenant_path = "account__organization"

    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE)
    region = models.CharField(max_length=32)
    tags = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(
        null=True, blank=True, help_text="When the resource was no longer found in AWS."
    )

    objects = InventoryQuerySet.as_manager()

    class Meta:
        abstract = True


class Instance(InventoryItem):
    class Lifecycle(models.TextChoices):
        ON_DEMAND = "on-demand"
        SPOT = "spot"
        SCHEDULED = "scheduled"
        CAPACITY_BLOCK = "capacity-block"

    instance_id = models.CharField("instance ID", max_length=32)
    name = models.CharField(max_length=256, blank=True)
    instance_type = models.CharField(max_length=32)
    state = models.CharField(max_length=16)
    state_since = models.DateTimeField(
        null=True, blank=True, help_text="When the instance entered its current state."
    )
    launch_time = models.DateTimeField(null=True, blank=True)
    platform = models.CharField(max_length=64, blank=True, help_text="e.g. Linux/UNIX, Windows")
    lifecycle = models.CharField(
        max_length=16, choices=Lifecycle.choices, default=Lifecycle.ON_DEMAND
    )
    root_device_type = models.CharField(max_length=16, blank=True)
    auto_scaling_group = models.CharField(max_length=256, blank=True)
    verdict = models.CharField(
        max_length=20, blank=True, help_text="The last idle detection's conclusion."
    )
    verdict_evidence = models.JSONField(default=dict, blank=True)
    verdict_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "instance_id"], name="unique_instance"),
        ]
        ordering = ["account", "name", "instance_id"]

    def __str__(self):
        return f"{self.name} ({self.instance_id})" if self.name else self.instance_id


class Volume(InventoryItem):
    volume_id = models.CharField("volume ID", max_length=32)
    volume_type = models.CharField(max_length=16)
    size_gib = models.PositiveIntegerField()
    iops = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16)
    attached_instance_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "volume_id"], name="unique_volume"),
        ]
        ordering = ["account", "volume_id"]

    def __str__(self):
        return f"{self.volume_id} ({self.volume_type}, {self.size_gib} GiB)"


class ElasticIP(InventoryItem):
    allocation_id = models.CharField("allocation ID", max_length=64)
    public_ip = models.GenericIPAddressField()
    association_id = models.CharField(max_length=64, blank=True)
    instance_id = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = "Elastic IP"
        constraints = [
            models.UniqueConstraint(fields=["account", "allocation_id"], name="unique_eip"),
        ]
        ordering = ["account", "public_ip"]

    def __str__(self):
        return self.public_ip


class UtilizationDay(models.Model):
    """One UTC day of an instance's CloudWatch figures, rolled up from hourly datapoints."""

    tenant_path = "instance__account__organization"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="utilization")
    day = models.DateField()
    hours = models.PositiveSmallIntegerField(help_text="Hours with CPU data (24 = complete).")
    cpu_avg = models.FloatField(help_text="Mean of the hourly average CPU %.")
    cpu_max = models.FloatField(help_text="Highest hourly maximum CPU %.")
    cpu_p95 = models.FloatField(help_text="95th percentile of the hourly average CPU %.")
    cpu_peak_hour_avg = models.FloatField(
        default=0, help_text="Highest hourly average CPU % (a sustained hour, not a spike)."
    )
    network_bytes = models.BigIntegerField(help_text="NetworkIn + NetworkOut over the day.")
    memory_max = models.FloatField(
        null=True, blank=True, help_text="Highest hourly memory % (CloudWatch agent), if any."
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "day"], name="unique_utilization_day"),
        ]
        ordering = ["instance", "day"]

    def __str__(self):
        return f"{self.instance_id} {self.day}"


# --- Recommendations -------------------------------------------------------------------------


class DetectionSettings(models.Model):
    """Per-organisation thresholds; defaults follow AWS's own criteria (see costs/idle.py)."""

    tenant_path = "organization"

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="detection_settings"
    )
    lookback_days = models.PositiveSmallIntegerField(default=14)
    min_coverage_percent = models.PositiveSmallIntegerField(
        default=90, help_text="Share of lookback hours that must have CPU data to decide."
    )
    idle_cpu_avg_percent = models.FloatField(
        default=10.0, help_text="Trusted Advisor: daily average CPU at or below this is low."
    )
    idle_network_mb_per_day = models.FloatField(
        default=5.0, help_text="Trusted Advisor: daily network I/O at or below this is low."
    )
    idle_cpu_peak_percent = models.FloatField(
        default=20.0,
        help_text="No hour may average more CPU than this: an hour of real work is not idle.",
    )
    idle_days_percent = models.PositiveSmallIntegerField(
        default=100, help_text="Share of days with data that must be idle (100 = every day)."
    )
    rightsize_cpu_p95_percent = models.FloatField(
        default=40.0, help_text="p95 of hourly CPU below this suggests the next smaller size."
    )
    memory_fit_percent = models.FloatField(
        default=80.0, help_text="Projected peak memory on the smaller size must stay below this."
    )
    protect_tag = models.CharField(
        max_length=128,
        default="spendlens:protect=true",
        help_text="key=value; instances with this tag are never recommended for stopping.",
    )
    stopped_volume_days = models.PositiveSmallIntegerField(
        default=30, help_text="Volumes of instances stopped longer than this are flagged."
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "detection settings"

    def __str__(self):
        return f"Detection settings of {self.organization}"

    @classmethod
    def for_organization(cls, organization) -> DetectionSettings:
        settings_row, _ = cls.objects.get_or_create(organization=organization)
        return settings_row

    @property
    def protect_tag_pair(self) -> tuple[str, str]:
        key, _, value = self.protect_tag.partition("=")
        return key.strip(), value.strip()


class RecommendationQuerySet(TenantQuerySet):
    def open(self):
        return self.filter(status=Recommendation.Status.OPEN)


class Recommendation(models.Model):
    tenant_path = "account__organization"

    class Kind(models.TextChoices):
        IDLE_INSTANCE = "idle_instance", "Idle instance: stop it"
        IDLE_ASG_MEMBER = "idle_asg_member", "Idle Auto Scaling member: shrink the group"
        RIGHTSIZE = "rightsize", "Oversized instance: move to a smaller type"
        UNATTACHED_VOLUME = "unattached_volume", "Unattached EBS volume"
        GP2_VOLUME = "gp2_volume", "gp2 volume: migrate to gp3"
        UNASSOCIATED_EIP = "unassociated_eip", "Unassociated Elastic IP"
        STOPPED_INSTANCE_VOLUME = "stopped_instance_volume", "Volume of a long-stopped instance"

    class Status(models.TextChoices):
        OPEN = "open"
        DISMISSED = "dismissed"
        RESOLVED = "resolved"
        APPLIED = "applied"

    class SavingBasis(models.TextChoices):
        BILLED = "billed", "the resource's billed cost (last 30 days)"
        PRICE_TABLE = "price_table", "the on-demand price table"

    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="recommendations"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    resource_id = models.CharField(max_length=64)
    region = models.CharField(max_length=32)
    instance = models.ForeignKey(
        Instance, on_delete=models.SET_NULL, null=True, blank=True, related_name="recommendations"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    summary = models.CharField(max_length=300)
    action = models.TextField(help_text="What to do, in words.")
    target_type = models.CharField(max_length=32, blank=True)
    monthly_saving = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    saving_basis = models.CharField(max_length=12, choices=SavingBasis.choices)
    evidence = models.JSONField(default=dict, help_text="The figures that decided it.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    dismissed_reason = models.CharField(max_length=300, blank=True)
    snoozed_until = models.DateField(
        null=True, blank=True, help_text="A dismissed recommendation reopens after this date."
    )

    objects = RecommendationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "resource_id"],
                condition=Q(status__in=["open", "dismissed"]),
                name="one_live_recommendation_per_resource_and_kind",
            ),
        ]
        indexes = [models.Index(fields=["account", "status"], name="rec_account_status")]
        ordering = ["-monthly_saving", "resource_id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.resource_id}"


# --- Instance actions and the auto-stop policy ------------------------------------------------


class AppendOnlyQuerySet(TenantQuerySet):
    """An audit trail is only ever added to: bulk edits and deletes are refused outright.

    (Deleting the organisation or account still cascades at the SQL level, which is the one
    way audit rows leave: with the tenant they describe.)
    """

    def update(self, **kwargs):
        raise TypeError("The instance action log is append-only: rows cannot be updated.")

    def delete(self):
        raise TypeError("The instance action log is append-only: rows cannot be deleted.")


class InstanceAction(models.Model):
    """One attempt to stop or start an instance, whoever asked and however it ended.

    Written once, when the attempt is over (see costs/actions.py); refusals are written too, so
    the log answers "who tried what, and why did it (not) happen".
    """

    tenant_path = "organization"
    AUTO_STOP_ACTOR = "auto-stop policy"

    class Action(models.TextChoices):
        STOP = "stop"
        START = "start"

    class Result(models.TextChoices):
        SUCCEEDED = "succeeded"
        REFUSED = "refused", "refused by Spendlens"
        FAILED = "failed", "failed (AWS error)"
        NO_OP = "no_op", "nothing to do"
        DRY_RUN = "dry_run", "dry run (nothing changed)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="instance_actions"
    )
    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="instance_actions"
    )
    # The instance row may be gone one day; the AWS ID below keeps the record readable.
    instance = models.ForeignKey(
        Instance, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions"
    )
    aws_instance_id = models.CharField("instance ID", max_length=32)
    region = models.CharField(max_length=32)
    action = models.CharField(max_length=5, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="instance_actions",
    )
    actor_label = models.CharField(
        max_length=150, help_text='The username at the time, or "auto-stop policy".'
    )
    recommendation = models.ForeignKey(
        Recommendation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
    )
    reason = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices)
    message = models.TextField(blank=True)
    error_code = models.CharField("AWS error code", max_length=100, blank=True)
    state_before = models.CharField(max_length=16, blank=True)
    state_after = models.CharField(max_length=16, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-requested_at"], name="action_org_recent"),
            models.Index(fields=["instance", "-requested_at"], name="action_instance_recent"),
        ]

    def __str__(self):
        return f"{self.action} {self.aws_instance_id} by {self.actor_label}: {self.result}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The instance action log is append-only: rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The instance action log is append-only: rows cannot be deleted.")


class AutoStopPolicy(models.Model):
    """Opt-in, per account: stop instances idle this long, after warning their operators."""

    tenant_path = "account__organization"

    account = models.OneToOneField(
        CloudAccount, on_delete=models.CASCADE, related_name="auto_stop_policy"
    )
    enabled = models.BooleanField(default=False)
    idle_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days an idle recommendation must have stood open before the announcement.",
    )
    grace_hours = models.PositiveSmallIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="Hours between the announcement e-mail and the stop.",
    )
    dry_run = models.BooleanField(
        default=True,
        help_text="Announce and report what would be stopped, but never stop anything.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = "auto-stop policy"
        verbose_name_plural = "auto-stop policies"
        ordering = ["account"]

    def __str__(self):
        return f"Auto-stop policy of {self.account}"

    @classmethod
    def for_account(cls, account) -> AutoStopPolicy:
        policy, _ = cls.objects.get_or_create(account=account)
        return policy


class AutoStopNotice(models.Model):
    """One announced auto-stop: which idle recommendation, when warned, when due, outcome."""

    tenant_path = "account__organization"

    class Status(models.TextChoices):
        PENDING = "pending", "announced, waiting for the grace period"
        STOPPING = "stopping", "being stopped now"
        STOPPED = "stopped"
        WOULD_STOP = "would_stop", "would have been stopped (dry run)"
        CANCELLED = "cancelled"
        FAILED = "failed"

    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="auto_stop_notices"
    )
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.CASCADE, related_name="auto_stop_notices"
    )
    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, related_name="auto_stop_notices"
    )
    dry_run = models.BooleanField(
        help_text="Announced in dry-run mode: a real run never stops on a dry-run announcement."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    announced_at = models.DateTimeField(default=timezone.now)
    stop_after = models.DateTimeField()
    recipients = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    action = models.ForeignKey(
        InstanceAction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The stop attempt this notice led to.",
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            # One announcement per recommendation and mode, ever: the same idle spell is never
            # announced (or stopped) twice; a new spell opens a new recommendation.
            models.UniqueConstraint(
                fields=["recommendation", "dry_run"], name="one_auto_stop_notice_per_recommendation"
            ),
        ]
        indexes = [models.Index(fields=["account", "status"], name="autostop_account_status")]
        ordering = ["-announced_at"]

    def __str__(self):
        return f"Auto-stop of {self.instance} ({self.get_status_display()})"
