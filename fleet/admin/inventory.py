"""Inventory pages: instances with their CPU and price, volumes, Elastic IPs.

Later stages add to the Instances page what they know (findings/admin/instances.py: the open
findings; actions/admin/instances.py: Stop and Start), each by subclassing it.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import F, FloatField, Max, OuterRef, Subquery, Sum
from django.db.models.functions import NullIf
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from accounts.admin_filters import AccountFilter
from accounts.admin_tenancy import ReadOnlyAdmin
from config.admin_display import (
    EMPTY,
    account_column,
    evidence_table,
    money,
    percent,
)
from costs import pricing
from fleet.models import ElasticIP, Instance, UtilizationDay, Volume

CPU_WINDOW_DAYS = 14


def with_cpu_figures(queryset, today):
    """Annotate each instance's CPU over the last CPU_WINDOW_DAYS days, in the same query.

    The rules of findings/rightsizing.py: the average weights each day by its hours of data, the
    p95 is the highest daily p95 (daily rollups keep no hours), the maximum the highest hour.
    """
    days = (
        UtilizationDay.objects.filter(
            instance=OuterRef("pk"), day__gte=today - timedelta(days=CPU_WINDOW_DAYS)
        )
        .order_by()
        .values("instance")
    )

    def figure(aggregate):
        return Subquery(days.annotate(value=aggregate).values("value"), output_field=FloatField())

    weighted = Sum(F("cpu_avg") * F("hours"), output_field=FloatField())
    return queryset.annotate(
        cpu_avg_14d=figure(weighted / NullIf(Sum("hours"), 0)),
        cpu_max_14d=figure(Max("cpu_max")),
        cpu_p95_14d=figure(Max("cpu_p95")),
    )


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        account_column,
        "instance_type",
        "state_shown",
        "monthly_cost_money",
        "cpu_avg_pct",
        "cpu_p95_pct",
        "cpu_max_pct",
    ]
    list_filter = ["state", "verdict", AccountFilter, "region", "instance_type", "lifecycle"]
    list_select_related = ["account"]
    search_fields = ["instance_id", "name", "instance_type", "auto_scaling_group"]
    search_help_text = "Instance ID, Name tag, instance type or Auto Scaling group."
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("instance_id", "name"),
                    ("account", "region"),
                    ("instance_type", "monthly_cost_money"),
                    ("state", "state_since"),
                ]
            },
        ),
        (
            f"CPU, last {CPU_WINDOW_DAYS} days",
            {"fields": [("cpu_avg_pct", "cpu_p95_pct", "cpu_max_pct")]},
        ),
        ("Idle detection", {"fields": ["verdict", "verdict_at", "verdict_evidence_shown"]}),
        (
            "Details",
            {
                "fields": [
                    ("launch_time", "platform", "lifecycle", "root_device_type"),
                    "auto_scaling_group",
                    "tags_shown",
                    ("first_seen_at", "last_seen_at", "gone_at"),
                ]
            },
        ),
    ]
    readonly_fields = [
        "monthly_cost_money",
        "cpu_avg_pct",
        "cpu_p95_pct",
        "cpu_max_pct",
        "verdict_evidence_shown",
        "tags_shown",
    ]

    def get_queryset(self, request):
        return with_cpu_figures(super().get_queryset(request), timezone.localdate())

    @admin.display(description="state", ordering="state")
    def state_shown(self, obj):
        if not obj.state_since:
            return obj.state
        since = timesince(obj.state_since, depth=1)
        return format_html("{}<br><small>for {}</small>", obj.state, since)

    @admin.display(description=f"CPU avg {CPU_WINDOW_DAYS}d", ordering="cpu_avg_14d")
    def cpu_avg_pct(self, obj):
        return percent(obj.cpu_avg_14d)

    @admin.display(description=f"CPU p95 {CPU_WINDOW_DAYS}d", ordering="cpu_p95_14d")
    def cpu_p95_pct(self, obj):
        return percent(obj.cpu_p95_14d)

    @admin.display(description=f"CPU max {CPU_WINDOW_DAYS}d", ordering="cpu_max_14d")
    def cpu_max_pct(self, obj):
        return percent(obj.cpu_max_14d)

    @admin.display(description="on demand")
    def monthly_cost_money(self, obj):
        monthly = pricing.instance_monthly(obj.instance_type)
        return EMPTY if monthly is None else money(monthly, per="/month")

    @admin.display(description="evidence")
    def verdict_evidence_shown(self, obj):
        return evidence_table(obj.verdict_evidence)

    @admin.display(description="tags")
    def tags_shown(self, obj):
        return evidence_table(obj.tags)


@admin.register(Volume)
class VolumeAdmin(ReadOnlyAdmin):
    list_display = [
        "volume_id",
        account_column,
        "region",
        "volume_type",
        "size_gib",
        "iops",
        "state",
        "attached_instance_id",
        "monthly_cost_money",
        "gone_at",
    ]
    list_filter = ["volume_type", "state", AccountFilter, "region"]
    list_select_related = ["account"]
    search_fields = ["volume_id", "attached_instance_id"]

    @admin.display(description="storage cost")
    def monthly_cost_money(self, obj):
        monthly = pricing.volume_monthly(obj.volume_type, obj.size_gib, obj.iops)
        return EMPTY if monthly is None else money(monthly, per="/month")


@admin.register(ElasticIP)
class ElasticIPAdmin(ReadOnlyAdmin):
    list_display = [
        "public_ip",
        account_column,
        "region",
        "allocation_id",
        "instance_id",
        "gone_at",
    ]
    list_filter = [AccountFilter, "region"]
    list_select_related = ["account"]
    search_fields = ["public_ip", "allocation_id", "instance_id"]
