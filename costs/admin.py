from django.contrib import admin

from accounts.admin_tenancy import TenantScopedAdmin
from accounts.models import CloudAccount, Role
from costs.admin_actions import InstanceActionsMixin
from costs.models import (
    AutoStopNotice,
    AutoStopPolicy,
    BillingImport,
    CostRecord,
    DetectionSettings,
    ElasticIP,
    Instance,
    InstanceAction,
    Recommendation,
    SyncRun,
    Volume,
)


class ReadOnlyAdmin(TenantScopedAdmin):
    """Records written by the system: browsable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "status",
        "started_at",
        "duration",
        "window_start",
        "window_end",
        "requests_made",
        "request_cost_usd",
        "rows_inserted",
        "rows_updated",
        "rows_deleted",
    ]
    list_filter = ["status", ("account__organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["account", "account__organization"]
    date_hierarchy = "started_at"
    search_fields = ["account__account_id", "account__name", "error"]

    @admin.display(description="request cost (USD)")
    def request_cost_usd(self, obj):
        return f"${obj.request_cost:.2f}"


@admin.register(CostRecord)
class CostRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "usage_date",
        "provider",
        "sub_account_id",
        "service",
        "region",
        "metric",
        "amount",
        "currency",
        "estimated",
        "source",
    ]
    list_filter = ["source", "metric", "estimated", "provider"]
    list_select_related = ["account"]
    date_hierarchy = "usage_date"
    search_fields = ["service", "sub_account_id", "resource_id"]
    # The cost table is the biggest in the database: never COUNT(*) it for the paginator.
    show_full_result_count = False
    list_per_page = 100


@admin.register(BillingImport)
class BillingImportAdmin(ReadOnlyAdmin):
    list_display = [
        "uri",
        "organization",
        "status",
        "started_at",
        "rows_read",
        "rows_rejected",
        "records_written",
        "records_replaced",
    ]
    list_filter = ["status", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in BillingImport._meta.fields]


@admin.register(Instance)
class InstanceAdmin(InstanceActionsMixin, ReadOnlyAdmin):
    list_display = [
        "__str__",
        "account",
        "region",
        "instance_type",
        "state",
        "verdict",
        "auto_scaling_group",
        "last_seen_at",
        "gone_at",
    ]
    list_filter = [
        "state",
        "verdict",
        "region",
        ("account__organization", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["account"]
    search_fields = ["instance_id", "name", "instance_type"]
    actions = ["stop_selected", "start_selected"]

    @admin.action(description="Stop selected instances")
    def stop_selected(self, request, queryset):
        items = [(i, None) for i in queryset.select_related("account__organization")]
        return self.confirm_or_perform(request, "stop", queryset, items)

    @admin.action(description="Start selected instances")
    def start_selected(self, request, queryset):
        items = [(i, None) for i in queryset.select_related("account__organization")]
        return self.confirm_or_perform(request, "start", queryset, items)


@admin.register(Volume)
class VolumeAdmin(ReadOnlyAdmin):
    list_display = [
        "volume_id",
        "account",
        "region",
        "volume_type",
        "size_gib",
        "state",
        "attached_instance_id",
        "gone_at",
    ]
    list_filter = ["volume_type", "state", "region"]
    list_select_related = ["account"]
    search_fields = ["volume_id", "attached_instance_id"]


@admin.register(ElasticIP)
class ElasticIPAdmin(ReadOnlyAdmin):
    list_display = ["public_ip", "account", "region", "allocation_id", "instance_id", "gone_at"]
    list_select_related = ["account"]
    search_fields = ["public_ip", "allocation_id", "instance_id"]


@admin.register(Recommendation)
class RecommendationAdmin(InstanceActionsMixin, ReadOnlyAdmin):
    list_display = [
        "summary",
        "kind",
        "account",
        "region",
        "monthly_saving",
        "saving_basis",
        "status",
        "updated_at",
    ]
    list_filter = [
        "status",
        "kind",
        "saving_basis",
        ("account__organization", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["account"]
    search_fields = ["resource_id", "summary"]
    actions = ["stop_selected", "start_selected"]

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


@admin.register(InstanceAction)
class InstanceActionAdmin(ReadOnlyAdmin):
    list_display = [
        "requested_at",
        "action",
        "aws_instance_id",
        "account",
        "actor_label",
        "result",
        "error_code",
        "message",
    ]
    list_filter = [
        "result",
        "action",
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["account"]
    date_hierarchy = "requested_at"
    search_fields = ["aws_instance_id", "actor_label", "message", "error_code"]
    readonly_fields = [f.name for f in InstanceAction._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail is append-only


@admin.register(AutoStopNotice)
class AutoStopNoticeAdmin(ReadOnlyAdmin):
    list_display = ["instance", "account", "status", "dry_run", "announced_at", "stop_after"]
    list_filter = ["status", "dry_run"]
    list_select_related = ["account", "instance"]
    readonly_fields = [f.name for f in AutoStopNotice._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AutoStopPolicy)
class AutoStopPolicyAdmin(TenantScopedAdmin):
    """Turning auto-stop on is an account-level decision: organisation admins only."""

    list_display = ["account", "enabled", "dry_run", "idle_days", "grace_hours", "updated_at"]
    list_filter = ["enabled", "dry_run"]
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
