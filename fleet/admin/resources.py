"""Inventory pages beyond EC2: RDS instances, EBS snapshots, NAT gateways, load balancers, and
their daily CloudWatch figures. Read-only: the inventory sync writes them."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_filters import AccountFilter
from accounts.admin_tenancy import ReadOnlyAdmin
from config.admin_display import EMPTY, account_column, evidence_table
from fleet.models import DatabaseInstance, LoadBalancer, NatGateway, ResourceMetricDay, Snapshot


class InAwsFilter(admin.SimpleListFilter):
    """Rows the last inventory still found, or the ones it marked gone."""

    title = "in AWS"
    parameter_name = "in_aws"

    def lookups(self, request, model_admin):
        return [("yes", "Present"), ("no", "Gone")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(gone_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(gone_at__isnull=False)
        return queryset


class InventoryAdmin(ReadOnlyAdmin):
    list_select_related = ["account"]
    readonly_fields = ["tags_shown"]

    @admin.display(description="tags")
    def tags_shown(self, obj):
        return evidence_table(obj.tags)


@admin.register(DatabaseInstance)
class DatabaseInstanceAdmin(InventoryAdmin):
    list_display = [
        "db_instance_id",
        "engine",
        "instance_class",
        "multi_az",
        "status",
        "region",
        account_column,
        "storage",
        "gone_at",
    ]
    list_filter = [
        "status",
        "engine",
        "multi_az",
        AccountFilter,
        "region",
        "instance_class",
        InAwsFilter,
    ]
    search_fields = ["db_instance_id", "cluster_id", "instance_class", "engine"]
    search_help_text = "DB instance identifier, Aurora cluster, instance class or engine."

    @admin.display(description="storage", ordering="allocated_gib")
    def storage(self, obj):
        if obj.is_aurora:
            return "Aurora cluster volume"
        return f"{obj.allocated_gib} GiB {obj.storage_type}".strip()


@admin.register(Snapshot)
class SnapshotAdmin(InventoryAdmin):
    list_display = [
        "snapshot_id",
        account_column,
        "region",
        "size_gib",
        "storage_tier",
        "state",
        "started_at",
        "volume_id",
        "images",
        "gone_at",
    ]
    list_filter = ["storage_tier", "state", AccountFilter, "region", InAwsFilter]
    search_fields = ["snapshot_id", "volume_id", "description"]
    search_help_text = "Snapshot ID, source volume ID or description."

    @admin.display(description="used by AMIs")
    def images(self, obj):
        return ", ".join(obj.image_ids) or EMPTY


@admin.register(NatGateway)
class NatGatewayAdmin(InventoryAdmin):
    list_display = [
        "nat_gateway_id",
        account_column,
        "region",
        "state",
        "connectivity_type",
        "vpc_id",
        "subnet_id",
        "created_at",
        "gone_at",
    ]
    list_filter = ["state", "connectivity_type", AccountFilter, "region", InAwsFilter]
    search_fields = ["nat_gateway_id", "vpc_id", "subnet_id"]
    search_help_text = "NAT gateway, VPC or subnet ID."


@admin.register(LoadBalancer)
class LoadBalancerAdmin(InventoryAdmin):
    list_display = [
        "name",
        "lb_type",
        account_column,
        "region",
        "state",
        "scheme",
        "target_groups",
        "targets",
        "gone_at",
    ]
    list_filter = ["lb_type", "state", "scheme", AccountFilter, "region", InAwsFilter]
    search_fields = ["name", "dimension", "arn"]
    search_help_text = "Name, CloudWatch dimension (app/name/id) or ARN."

    @admin.display(description="healthy / registered targets")
    def targets(self, obj):
        return f"{obj.healthy_targets} / {obj.registered_targets}"


@admin.register(ResourceMetricDay)
class ResourceMetricDayAdmin(ReadOnlyAdmin):
    list_display = ["resource_id", "resource_kind", account_column, "day", "hours", "figures"]
    list_filter = ["resource_kind", AccountFilter]
    list_select_related = ["account"]
    search_fields = ["resource_id"]
    date_hierarchy = "day"
