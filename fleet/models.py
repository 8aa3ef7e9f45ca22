"""The fleet: what runs in the connected accounts (EC2 instances, EBS volumes, Elastic IPs),
kept by the inventory sync, and each instance's daily CloudWatch utilization.

The tables were created by the costs app and keep its names (costs_instance, ...): the models
moved here with SeparateDatabaseAndState (fleet/migrations/0001), no row was copied.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import CloudAccount, TenantQuerySet


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
        db_table = "costs_instance"  # created by the costs app
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
        db_table = "costs_volume"  # created by the costs app
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
        db_table = "costs_elasticip"  # created by the costs app
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
    # A day without network datapoints is "unknown", never 0 bytes. Rows written before
    # network coverage was tracked have network_hours NULL: idle detection treats them as
    # having no network data until the next collection rewrites the lookback's days.
    network_hours = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Hours with both NetworkIn and NetworkOut data (24 = complete; empty: not "
        "tracked when the row was written).",
    )
    network_bytes = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="NetworkIn + NetworkOut over the hours with data; empty when there were none.",
    )
    memory_max = models.FloatField(
        null=True, blank=True, help_text="Highest hourly memory % (CloudWatch agent), if any."
    )
    # Hourly resolution for the schedule finder (findings/schedules.py): which hours of the
    # week a box works is lost in the daily figures.
    cpu_hourly = models.JSONField(
        null=True,
        blank=True,
        help_text="The day's 24 hourly CPU averages from 00:00 UTC (null: no datapoint).",
    )
    network_2h = models.JSONField(
        null=True,
        blank=True,
        help_text="The day's 12 two-hour NetworkIn + NetworkOut byte sums from 00:00 UTC "
        "(null: neither metric reported).",
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        db_table = "costs_utilizationday"  # created by the costs app
        constraints = [
            models.UniqueConstraint(fields=["instance", "day"], name="unique_utilization_day"),
        ]
        ordering = ["instance", "day"]

    def __str__(self):
        return f"{self.instance_id} {self.day}"
