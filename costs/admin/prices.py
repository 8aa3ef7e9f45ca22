"""The price cache: the on-demand prices the AWS Price List API answered, read-only.

Public AWS prices, not a tenant's data, so not scoped to an organisation: staff with the view
permission read them all (Django's own check, which costs every admin page's sidebar no
query); nobody edits them (the weekly refresh, or `manage.py refresh_prices`, writes them).
"""

from __future__ import annotations

from django.contrib import admin

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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
