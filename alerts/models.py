"""Budgets, the alert history and the cooldown ledger."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import CloudAccount, Organization, TenantQuerySet
from allocation.models import Dimension


class AlertKind(models.TextChoices):
    IDLE_INSTANCE = "idle_instance", "Idle instance found"
    SAVINGS_DIGEST = "savings_digest", "New savings (digest)"
    BUDGET = "budget", "Budget threshold crossed"
    COST_SPIKE = "cost_spike", "Daily cost spike"
    SYNC_FAILING = "sync_failing", "Sync failing repeatedly"
    COMMITMENT_EXPIRING = "commitment_expiring", "Commitment expiring"
    COMMITMENT_UNDERUSED = "commitment_underused", "Commitment underused"
    COVERAGE_DROPPING = "coverage_dropping", "Commitment coverage dropping"
    WEEKLY_REPORT = "weekly_report", "Weekly report"


class Budget(models.Model):
    """A monthly budget for an organisation, or for one of its accounts."""

    tenant_path = "organization"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="budgets")
    account = models.ForeignKey(
        CloudAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="budgets",
        help_text="Empty: the whole organisation.",
    )
    dimension = models.ForeignKey(
        Dimension,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="budgets",
        help_text='With a value: the spend allocated to that value only ("Team = payments").',
    )
    dimension_value = models.CharField(
        "value",
        max_length=128,
        blank=True,
        help_text="The dimension's value the budget covers, as the allocation names it.",
    )
    name = models.CharField(max_length=100)
    monthly_amount = models.DecimalField(
        "monthly amount (USD)",
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_budget_name"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if (
            self.account_id
            and self.organization_id
            and (self.account.organization_id != self.organization_id)
        ):
            errors["account"] = "That account belongs to another organisation."
        if self.dimension_id:
            if self.organization_id and self.dimension.organization_id != self.organization_id:
                errors["dimension"] = "That dimension belongs to another organisation."
            elif self.account_id:
                # The allocation rollups are per value, not per account: both would be a guess.
                errors["dimension"] = "A budget covers an account or a dimension value, not both."
            if not self.dimension_value.strip():
                errors["dimension_value"] = "Say which value of the dimension it covers."
        elif self.dimension_value:
            errors["dimension_value"] = "A value needs its dimension."
        if errors:
            raise ValidationError(errors)

    @property
    def scope_label(self) -> str:
        if self.dimension_id:
            return f"{self.dimension.name} = {self.dimension_value}"
        return self.account.name if self.account_id else self.organization.name

    def ensure_thresholds(self) -> None:
        """A budget without thresholds gets the defaults: 50/80/100% actual, 100% forecast."""
        if not self.thresholds.exists():
            BudgetThreshold.objects.bulk_create(
                BudgetThreshold(budget=self, percent=percent, basis=basis)
                for percent, basis in DEFAULT_THRESHOLDS
            )


class BudgetThreshold(models.Model):
    tenant_path = "budget__organization"

    class Basis(models.TextChoices):
        ACTUAL = "actual", "actual spend"
        FORECAST = "forecast", "month-end forecast"

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="thresholds")
    percent = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    basis = models.CharField(max_length=8, choices=Basis.choices, default=Basis.ACTUAL)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["budget", "basis", "percent"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "percent", "basis"], name="unique_budget_threshold"
            ),
        ]

    def __str__(self):
        return f"{self.percent}% of {self.budget} ({self.get_basis_display()})"


DEFAULT_THRESHOLDS = (
    (50, BudgetThreshold.Basis.ACTUAL),
    (80, BudgetThreshold.Basis.ACTUAL),
    (100, BudgetThreshold.Basis.ACTUAL),
    (100, BudgetThreshold.Basis.FORECAST),
)


class AlertEvent(models.Model):
    """One alert for one recipient: what it was about, and what became of it."""

    tenant_path = "organization"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        SUPPRESSED = "suppressed", "suppressed by cooldown"
        SKIPPED = "skipped", "skipped (e-mail off for this kind)"
        FAILED = "failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="alert_events"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    subject = models.CharField(
        max_length=200, help_text="What the alert is about; the cooldown is per subject."
    )
    title = models.CharField(max_length=300)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_events"
    )
    address = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    evidence = models.JSONField(default=dict, blank=True)
    link = models.CharField(
        max_length=500,
        blank=True,
        help_text="The page it is about that the recipient can open (the admin for staff).",
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="alertevent_status"),
            models.Index(fields=["organization", "kind", "subject"], name="alertevent_subject"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.subject} -> {self.address}"


class Cooldown(models.Model):
    """When a (user, kind, subject) may be e-mailed again.

    Claimed with a conditional UPDATE or a unique INSERT, never read-then-written.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    subject = models.CharField(max_length=200)
    until = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "subject"], name="unique_cooldown"),
        ]

    def __str__(self):
        return f"{self.user} {self.kind} {self.subject} until {self.until}"


class SpikeCheck(models.Model):
    """How far an organisation's daily costs have been judged for spikes on final figures.

    The next check judges from settled_through (its figures may yet be revised) to yesterday,
    LOOKBACK_DAYS at most (alerts/spikes.py). Read and written only in the organisation's
    raising() turn (alerts/delivery.py), so two checks never interleave on it.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    settled_through = models.DateField()
    checked_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.organization_id}: spikes judged through {self.settled_through}"


class CostSpike(models.Model):
    """A day's cost of one service in one account that the spike check judged a spike.

    Written by the check (alerts/rules.py spike_alerts()) as it raises the alert; the cost
    chart marks these rows, so a page view reads a few rows instead of judging every
    (account, service) series of 44 days of cost records again.
    """

    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cost_spikes"
    )
    sub_account_id = models.CharField(max_length=255)
    service = models.CharField(max_length=200)
    day = models.DateField()
    cost = models.DecimalField(max_digits=24, decimal_places=10)
    baseline_median = models.DecimalField(max_digits=24, decimal_places=10)
    threshold = models.DecimalField(max_digits=24, decimal_places=10)
    detected_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sub_account_id", "service", "day"],
                name="unique_cost_spike",
            ),
        ]
        indexes = [models.Index(fields=["organization", "day"], name="spike_org_day")]
        ordering = ["day", "sub_account_id", "service"]

    def __str__(self):
        return f"{self.service} in {self.sub_account_id} on {self.day}"


# Chat channels and webhooks live in their own module; imported here so Django finds them.
from alerts.channel_models import (  # noqa: E402
    TEST_KIND,
    Channel,
    ChannelCooldown,
    ChannelDelivery,
)

__all__ = [
    "TEST_KIND",
    "AlertEvent",
    "AlertKind",
    "Budget",
    "BudgetThreshold",
    "Channel",
    "ChannelCooldown",
    "ChannelDelivery",
    "Cooldown",
    "CostSpike",
    "SpikeCheck",
]
