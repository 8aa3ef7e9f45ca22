from django.contrib import admin

from accounts.admin_tenancy import TenantScopedAdmin
from costs.models import BillingImport, CostRecord, SyncRun


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
    list_filter = ["status", "account__organization"]
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
    list_filter = ["status", "organization"]
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in BillingImport._meta.fields]
