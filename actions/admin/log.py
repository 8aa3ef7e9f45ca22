"""What was done: the stop/start log, the realised savings, the auto-stop policies and notices."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timeuntil

from accounts.admin_filters import AccountFilter, AccountOrganizationFilter, OrganizationFilter
from accounts.admin_tenancy import ReadOnlyAdmin, TenantScopedAdmin
from accounts.models import CloudAccount, Role
from actions import realised
from actions.models import AutoStopNotice, AutoStopPolicy, InstanceAction, RealisedSaving
from config.admin_display import account_column, admin_link, money
from findings.models import Recommendation
from fleet.models import Instance


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


@admin.register(RealisedSaving)
class RealisedSavingAdmin(ReadOnlyAdmin):
    """Each fix applied through Spendlens and what it has saved; per-account totals on top."""

    list_display = [
        "stopped_at",
        "instance_link",
        account_column,
        "actor_label",
        "monthly_saving_money",
        "saving_until",
        "this_month_money",
        "to_date_money",
        "recommendation_link",
    ]
    list_filter = [AccountFilter, OrganizationFilter]
    list_select_related = ["account", "instance"]
    date_hierarchy = "requested_at"
    search_fields = ["aws_instance_id", "actor_label"]
    search_help_text = "Instance ID, or who stopped it (username)."
    exclude = ["instance", "recommendation"]
    readonly_fields = ["instance_link", "recommendation_link", "this_month_money", "to_date_money"]

    def get_queryset(self, request):
        return realised.fix_actions(super().get_queryset(request))

    def has_delete_permission(self, request, obj=None):
        return False  # a view of the append-only action log

    def changelist_view(self, request, extra_context=None):
        self.now = timezone.now()
        summary = realised.realised_savings(super().get_queryset(request), self.now)
        return super().changelist_view(request, {**(extra_context or {}), "summary": summary})

    def _fix(self, obj):
        return realised.as_fix(obj)

    @admin.display(description="stopped", ordering="requested_at")
    def stopped_at(self, obj):
        return f"{timezone.localtime(self._fix(obj).start):%Y-%m-%d %H:%M}"

    @admin.display(description="instance", ordering="aws_instance_id")
    def instance_link(self, obj):
        if obj.instance_id is None:
            return obj.aws_instance_id
        return admin_link(Instance, obj.instance_id, obj.instance)

    @admin.display(description="saves", ordering="monthly_saving")
    def monthly_saving_money(self, obj):
        return money(obj.monthly_saving, per="/month")

    @admin.display(description="saving until")
    def saving_until(self, obj):
        end = self._fix(obj).end
        return "still stopped" if end is None else f"{timezone.localtime(end):%Y-%m-%d %H:%M}"

    @admin.display(description="this month")
    def this_month_money(self, obj):
        now = getattr(self, "now", None) or timezone.now()
        return money(self._fix(obj).realised(realised.month_start_of(now), now))

    @admin.display(description="to date")
    def to_date_money(self, obj):
        now = getattr(self, "now", None) or timezone.now()
        return money(self._fix(obj).realised(None, now))

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
