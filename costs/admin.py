from django.contrib import admin

from accounts.admin_tenancy import TenantScopedAdmin
from costs.models import (
    BillingImport,
    CostRecord,
    DetectionSettings,
    ElasticIP,
    Instance,
    Recommendation,
    SyncRun,
    Volume,
)


class ReadOnlyAdmin(TenantScopedAdmin):
    """Records written by the system: browsable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "status",
        "started_at",
        "duration",
        "window_start",
        "window_end",
        "requests_made",
        "request_cost_usd",
        "rows_inserted",
        "rows_updated",
        "rows_deleted",
    ]
    list_filter = ["status", ("account__organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["account", "account__organization"]
    date_hierarchy = "started_at"
    search_fields = ["account__account_id", "account__name", "error"]

    @admin.display(description="request cost (USD)")
    def request_cost_usd(self, obj):
        return f"${obj.request_cost:.2f}"


@admin.register(CostRecord)
class CostRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "usage_date",
        "provider",
        "sub_account_id",
        "service",
        "region",
        "metric",
        "amount",
        "currency",
        "estimated",
        "source",
    ]
    list_filter = ["source", "metric", "estimated", "provider"]
    list_select_related = ["account"]
    date_hierarchy = "usage_date"
    search_fields = ["service", "sub_account_id", "resource_id"]
    # The cost table is the biggest in the database: never COUNT(*) it for the paginator.
    show_full_result_count = False
    list_per_page = 100


@admin.register(BillingImport)
class BillingImportAdmin(ReadOnlyAdmin):
    list_display = [
        "uri",
        "organization",
        "status",
        "started_at",
        "rows_read",
        "rows_rejected",
        "records_written",
        "records_replaced",
    ]
    list_filter = ["status", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in BillingImport._meta.fields]


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "account",
        "region",
        "instance_type",
        "state",
        "verdict",
        "auto_scaling_group",
        "last_seen_at",
        "gone_at",
    ]
    list_filter = [
        "state",
        "verdict",
        "region",
        ("account__organization", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["account"]
    search_fields = ["instance_id", "name", "instance_type"]


@admin.register(Volume)
class VolumeAdmin(ReadOnlyAdmin):
    list_display = [
        "volume_id",
        "account",
        "region",
        "volume_type",
        "size_gib",
        "state",
        "attached_instance_id",
        "gone_at",
    ]
    list_filter = ["volume_type", "state", "region"]
    list_select_related = ["account"]
    search_fields = ["volume_id", "attached_instance_id"]


@admin.register(ElasticIP)
class ElasticIPAdmin(ReadOnlyAdmin):
    list_display = ["public_ip", "account", "region", "allocation_id", "instance_id", "gone_at"]
    list_select_related = ["account"]
    search_fields = ["public_ip", "allocation_id", "instance_id"]


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdmin):
    list_display = [
        "summary",
        "kind",
        "account",
        "region",
        "monthly_saving",
        "saving_basis",
        "status",
        "updated_at",
    ]
    list_filter = [
        "status",
        "kind",
        "saving_basis",
        ("account__organization", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["account"]
    search_fields = ["resource_id", "summary"]


@admin.register(DetectionSettings)
class DetectionSettingsAdmin(TenantScopedAdmin):
    list_display = [
        "organization",
        "lookback_days",
        "idle_cpu_avg_percent",
        "idle_network_mb_per_day",
        "idle_cpu_peak_percent",
        "rightsize_cpu_p95_percent",
        "protect_tag",
    ]
