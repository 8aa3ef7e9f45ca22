"""Recommendations, the detection settings, and what was done: the action log, auto-stop."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from accounts.admin_filters import AccountFilter, AccountOrganizationFilter, OrganizationFilter
from accounts.admin_tenancy import ReadOnlyAdmin, TenantScopedAdmin
from accounts.models import CloudAccount, Role
from config.admin_display import account_column, account_link, admin_link, evidence_table, money
from costs.admin_actions import InstanceActionsMixin
from costs.admin_dismissal import RecommendationDismissalMixin
from costs.models import (
    AutoStopNotice,
    AutoStopPolicy,
    DetectionSettings,
    Instance,
    InstanceAction,
    Recommendation,
)

# Short forms of Recommendation.SavingBasis for the list; the detail page has the long ones.
BASIS = {
    Recommendation.SavingBasis.BILLED: "billed cost",
    Recommendation.SavingBasis.PRICE_TABLE: "price table",
}


@admin.register(Recommendation)
class RecommendationAdmin(RecommendationDismissalMixin, InstanceActionsMixin, ReadOnlyAdmin):
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
    actions = ["stop_selected", "start_selected", "dismiss_selected", "snooze_selected"]
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
        return obj.resource_id

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
        return evidence_table(obj.evidence)

    @admin.action(description="Stop selected instances (idle recommendations)")
    def stop_selected(self, request, queryset):
        items = self.idle_instances(queryset)
        return self.confirm_or_perform(request, "stop", queryset, items)

    @admin.action(description="Start selected instances (idle recommendations)")
    def start_selected(self, request, queryset):
        items = self.idle_instances(queryset)
        return self.confirm_or_perform(request, "start", queryset, items)


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


@admin.register(InstanceAction)
class InstanceActionAdmin(ReadOnlyAdmin):
    list_display = [
        "requested_at",
        "action",
        "instance_link",
        account_column,
        "actor_label",
        "result",
        "error_code",
        "message",
        "recommendation_link",
    ]
    list_filter = ["result", "action", AccountFilter, OrganizationFilter]
    list_select_related = ["account"]
    show_full_result_count = False  # a history that only grows: one COUNT(*) is enough
    date_hierarchy = "requested_at"
    search_fields = ["aws_instance_id", "actor_label", "message", "error_code"]
    search_help_text = "Instance ID, who asked (username), words of the message, AWS error code."
    readonly_fields = ["instance_link", "recommendation_link"]
    exclude = ["instance", "recommendation"]

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail is append-only

    @admin.display(description="instance", ordering="aws_instance_id")
    def instance_link(self, obj):
        # The instance row may be gone; the AWS ID recorded with the attempt stays.
        if obj.instance_id is None:
            return obj.aws_instance_id
        return admin_link(Instance, obj.instance_id, obj.aws_instance_id)

    @admin.display(description="recommendation")
    def recommendation_link(self, obj):
        return admin_link(Recommendation, obj.recommendation_id, f"#{obj.recommendation_id}")


@admin.register(AutoStopNotice)
class AutoStopNoticeAdmin(ReadOnlyAdmin):
    list_display = [
        "instance",
        account_column,
        "status",
        "dry_run",
        "announced_at",
        "stop_due",
        "recommendation_link",
    ]
    list_filter = ["status", "dry_run", AccountFilter]
    list_select_related = ["account", "instance"]
    show_full_result_count = False  # a history that only grows: one COUNT(*) is enough
    date_hierarchy = "announced_at"
    readonly_fields = [f.name for f in AutoStopNotice._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="stop due", ordering="stop_after")
    def stop_due(self, obj):
        if obj.status != AutoStopNotice.Status.PENDING:
            return f"{obj.stop_after:%Y-%m-%d %H:%M}"
        if obj.stop_after <= timezone.now():
            return "due at the next auto-stop run"
        return f"in {timeuntil(obj.stop_after, depth=2)}"

    @admin.display(description="recommendation")
    def recommendation_link(self, obj):
        return admin_link(Recommendation, obj.recommendation_id, f"#{obj.recommendation_id}")


@admin.register(AutoStopPolicy)
class AutoStopPolicyAdmin(TenantScopedAdmin):
    """Turning auto-stop on is an account-level decision: organisation admins only."""

    list_display = ["account", "enabled", "dry_run", "idle_days", "grace_hours", "updated_at"]
    list_filter = ["enabled", "dry_run", AccountOrganizationFilter]
    list_select_related = ["account"]
    fields = ["account", "enabled", "dry_run", "idle_days", "grace_hours"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "account":
            # Narrower than TenantScopedAdmin's "the user's organisations": their admin ones.
            kwargs["queryset"] = self.administered_accounts(request)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ["account"] if obj is not None else []

    def administered_accounts(self, request):
        accounts = CloudAccount.objects.for_user(request.user)
        if request.user.is_superuser:
            return accounts
        return accounts.filter(
            organization__memberships__user=request.user,
            organization__memberships__role=Role.ADMIN,
        )

    def _administers(self, request, obj) -> bool:
        return obj is None or obj.account.organization.user_has_role(request.user, Role.ADMIN)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._administers(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._administers(request, obj)
