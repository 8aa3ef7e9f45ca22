"""What allocation writes (the rollups, the re-allocations of history) and who follows which
value of a dimension."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from accounts.admin_filters import TenantChoiceFilter
from accounts.admin_tenancy import ReadOnlyAdmin, TenantScopedAdmin
from allocation import reallocation
from allocation.admin.forms import FollowedValueForm
from allocation.models import AllocationRollup, Dimension, FollowedValue, Reallocation
from config.admin_display import EMPTY, duration, money


class DimensionFilter(TenantChoiceFilter):
    """Django's related filter would list every organisation's dimensions."""

    title = "dimension"
    parameter_name = "dimension"
    field_path = "dimension"

    def choices_for(self, request):
        return Dimension.objects.for_user(request.user).select_related("organization")


@admin.register(AllocationRollup)
class AllocationRollupAdmin(ReadOnlyAdmin):
    list_display = ["usage_date", "dimension", "value", "service", "kind", "amount_money"]
    list_filter = ["kind", DimensionFilter]
    list_select_related = ["dimension"]
    show_full_result_count = False  # grows with every day: one COUNT(*) is enough
    date_hierarchy = "usage_date"
    search_fields = ["value", "service"]
    search_help_text = "Part of a value or a service."
    ordering = ["-usage_date", "dimension", "value", "service"]
    readonly_fields = ["amount_money"]
    exclude = ["amount"]

    @admin.display(description="amount", ordering="amount")
    def amount_money(self, obj):
        return money(obj.amount)


@admin.register(Reallocation)
class ReallocationAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "dimension", "start", "end", "requested_by", "took", "moved"]
    list_filter = [DimensionFilter]
    list_select_related = ["dimension", "requested_by"]
    show_full_result_count = False
    date_hierarchy = "requested_at"
    fields = [
        "dimension",
        ("start", "end"),
        ("requested_by", "requested_at", "finished_at", "took"),
        "moved",
        "changes_table",
    ]
    readonly_fields = ["took", "moved", "changes_table"]

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what changed people's figures, and when

    @admin.display(description="took")
    def took(self, obj):
        return duration(obj.finished_at - obj.requested_at) if obj.finished_at else EMPTY

    @admin.display(description="changed value")
    def moved(self, obj):
        return money(reallocation.moved(reallocation.recorded_changes(obj)))

    @admin.display(description="per value")
    def changes_table(self, obj):
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td class="sl-num">{}</td><td class="sl-num">{}</td>'
            '<td class="sl-num">{}</td></tr>',
            (
                (c.value, money(c.before), money(c.after), money(c.difference))
                for c in reallocation.recorded_changes(obj)
            ),
        )
        return format_html(
            '<table class="evidence"><thead><tr><th>value</th><th>before</th><th>after</th>'
            "<th>difference</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(FollowedValue)
class FollowedValueAdmin(TenantScopedAdmin):
    """A member's value of a dimension: their dashboard opens on it. The user is one of the
    dimension's organisation's members (FollowedValueForm)."""

    form = FollowedValueForm
    list_display = ["user", "dimension", "value"]
    list_filter = [DimensionFilter]
    list_select_related = ["user", "dimension"]
    search_fields = ["user__username", "value"]
    search_help_text = "Username or value."
