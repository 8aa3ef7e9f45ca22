from django.contrib import admin

from accounts.admin_tenancy import TenantScopedAdmin
from alerts.models import AlertEvent, Budget, BudgetThreshold


class BudgetThresholdInline(admin.TabularInline):
    model = BudgetThreshold
    extra = 0


@admin.register(Budget)
class BudgetAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "organization",
        "account",
        "monthly_amount",
        "thresholds_shown",
        "active",
    ]
    list_filter = ["active", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "account"]
    search_fields = ["name"]
    inlines = [BudgetThresholdInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("thresholds")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.ensure_thresholds()

    @admin.display(description="thresholds")
    def thresholds_shown(self, obj):
        return ", ".join(f"{t.percent}% {t.basis}" for t in obj.thresholds.all())


@admin.register(AlertEvent)
class AlertEventAdmin(TenantScopedAdmin):
    """The alert history: written by the system, read by people."""

    list_display = ["created_at", "kind", "title", "address", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "recipient"]
    search_fields = ["subject", "title", "address"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AlertEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
