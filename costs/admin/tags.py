"""Tag keys the organisation allocates by, and the tag split Cost Explorer reported for them."""

from __future__ import annotations

from django.contrib import admin, messages

from accounts.admin_filters import AccountFilter, OrganizationFilter
from accounts.admin_tenancy import ReadOnlyAdmin, TenantScopedAdmin
from config.admin_display import account_column, money
from costs.models import TagKey, TagSpend

# Said on the add page and once a key is added: nothing is pulled until the next sync.
NEXT_SYNC = (
    "The next Cost Explorer sync pulls this key for its window (one extra request per key and "
    "sync); `manage.py sync_costs --since YYYY-MM-DD` fills its earlier days. FOCUS imports "
    "carry every tag already."
)


@admin.register(TagKey)
class TagKeyAdmin(TenantScopedAdmin):
    list_display = ["key", "organization", "created_at"]
    list_filter = [OrganizationFilter]
    list_select_related = ["organization"]
    search_fields = ["key"]
    fieldsets = [
        (None, {"fields": ["organization", "key", "created_at"], "description": NEXT_SYNC})
    ]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or "key" in form.changed_data:
            self.message_user(request, f"Tag key “{obj.key}” saved. {NEXT_SYNC}", messages.INFO)


@admin.register(TagSpend)
class TagSpendAdmin(ReadOnlyAdmin):
    """Cost Explorer's split of each day's service spend by one tag key ("" = untagged)."""

    list_display = [
        "usage_date",
        account_column,
        "service",
        "tag_key",
        "tag_value_shown",
        "amount_money",
        "estimated",
    ]
    list_filter = ["tag_key", "estimated", AccountFilter, OrganizationFilter]
    list_select_related = ["account"]
    date_hierarchy = "usage_date"
    search_fields = ["service", "tag_key", "tag_value", "=sub_account_id"]
    search_help_text = "Part of a service, tag key or value; or a sub-account ID."
    ordering = ["-usage_date", "service", "tag_key", "tag_value"]
    show_full_result_count = False  # grows with every sync: one COUNT(*) is enough

    @admin.display(description="tag value", ordering="tag_value")
    def tag_value_shown(self, obj):
        return obj.tag_value or "(untagged)"

    @admin.display(description="amount", ordering="amount")
    def amount_money(self, obj):
        return money(obj.amount)
