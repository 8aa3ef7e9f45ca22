"""Recommendations (with dismiss and snooze) and the detection settings."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.timesince import timesince

from accounts.admin_filters import AccountFilter, AccountOrganizationFilter
from accounts.admin_tenancy import ReadOnlyAdmin, TenantScopedAdmin
from config.admin_display import account_link, admin_link, evidence_table, heat_map, money
from findings.admin.dismissal import RecommendationDismissalMixin
from findings.display import readable_evidence, resource_type
from findings.models import DetectionSettings, Recommendation
from fleet.models import Instance

# Short forms of Recommendation.SavingBasis for the list; the detail page has the long ones.
BASIS = {
    Recommendation.SavingBasis.BILLED: "billed cost",
    Recommendation.SavingBasis.PRICE_TABLE: "price table",
    Recommendation.SavingBasis.PRICE_LIST: "Price List",
}


@admin.register(Recommendation)
class RecommendationAdmin(RecommendationDismissalMixin, ReadOnlyAdmin):
    list_display = [
        "summary",
        "kind",
        "aws_account",
        "resource",
        "monthly_saving_money",
        "basis",
        "status_shown",
        "age",
    ]
    list_filter = [
        "status",
        "kind",
        "saving_basis",
        AccountFilter,
        "region",
        AccountOrganizationFilter,
    ]
    list_select_related = ["account", "instance"]
    search_fields = ["resource_id", "summary", "account__account_id", "account__name"]
    search_help_text = "Resource ID, words of the summary, or the account's ID or name."
    actions = ["dismiss_selected", "snooze_selected"]
    fieldsets = [
        (None, {"fields": ["summary", "kind", "status_shown", "action"]}),
        (
            "Saving",
            {"fields": [("monthly_saving_money", "saving_basis"), "target_type"]},
        ),
        ("Where", {"fields": ["aws_account", ("resource", "region")]}),
        ("Evidence", {"fields": ["evidence_shown"]}),
        (
            "History",
            {"fields": [("created_at", "updated_at", "resolved_at"), "dismissed_reason"]},
        ),
    ]

    class Media:
        css = {"all": ["css/admin-pages.css"]}  # the schedule findings' heat map

    readonly_fields = [
        "status_shown",
        "monthly_saving_money",
        "aws_account",
        "resource",
        "evidence_shown",
    ]

    @admin.display(description="AWS account", ordering="account__name")
    def aws_account(self, obj):
        return account_link(obj.account)

    @admin.display(description="resource", ordering="resource_id")
    def resource(self, obj):
        if obj.instance_id:
            return admin_link(Instance, obj.instance_id, obj.instance)
        return f"{obj.resource_id} ({resource_type(obj.kind)})"

    @admin.display(description="monthly saving", ordering="monthly_saving")
    def monthly_saving_money(self, obj):
        return money(obj.monthly_saving)

    @admin.display(description="basis", ordering="saving_basis")
    def basis(self, obj):
        return BASIS[obj.saving_basis]

    @admin.display(description="status", ordering="status")
    def status_shown(self, obj):
        if obj.status == Recommendation.Status.DISMISSED and obj.snoozed_until:
            return f"snoozed until {obj.snoozed_until:%Y-%m-%d}"
        return obj.get_status_display()

    @admin.display(description="opened", ordering="created_at")
    def age(self, obj):
        return f"{timesince(obj.created_at, depth=1)} ago"

    @admin.display(description="evidence")
    def evidence_shown(self, obj):
        evidence = readable_evidence(obj.evidence)
        if obj.kind == Recommendation.Kind.SCHEDULE and isinstance(evidence.get("heat_map"), dict):
            figures = evidence.pop("heat_map")
            zone = evidence.get("time_zone", "UTC")
            return format_html("{}{}", heat_map(figures, zone), evidence_table(evidence))
        return evidence_table(evidence)


@admin.register(DetectionSettings)
class DetectionSettingsAdmin(TenantScopedAdmin):
    list_display = [
        "organization",
        "lookback_days",
        "idle_cpu_avg_percent",
        "idle_network_mb_per_day",
        "idle_cpu_peak_percent",
        "rightsize_cpu_p95_percent",
        "protect_tag",
    ]
    list_select_related = ["organization"]
