"""Commitments: the Savings Plans and Reserved Instances of each connected account, their daily
coverage and utilization, and the runs that fetched them.

Amounts are kept in the currency AWS states for them: a commitment billed in another currency
than USD is stored as it is and never summed with USD figures (see Commitment.foreign_currency).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import CloudAccount, TenantQuerySet
from costs.models import AccountRun

# Every figure the product sums is in this currency (Cost Explorer reports USD).
BASE_CURRENCY = "USD"
MONEY = {"max_digits": 18, "decimal_places": 6}


class Commitment(models.Model):
    """One Savings Plan or reservation, as the last inventory sync found it."""

    tenant_path = "account__organization"

    class Kind(models.TextChoices):
        SAVINGS_PLAN = "savings_plan", "Savings Plan"
        EC2_RESERVED = "ec2_reserved", "EC2 Reserved Instance"
        RDS_RESERVED = "rds_reserved", "RDS reserved instance"

    class PaymentOption(models.TextChoices):
        NO_UPFRONT = "no_upfront", "No Upfront"
        PARTIAL_UPFRONT = "partial_upfront", "Partial Upfront"
        ALL_UPFRONT = "all_upfront", "All Upfront"
        # Reservations bought before 2016 (Heavy/Medium/Light Utilization offerings).
        LEGACY = "legacy", "Legacy utilization offering"

    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="commitments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    commitment_id = models.CharField(
        "commitment ID", max_length=128, help_text="Savings Plan ID or reservation ID."
    )
    region = models.CharField(
        max_length=32, blank=True, help_text="Empty for Savings Plans that apply in every region."
    )
    plan_type = models.CharField(
        max_length=32, blank=True, help_text="Savings Plans: Compute, EC2Instance, SageMaker..."
    )
    instance_family = models.CharField(
        max_length=32, blank=True, help_text="EC2 Instance Savings Plans: the family covered."
    )
    instance_type = models.CharField(
        max_length=64, blank=True, help_text="Reservations: the instance (or DB instance) class."
    )
    instance_count = models.PositiveIntegerField(null=True, blank=True)
    platform = models.CharField(
        max_length=128, blank=True, help_text="Reservations: the product description."
    )
    term_years = models.PositiveSmallIntegerField()
    payment_option = models.CharField(max_length=16, choices=PaymentOption.choices)
    hourly_commitment = models.DecimalField(
        null=True, blank=True, help_text="Savings Plans: the spend committed per hour.", **MONEY
    )
    upfront_fee = models.DecimalField(default=0, **MONEY)
    recurring_hourly = models.DecimalField(
        "recurring hourly charge", default=0, help_text="Per hour, all instances.", **MONEY
    )
    currency = models.CharField(max_length=3, default=BASE_CURRENCY)
    start = models.DateTimeField()
    end = models.DateTimeField()
    state = models.CharField(max_length=32)
    fetched_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "commitment_id"], name="unique_commitment_per_account"
            ),
        ]
        ordering = ["account", "end", "commitment_id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.commitment_id}"

    @property
    def foreign_currency(self) -> bool:
        """Billed in another currency than the product's figures: shown apart, never summed."""
        return self.currency != BASE_CURRENCY

    def days_to_expiry(self, now=None) -> int:
        return (self.end - (now or timezone.now())) // timedelta(days=1)


class CommitmentDay(models.Model):
    """One UTC day of an account's coverage and utilization for one kind of commitment.

    Figures are None when the source did not give them (utilization of an account without any
    commitment of the kind), never a made-up zero; a day a source answered only in part is not
    stored at all (the sync run says which days).
    """

    tenant_path = "account__organization"

    class Kind(models.TextChoices):
        SAVINGS_PLAN = "savings_plan", "Savings Plans"
        RESERVATION = "reservation", "Reservations"

    class Source(models.TextChoices):
        EXPLORER = "explorer", "Cost Explorer"
        FOCUS = "focus", "FOCUS export"

    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="commitment_days"
    )
    day = models.DateField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    coverage_percent = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    covered_spend = models.DecimalField(
        null=True, blank=True, help_text="Eligible spend the commitments paid for.", **MONEY
    )
    on_demand_spend = models.DecimalField(
        null=True, blank=True, help_text="Eligible spend paid at on-demand rates.", **MONEY
    )
    utilization_percent = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    used_commitment = models.DecimalField(null=True, blank=True, **MONEY)
    unused_commitment = models.DecimalField(null=True, blank=True, **MONEY)
    net_savings = models.DecimalField(
        null=True, blank=True, help_text="Savings against on demand, net of the fees.", **MONEY
    )
    currency = models.CharField(max_length=3, default=BASE_CURRENCY)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "kind", "source"], name="unique_commitment_day"
            ),
        ]
        ordering = ["account", "-day", "kind"]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.account} on {self.day}"


class CommitmentSync(AccountRun):
    """One commitments sync of one account: inventory, then Cost Explorer's daily figures."""

    tenant_path = "account__organization"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "partial (see problems)"
        SKIPPED = "skipped", "skipped (another sync running)"
        FAILED = "failed"

    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="commitment_syncs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    commitments = models.PositiveIntegerField(default=0, help_text="Commitments stored.")
    days_stored = models.PositiveIntegerField(default=0)
    problems = models.JSONField(
        default=dict, blank=True, help_text="Permission (or part) -> what went wrong."
    )
    notes = models.JSONField(
        default=list, blank=True, help_text="Days skipped, commitments in other currencies."
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # The sync lock, as costs.SyncRun's.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="running"),
                name="one_running_commitment_sync_per_account",
            ),
        ]

    def __str__(self):
        return f"Commitments sync of {self.account} at {self.started_at:%Y-%m-%d %H:%M}"


class AwsPurchaseRecommendation(models.Model):
    """AWS's own Savings Plan recommendation (Cost Explorer's GetSavingsPlansPurchaseRecommendation)
    for one account and variant, shown next to Spendlens's engine so the two can be compared.

    Only variants AWS recommends a purchase for are stored: "buy nothing" is a note on the run.
    """

    tenant_path = "account__organization"

    class PlanType(models.TextChoices):
        COMPUTE = "COMPUTE_SP", "Compute Savings Plan"
        EC2_INSTANCE = "EC2_INSTANCE_SP", "EC2 Instance Savings Plan"

    class Term(models.TextChoices):
        ONE_YEAR = "ONE_YEAR", "1 year"
        THREE_YEARS = "THREE_YEARS", "3 years"

    class PaymentOption(models.TextChoices):
        NO_UPFRONT = "NO_UPFRONT", "No Upfront"
        PARTIAL_UPFRONT = "PARTIAL_UPFRONT", "Partial Upfront"
        ALL_UPFRONT = "ALL_UPFRONT", "All Upfront"

    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="aws_purchase_recommendations"
    )
    plan_type = models.CharField(max_length=16, choices=PlanType.choices)
    term = models.CharField(max_length=12, choices=Term.choices)
    payment_option = models.CharField(max_length=16, choices=PaymentOption.choices)
    lookback_days = models.PositiveSmallIntegerField()
    hourly_commitment = models.DecimalField(help_text="To purchase, per hour.", **MONEY)
    monthly_savings = models.DecimalField("estimated monthly savings", **MONEY)
    savings_percent = models.DecimalField(
        "estimated savings percentage", max_digits=7, decimal_places=3, null=True, blank=True
    )
    utilization_percent = models.DecimalField(
        "estimated utilization", max_digits=7, decimal_places=3, null=True, blank=True
    )
    upfront_cost = models.DecimalField(default=0, **MONEY)
    currency = models.CharField(max_length=3, default=BASE_CURRENCY)
    generated_at = models.DateTimeField(
        null=True, blank=True, help_text="When AWS computed it (its GenerationTimestamp)."
    )
    fetched_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "plan_type", "term", "payment_option"],
                name="unique_aws_recommendation_per_variant",
            ),
        ]
        ordering = ["account", "plan_type", "term", "payment_option"]

    def __str__(self):
        return (
            f"AWS recommends {self.get_plan_type_display()}, {self.get_term_display()} "
            f"{self.get_payment_option_display()} for {self.account}"
        )

    @property
    def foreign_currency(self) -> bool:
        return self.currency != BASE_CURRENCY
