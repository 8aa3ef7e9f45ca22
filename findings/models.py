"""Findings: the detection settings and the recommendations every detector reconciles.

The tables were created by the costs app and keep its names (costs_recommendation, ...): the
models moved here with SeparateDatabaseAndState (findings/migrations/0001), no row was copied.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import CloudAccount, Organization, TenantQuerySet
from fleet.models import Instance


class DetectionSettings(models.Model):
    """Per-organisation thresholds; defaults follow AWS's own criteria (see findings/idle.py)."""

    tenant_path = "organization"

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="detection_settings"
    )
    lookback_days = models.PositiveSmallIntegerField(default=14)
    min_coverage_percent = models.PositiveSmallIntegerField(
        default=90,
        help_text="Share of lookback hours that must have CPU data, and network data, to decide.",
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
    snapshot_age_days = models.PositiveSmallIntegerField(
        default=90,
        help_text="EBS snapshots older than this whose volume is gone, or that are not the "
        "latest of their volume, are flagged.",
    )
    idle_database_cpu_percent = models.FloatField(
        default=5.0,
        help_text="RDS: daily average CPU at or below this is low (idle together with few "
        "connections).",
    )
    idle_database_connections = models.PositiveSmallIntegerField(
        default=1,
        help_text="RDS: a daily maximum of connections at or below this is few (idle together "
        "with low CPU); no connections at all over the lookback is idle on its own.",
    )
    nat_idle_gb = models.FloatField(
        default=1.0,
        help_text="NAT gateways sending at most this many GB to destinations over the lookback "
        "are idle.",
    )
    lb_idle_requests = models.PositiveIntegerField(
        default=0,
        help_text="Load balancers with at most this many requests (ALB) or new flows (NLB) over "
        "the lookback, or with no healthy targets, are idle.",
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        db_table = "costs_detectionsettings"  # created by the costs app
        verbose_name_plural = "detection settings"

    def __str__(self):
        return f"Detection settings of {self.organization}"

    @classmethod
    def for_organization(cls, organization) -> DetectionSettings:
        settings_row, _ = cls.objects.get_or_create(organization=organization)
        return settings_row

    @classmethod
    def read_for(cls, organization) -> DetectionSettings:
        """The organisation's settings, or the defaults unsaved: pages only read them."""
        return cls.objects.filter(organization=organization).first() or cls(
            organization=organization
        )

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
        SCHEDULE = "schedule", "Office-hours instance: stop it off hours"
        OLD_GENERATION = "old_generation", "Previous-generation instance: move to a current type"
        GRAVITON = "graviton", "x86 instance: move to Graviton"
        OLD_SNAPSHOT = "old_snapshot", "Old EBS snapshot"
        IDLE_DATABASE = "idle_database", "Idle RDS instance"
        IDLE_NAT_GATEWAY = "idle_nat_gateway", "Idle NAT gateway"
        IDLE_LOAD_BALANCER = "idle_load_balancer", "Idle load balancer"

    class Status(models.TextChoices):
        OPEN = "open"
        DISMISSED = "dismissed"
        RESOLVED = "resolved"
        APPLIED = "applied"

    class SavingBasis(models.TextChoices):
        BILLED = "billed", "the resource's billed cost (last 30 days)"
        PRICE_TABLE = "price_table", "the on-demand price table"
        PRICE_LIST = "price_list", "the AWS Price List API (cached)"

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
        db_table = "costs_recommendation"  # created by the costs app
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
