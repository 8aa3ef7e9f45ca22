"""Instance schedules: the schedules with their instances, and the history of what they did."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import admin
from django.utils import timezone

from accounts.admin_filters import OrganizationFilter
from accounts.admin_tenancy import ReadOnlyAdmin, TenantScopedAdmin, TenantScopedInline
from actions import schedules
from actions.models import InstanceAction, Schedule, ScheduledInstance, ScheduleEvent
from config.admin_display import admin_link
from fleet.models import Instance


class ScheduledInstanceInline(TenantScopedInline, admin.TabularInline):
    model = ScheduledInstance
    fields = ["instance", "source", "notice_sent_at"]
    readonly_fields = ["source", "notice_sent_at"]
    extra = 0
    verbose_name = "attached instance"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("instance")


@admin.register(Schedule)
class ScheduleAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "organization",
        "time_zone",
        "enabled",
        "instance_count",
        "next_change",
        "owner",
        "updated_at",
    ]
    list_filter = ["enabled", OrganizationFilter]
    list_select_related = ["organization", "owner"]
    search_fields = ["name"]
    fields = ["organization", "name", "enabled", "time_zone", "periods", "holidays", "owner"]
    inlines = [ScheduledInstanceInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(instance_total=Count("attachments"))

    @admin.display(description="instances", ordering="instance_total")
    def instance_count(self, obj):
        return obj.instance_total

    @admin.display(description="next stop/start")
    def next_change(self, obj):
        if not obj.enabled:
            return "disabled"
        change = schedules.next_change(obj, timezone.now())
        if change is None:
            return "nothing in the next 8 days"
        action, when = change
        local = when.astimezone(ZoneInfo(obj.time_zone))
        return f"{action}s {local:%a %Y-%m-%d %H:%M %Z}"


@admin.register(ScheduleEvent)
class ScheduleEventAdmin(ReadOnlyAdmin):
    """What the schedules did, boundary by boundary; the stop or start itself is in the log."""

    list_display = [
        "occurrence",
        "action",
        "instance_link",
        "schedule",
        "status",
        "message",
        "action_link",
    ]
    list_filter = ["status", "action"]
    list_select_related = ["instance", "schedule"]
    show_full_result_count = False  # a history that only grows: one COUNT(*) is enough
    date_hierarchy = "occurrence"
    search_fields = ["instance__instance_id", "schedule__name", "message"]
    search_help_text = "Instance ID, schedule name, words of the message."
    exclude = ["instance", "instance_action"]
    readonly_fields = ["instance_link", "action_link"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="instance", ordering="instance__instance_id")
    def instance_link(self, obj):
        return admin_link(Instance, obj.instance_id, obj.instance)

    @admin.display(description="action log")
    def action_link(self, obj):
        if obj.instance_action_id is None:
            return "—"
        return admin_link(InstanceAction, obj.instance_action_id, f"#{obj.instance_action_id}")
