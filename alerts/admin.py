"""Budgets, and the alert history: what was raised, for whom, and whether it went out."""

from django.contrib import admin
from django.utils.html import format_html

from accounts.admin_filters import OrganizationFilter
from accounts.admin_tenancy import ReadOnlyAdmin, TenantScopedAdmin, TenantScopedInline
from alerts.models import AlertEvent, Budget, BudgetThreshold
from config.admin_display import EMPTY, evidence_table, money


class BudgetThresholdInline(TenantScopedInline, admin.TabularInline):
    model = BudgetThreshold
    extra = 0


@admin.register(Budget)
class BudgetAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "organization",
        "scope",
        "monthly_amount_money",
        "thresholds_shown",
        "active",
    ]
    list_filter = ["active", OrganizationFilter]
    list_select_related = ["organization", "account", "dimension"]
    search_fields = ["name", "account__name", "account__account_id"]
    inlines = [BudgetThresholdInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("thresholds")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.ensure_thresholds()

    @admin.display(description="covers", ordering="account__name")
    def scope(self, obj):
        if obj.dimension_id:
            return obj.scope_label
        return str(obj.account) if obj.account_id else "the whole organisation"

    @admin.display(description="monthly amount", ordering="monthly_amount")
    def monthly_amount_money(self, obj):
        return money(obj.monthly_amount, per="/month")

    @admin.display(description="thresholds")
    def thresholds_shown(self, obj):
        return ", ".join(f"{t.percent}% {t.basis}" for t in obj.thresholds.all()) or EMPTY


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin):
    """The alert history: written by the system, read by people."""

    list_display = ["created_at", "kind", "title", "recipient", "address", "status", "attempts"]
    list_filter = ["status", "kind", OrganizationFilter]
    list_select_related = ["recipient"]
    show_full_result_count = False  # a history that only grows: one COUNT(*) is enough
    search_fields = ["subject", "title", "address", "recipient__username"]
    search_help_text = "Words of the subject or title, the address, or the recipient's username."
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["created_at", "kind", "title", "subject", "link_shown"]}),
        (
            "Delivery",
            {"fields": ["recipient", "address", "status", "attempts", "sent_at", "error"]},
        ),
        ("Evidence", {"fields": ["evidence_shown"]}),
    ]
    readonly_fields = ["link_shown", "evidence_shown"]

    @admin.display(description="about")
    def link_shown(self, obj):
        # Only a path on this site becomes a link: the field is written by code, but a stored
        # "javascript:" or off-site URL must never be one click away in the operator UI.
        if obj.link.startswith("/") and not obj.link.startswith("//"):
            return format_html('<a href="{}">{}</a>', obj.link, obj.link)
        return obj.link or EMPTY

    @admin.display(description="evidence")
    def evidence_shown(self, obj):
        return evidence_table(obj.evidence)
