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


class DatabaseInstance(InventoryItem):
    """An RDS DB instance (an Aurora cluster's members are instances too, with cluster_id)."""

    db_instance_id = models.CharField("DB instance identifier", max_length=64)
    arn = models.CharField("ARN", max_length=256, blank=True)
    engine = models.CharField(max_length=32, help_text="e.g. postgres, mysql, aurora-postgresql")
    engine_version = models.CharField(max_length=32, blank=True)
    instance_class = models.CharField(max_length=32, help_text="e.g. db.m6g.large")
    status = models.CharField(max_length=32, help_text="available, stopped, ...")
    multi_az = models.BooleanField("Multi-AZ", default=False)
    storage_type = models.CharField(max_length=16, blank=True)
    allocated_gib = models.PositiveIntegerField(default=0)
    cluster_id = models.CharField(
        max_length=64, blank=True, help_text="The Aurora cluster this instance belongs to."
    )
    license_model = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "RDS instance"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "db_instance_id"], name="unique_database_instance"
            ),
        ]
        ordering = ["account", "db_instance_id"]

    def __str__(self):
        return f"{self.db_instance_id} ({self.engine}, {self.instance_class})"

    @property
    def is_aurora(self) -> bool:
        return self.engine.startswith("aurora")


class Snapshot(InventoryItem):
    """An EBS snapshot the account owns, with the registered AMIs that use it."""

    snapshot_id = models.CharField("snapshot ID", max_length=32)
    volume_id = models.CharField(
        max_length=32, blank=True, help_text="The volume it was taken from (vol-ffffffff: none)."
    )
    size_gib = models.PositiveIntegerField(help_text="Size of the source volume.")
    storage_tier = models.CharField(
        max_length=16, default="standard", help_text="standard or archive"
    )
    state = models.CharField(max_length=16)
    started_at = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=256, blank=True)
    image_ids = models.JSONField(
        default=list, blank=True, help_text="Registered AMIs whose block devices use it."
    )

    class Meta:
        verbose_name = "EBS snapshot"
        constraints = [
            models.UniqueConstraint(fields=["account", "snapshot_id"], name="unique_snapshot"),
        ]
        ordering = ["account", "snapshot_id"]

    def __str__(self):
        return f"{self.snapshot_id} ({self.size_gib} GiB)"


class NatGateway(InventoryItem):
    nat_gateway_id = models.CharField("NAT gateway ID", max_length=32)
    state = models.CharField(max_length=16)
    connectivity_type = models.CharField(max_length=16, default="public")
    vpc_id = models.CharField(max_length=32, blank=True)
    subnet_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "NAT gateway"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "nat_gateway_id"], name="unique_nat_gateway"
            ),
        ]
        ordering = ["account", "nat_gateway_id"]

    def __str__(self):
        return self.nat_gateway_id


class LoadBalancer(InventoryItem):
    """An Application, Network or Gateway Load Balancer (elbv2), with its targets' health."""

    class Type(models.TextChoices):
        APPLICATION = "application"
        NETWORK = "network"
        GATEWAY = "gateway"

    # "app/<name>/<id>" or "net/<name>/<id>": CloudWatch's LoadBalancer dimension, unique per
    # account and region, and the tail of the ARN billing exports name it by.
    dimension = models.CharField(max_length=64)
    arn = models.CharField("ARN", max_length=256)
    name = models.CharField(max_length=32)
    lb_type = models.CharField("type", max_length=16, choices=Type.choices)
    scheme = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=16)
    created_at = models.DateTimeField(null=True, blank=True)
    target_groups = models.PositiveIntegerField(default=0)
    registered_targets = models.PositiveIntegerField(default=0)
    healthy_targets = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "load balancer"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "dimension"], name="unique_load_balancer"
            ),
        ]
        ordering = ["account", "name"]

    def __str__(self):
        return f"{self.name} ({self.lb_type})"


class ResourceMetricDay(models.Model):
    """One UTC day of CloudWatch figures for a resource that is not an EC2 instance.

    FIGURES maps a figure name to its value over the day's hours with data, e.g.
    {"connections_max": 0, "cpu_avg": 1.2} for RDS (fleet/resource_metrics.py lists them);
    a figure CloudWatch did not report is absent, never 0.
    """

    tenant_path = "account__organization"

    class Kind(models.TextChoices):
        DATABASE = "rds", "RDS instance"
        NAT_GATEWAY = "nat", "NAT gateway"
        LOAD_BALANCER = "lb", "load balancer"

    account = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="+")
    resource_kind = models.CharField(max_length=8, choices=Kind.choices)
    resource_id = models.CharField(max_length=64)
    day = models.DateField()
    hours = models.PositiveSmallIntegerField(help_text="Hours with data (24 = complete).")
    figures = models.JSONField(default=dict)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "resource_kind", "resource_id", "day"],
                name="unique_resource_metric_day",
            ),
        ]
        ordering = ["account", "resource_kind", "resource_id", "day"]

    def __str__(self):
        return f"{self.resource_kind} {self.resource_id} {self.day}"
