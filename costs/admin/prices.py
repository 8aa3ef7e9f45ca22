"""The price cache: the on-demand prices the AWS Price List API answered, read-only.

Public AWS prices, not a tenant's data: any staff member of an organisation may read them,
nobody edits them (the weekly refresh, or `manage.py refresh_prices`, writes them).
"""

from __future__ import annotations

from django.contrib import admin

from accounts.models import Organization
from costs.models import PriceQuote


@admin.register(PriceQuote)
class PriceQuoteAdmin(admin.ModelAdmin):
    list_display = ["key", "region", "amount", "unit", "status", "fetched_at"]
    list_filter = ["region", "status"]
    search_fields = ["key"]
    search_help_text = 'A price key, e.g. "ec2:m5.large" or "nat:".'
    fields = ["key", "region", "amount", "unit", "status", "sku", "fetched_at"]
    list_per_page = 50
    empty_value_display = "—"

    def has_view_permission(self, request, obj=None):
        user = request.user
        if not user.is_superuser and not Organization.objects.for_user(user).exists():
            return False
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
