"""The fleet's Instances page, with what detection found about each instance."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Prefetch
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from config.admin_display import EMPTY, admin_link, money
from findings.models import Recommendation
from fleet.admin.inventory import InstanceAdmin as FleetInstanceAdmin
from fleet.models import Instance


def open_recommendations():
    return Prefetch(
        "recommendations",
        queryset=Recommendation.objects.open().order_by("-monthly_saving"),
        to_attr="open_recommendations",
    )


class InstanceAdmin(FleetInstanceAdmin):
    list_display = [*FleetInstanceAdmin.list_display, "recommendation"]
    readonly_fields = [*FleetInstanceAdmin.readonly_fields, "recommendation"]
    fieldsets = [
        (name, {**options, "fields": [*options["fields"], "recommendation"]})
        if name is None
        else (name, options)
        for name, options in FleetInstanceAdmin.fieldsets
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(open_recommendations())

    @admin.display(description="open finding")
    def recommendation(self, obj):
        recs = obj.open_recommendations
        if not recs:
            return EMPTY
        # The saving on its own line: the column stays narrow enough for a laptop screen.
        return format_html_join(
            mark_safe("<br>"),
            "{}<br>({})",
            (
                (
                    # "Idle instance" of "Idle instance: stop it"; the whole label on hover.
                    admin_link(
                        Recommendation,
                        rec.pk,
                        rec.get_kind_display().split(":")[0],
                        title=rec.get_kind_display(),
                    ),
                    money(rec.monthly_saving, per="/month"),
                )
                for rec in recs
            ),
        )


admin.site.unregister(Instance)
admin.site.register(Instance, InstanceAdmin)
