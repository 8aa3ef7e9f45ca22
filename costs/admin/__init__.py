"""The operator's pages over the cost store: sync runs, cost records, billing imports (and
tag keys with their spend, in tags.py).

Every list is one query for its rows plus a constant few (filters, the user's permissions):
related rows come through list_select_related, per-instance figures through annotations or a
prefetch, never a query per row (tests/admin pins the counts). Money reads $1,234.56 and
anything unknown an em dash (config/admin_display.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin

from accounts.admin_filters import AccountFilter, AccountOrganizationFilter, OrganizationFilter
from accounts.admin_tenancy import ReadOnlyAdmin
from config.admin_display import (
    EMPTY,
    account_column,
    account_link,
    duration,
    evidence_table,
    money,
)
from config.paginators import EstimatedCountPaginator
from costs.admin import prices, tags  # noqa: F401  (the price cache; tag keys and tag spend)
from costs.admin.filters import RegionFilter, ServiceFilter
from costs.models import BillingImport, CommitmentUsageHour, CostRecord, SyncRun

# --- Cost store --------------------------------------------------------------------------------


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        account_column,
        "status",
        "took",
        "window",
        "requests_made",
        "request_cost_money",
        "rows_inserted",
        "rows_updated",
        "rows_deleted",
    ]
    list_filter = ["status", AccountFilter, AccountOrganizationFilter]
    list_select_related = ["account"]
    show_full_result_count = False  # a history that only grows: one COUNT(*) is enough
    date_hierarchy = "started_at"
    search_fields = ["account__account_id", "account__name", "error"]
    search_help_text = "AWS account ID or name, or words of the error."
    fields = [
        "account",
        "status",
        ("started_at", "finished_at", "took"),
        ("window_start", "window_end"),
        ("requests_made", "request_cost_money"),
        ("rows_inserted", "rows_updated", "rows_deleted"),
        "error",
    ]
    readonly_fields = ["took", "request_cost_money"]

    @admin.display(description="took")
    def took(self, obj):
        return duration(obj.duration) if obj.finished_at else "still running"

    @admin.display(description="window")
    def window(self, obj):
        if not obj.window_start:
            return EMPTY
        # window_end is exclusive; people read the last day covered.
        return f"{obj.window_start} → {obj.window_end - timedelta(days=1)}"

    @admin.display(description="request cost", ordering="requests_made")
    def request_cost_money(self, obj):
        return money(obj.request_cost)


@admin.register(CostRecord)
class CostRecordAdmin(ReadOnlyAdmin):
    """The biggest table: no COUNT(*), no DISTINCT over it, no sort of it by default."""

    list_display = [
        "usage_date",
        "sub_account",
        "service",
        "region_shown",
        "usage_type",
        "resource",
        "metric_shown",
        "amount_money",
        "estimated_shown",
    ]
    list_filter = [
        AccountFilter,
        ServiceFilter,
        RegionFilter,
        "source",
        "metric",
        "estimated",
        OrganizationFilter,
    ]
    list_select_related = ["account"]
    date_hierarchy = "usage_date"  # its links come from rollups: costrecord/change_list.html
    search_fields = ["resource_id", "usage_type", "service", "=sub_account_id"]
    search_help_text = "Part of a resource ID or ARN, usage type or service; or a sub-account ID."
    # Newest written first: a walk down the primary key stops after one page, where ordering
    # by usage date would sort every row of the organisation. The column headers still sort.
    ordering = ["-pk"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False  # the unfiltered COUNT(*) Django would run besides
    list_per_page = 100
    fieldsets = [
        (None, {"fields": ["usage_date", "amount_money", "metric", "source", "estimated"]}),
        (
            "What",
            {
                "fields": [
                    "organization",
                    "account",
                    ("provider", "sub_account_id"),
                    ("service", "region"),
                    "resource_id",
                    ("usage_type", "charge_category"),
                    "tags_shown",
                ]
            },
        ),
        ("From", {"fields": ["billing_import", "billing_period"]}),
    ]
    readonly_fields = ["amount_money", "tags_shown"]

    @admin.display(description="account", ordering="sub_account_id")
    def sub_account(self, obj):
        if obj.account_id is None:
            return obj.sub_account_id  # billed in the export, not connected to Spendlens
        return account_link(obj.account)

    @admin.display(description="region", ordering="region")
    def region_shown(self, obj):
        return obj.region or EMPTY

    @admin.display(description="resource", ordering="resource_id")
    def resource(self, obj):
        return obj.resource_id or EMPTY

    @admin.display(description="metric", ordering="metric")
    def metric_shown(self, obj):
        return obj.metric  # the short name: the choice labels would wrap every row

    @admin.display(description="estimated")
    def estimated_shown(self, obj):
        return "estimated" if obj.estimated else ""  # only the exception is worth a mark

    @admin.display(description="amount", ordering="amount")
    def amount_money(self, obj):
        return money(obj.amount, obj.currency)

    @admin.display(description="tags")
    def tags_shown(self, obj):
        return evidence_table(obj.tags) if obj.tags else EMPTY


@admin.register(BillingImport)
class BillingImportAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "uri",
        "organization",
        "status",
        "took",
        "rows_read",
        "rows_rejected",
        "records_written",
        "records_replaced",
        "bytes_scanned",
    ]
    list_filter = ["status", OrganizationFilter]
    list_select_related = ["organization"]
    date_hierarchy = "started_at"
    search_fields = ["uri", "error"]
    readonly_fields = ["took", "query_cost_shown", "reject_reasons_shown", "rejects_shown"]
    exclude = ["reject_reasons", "rejects"]

    @admin.display(description="took")
    def took(self, obj):
        return duration(obj.finished_at - obj.started_at) if obj.finished_at else EMPTY

    @admin.display(description="Athena query cost")
    def query_cost_shown(self, obj):
        # Athena's list price for what the query scanned; file imports have none.
        cost = obj.query_cost
        return EMPTY if cost is None else f"{cost} USD (5 USD per TB scanned)"

    @admin.display(description="reject reasons")
    def reject_reasons_shown(self, obj):
        return evidence_table(obj.reject_reasons)

    @admin.display(description="first rejected rows")
    def rejects_shown(self, obj):
        return evidence_table(obj.rejects)


@admin.register(CommitmentUsageHour)
class CommitmentUsageHourAdmin(ReadOnlyAdmin):
    """The hourly commitment usage FOCUS imports bring: what commitments/focus.py turns into
    daily coverage and utilization, and what the what-to-buy engine reads hour by hour."""

    list_display = [
        "hour",
        "sub_account",
        "bucket",
        "list_money",
        "effective_money",
        "billing_import",
    ]
    list_filter = ["bucket", AccountFilter, OrganizationFilter]
    list_select_related = ["account", "billing_import"]
    date_hierarchy = "hour"
    search_fields = ["=sub_account_id"]
    search_help_text = "A sub-account ID."
    ordering = ["-hour", "sub_account_id", "bucket"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = ["list_money", "effective_money"]
    exclude = ["list_cost", "effective_cost"]

    @admin.display(description="account", ordering="sub_account_id")
    def sub_account(self, obj):
        if obj.account_id is None:
            return obj.sub_account_id
        return account_link(obj.account)

    @admin.display(description="list cost", ordering="list_cost")
    def list_money(self, obj):
        return money(obj.list_cost, obj.currency) if obj.list_cost is not None else EMPTY

    @admin.display(description="effective cost", ordering="effective_cost")
    def effective_money(self, obj):
        return money(obj.effective_cost, obj.currency)
