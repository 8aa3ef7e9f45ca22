"""Organisations, their members and the AWS accounts they connect.

The AWS accounts page shows each account's open savings too: findings/admin/accounts.py adds
them, the findings being a later stage than the accounts.
"""

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from knox.admin import AuthTokenAdmin as KnoxAuthTokenAdmin
from knox.models import AuthToken

from accounts import onboarding
from accounts.admin_filters import AccountFilter, AccountOrganizationFilter, OrganizationFilter
from accounts.admin_tenancy import (
    OrganizationAdminsWriteAdmin,
    ReadOnlyAdmin,
    TenantScopedAdmin,
    TenantScopedInline,
    colleagues,
)
from accounts.connection import check_connection
from accounts.discovery import DiscoveryError, discover
from accounts.forms import CloudAccountAdminForm, SingleSignOnAdminForm
from accounts.models import (
    CloudAccount,
    FanOutRun,
    Membership,
    Organization,
    Profile,
    Role,
    SingleSignOn,
)
from accounts.password_policy import AdminLoginForm
from config.admin_display import EMPTY, account_column


class MembershipInline(TenantScopedInline, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(TenantScopedAdmin):
    list_display = ["name", "slug", "members", "accounts", "password_login_enabled", "created_at"]
    list_filter = ["password_login_enabled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        # Two multi-valued joins multiply each other's rows: hence distinct counts.
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("memberships", distinct=True),
                account_count=Count("cloud_accounts", distinct=True),
            )
        )

    @admin.display(description="members", ordering="member_count")
    def members(self, obj):
        return obj.member_count

    @admin.display(description="AWS accounts", ordering="account_count")
    def accounts(self, obj):
        return obj.account_count


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", OrganizationFilter]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "alert_email",
        "email_enabled",
        "cooldown_minutes",
        "weekly_report_enabled",
        "weekly_report_weekday",
    ]
    list_filter = ["email_enabled", "weekly_report_enabled", "weekly_report_weekday"]
    list_select_related = ["user"]
    search_fields = ["user__username", "alert_email"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        members = Membership.objects.filter(
            organization__in=Organization.objects.for_user(request.user)
        ).values("user")
        return qs.filter(user__in=members)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # The user to pick: a colleague, not any member of any organisation (issue 11).
        if db_field.name == "user":
            kwargs["queryset"] = colleagues(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# Django's own users page, scoped like the rest (issue 11): staff who are not superusers see,
# and find through the members' autocomplete, only the people of their own organisations.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(DjangoUserAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=colleagues(request.user).values("pk"))


# knox's API tokens page, scoped the same way (issue 11): unscoped, it listed every user's
# tokens, offered every user to create one for, and its history page told an existing token
# (403) from a missing one (redirect).
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(KnoxAuthTokenAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user__in=colleagues(request.user).values("pk"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = colleagues(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CloudAccount)
class CloudAccountAdmin(TenantScopedAdmin):
    form = CloudAccountAdminForm
    list_display = [
        "__str__",
        "organization",
        "region_list",
        "is_active",
        "last_synced_at",
        "error_flag",
    ]
    list_filter = ["is_active", "is_management", OrganizationFilter]
    list_select_related = ["organization"]
    search_fields = ["name", "account_id", "role_arn"]
    search_help_text = "Account name, 12-digit account ID or role ARN."
    autocomplete_fields = ["organization"]
    readonly_fields = [
        "external_id",
        "last_synced_at",
        "last_error",
        "last_error_at",
        "created_at",
        "trust_policy",
        "cloudformation_template",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["organization", "name", "account_id", "role_arn", "regions", "time_zone"]},
        ),
        (
            "Status",
            {
                "fields": [
                    "is_active",
                    "is_management",
                    "last_synced_at",
                    "last_error",
                    "last_error_at",
                ]
            },
        ),
        (
            "Onboarding",
            {
                "fields": ["external_id", "trust_policy", "cloudformation_template"],
                "description": "Paste the trust policy into the customer's role; the ExternalId "
                "is generated by Spendlens and never changes.",
            },
        ),
    ]
    actions = ["test_connection", "discover_linked_accounts", "activate"]

    @admin.display(description="regions")
    def region_list(self, obj):
        return ", ".join(obj.regions) or EMPTY

    @admin.display(description="connection OK", boolean=True)
    def error_flag(self, obj):
        return not obj.last_error

    @admin.display(description="trust policy")
    def trust_policy(self, obj):
        if not obj.pk:
            return "Save the account to generate its ExternalId and policy."
        return format_html("<pre>{}</pre>", onboarding.pretty(onboarding.trust_policy(obj)))

    @admin.display(description="CloudFormation template")
    def cloudformation_template(self, obj):
        if not obj.pk or obj.role is None:
            return "-"
        return format_html(
            "<details><summary>Show</summary><pre>{}</pre></details>",
            onboarding.cloudformation_template(obj),
        )

    @admin.action(description="Test connection of selected accounts")
    def test_connection(self, request, queryset):
        for account in queryset:
            if not account.organization.user_has_role(request.user, Role.OPERATOR):
                self.message_user(
                    request, f"{account}: only operators can test connections.", messages.ERROR
                )
                continue
            report = check_connection(account)
            if report.ok:
                account.clear_error()
                self.message_user(request, f"{account}: connection works.", messages.SUCCESS)
            else:
                account.record_error(report.first_error(), timezone.now())
                self.message_user(request, f"{account}: {report.first_error()}", messages.ERROR)

    @admin.action(
        description="Discover the AWS Organization's accounts (adds them inactive)",
        permissions=["add"],
    )
    def discover_linked_accounts(self, request, queryset):
        payers = list(queryset.filter(is_management=True).select_related("organization"))
        for account in payers:
            if not account.organization.user_has_role(request.user, Role.OPERATOR):
                self.message_user(
                    request, f"{account}: only operators can add accounts.", messages.ERROR
                )
                continue
            try:
                result = discover(account)
            except DiscoveryError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(
                request,
                f"{account}: {len(result.linked)} accounts in the AWS Organization; added "
                f"{len(result.added)} (inactive: create their roles with their ExternalIds, "
                f"then activate them), {len(result.closed)} closed in AWS and not added, "
                f"{len(result.outside)} here but not in that AWS Organization.",
                messages.SUCCESS,
            )
        if not payers:
            self.message_user(
                request,
                "Select a management account: only it can list its AWS Organization's accounts.",
                messages.WARNING,
            )

    @admin.action(description="Activate selected accounts", permissions=["change"])
    def activate(self, request, queryset):
        # One role check per organisation: discovery may have selected a thousand accounts.
        organizations = Organization.objects.filter(
            pk__in=queryset.values("organization_id").distinct()
        )
        allowed = [o.pk for o in organizations if o.user_has_role(request.user, Role.OPERATOR)]
        activated = queryset.filter(organization__in=allowed, is_active=False).update(
            is_active=True
        )
        self.message_user(
            request,
            f"Activated {activated} account(s); the schedule syncs them from now on "
            "(Test connection checks their roles first).",
            messages.SUCCESS,
        )
        if queryset.exclude(organization__in=allowed).exists():
            self.message_user(
                request, "Only operators can activate accounts; others were left.", messages.ERROR
            )


# The admin's own login refuses passwords that single sign-on replaced, with the reason.
admin.site.login_form = AdminLoginForm

# allauth's pages (e-mail addresses, social accounts and apps of every user) are not scoped to
# an organisation; SingleSignOn below is the one place single sign-on is configured.
for model_path in [
    "account.EmailAddress",
    "socialaccount.SocialAccount",
    "socialaccount.SocialApp",
    "socialaccount.SocialToken",
    "account.EmailConfirmation",
]:
    model = apps.get_model(model_path)
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(SingleSignOn)
class SingleSignOnAdmin(OrganizationAdminsWriteAdmin):
    form = SingleSignOnAdminForm
    list_display = ["name", "organization", "slug", "issuer", "enabled"]
    list_filter = ["enabled", OrganizationFilter]
    list_select_related = ["organization"]
    search_fields = ["name", "slug", "issuer", "client_id", "organization__name"]
    readonly_fields = ["redirect_uri", "created_at"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "slug", "enabled", "redirect_uri"]}),
        ("Provider", {"fields": ["issuer", "client_id", "client_secret", "scopes"]}),
        (
            "Who comes in",
            {
                "fields": ["groups_claim", "group_roles", "email_domains", "domain_role"],
                "description": "The highest role of the person's groups; else the domain role "
                "(if set) for an address of one of the domains; else nobody comes in. The login "
                "page also finds this provider by those domains.",
            },
        ),
    ]

    # Who signs in, and as what, is the organisation admins' decision alone.

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "issuer":
            kwargs["assume_scheme"] = "https"  # Django 6's default; identity providers are https
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="redirect URI to register")
    def redirect_uri(self, obj):
        # The same for every provider: the callback finds the provider from the session.
        return f"{settings.SITE_URL.rstrip('/')}{reverse('sso-callback')}"


@admin.register(FanOutRun)
class FanOutRunAdmin(ReadOnlyAdmin):
    """Each account's share of each scheduled fan-out: which ran, which failed, which a dead
    worker left and another took over (attempts > 1)."""

    list_display = ["started_at", account_column, "task", "status", "attempts", "finished_at"]
    list_filter = ["status", "task", AccountFilter, AccountOrganizationFilter]
    list_select_related = ["account"]
    show_full_result_count = False
    date_hierarchy = "started_at"
    search_fields = ["account__account_id", "account__name", "task", "error"]
    search_help_text = "AWS account ID or name, the task's dotted path, or words of the error."
    fields = [
        "account",
        ("task", "slot"),
        ("status", "attempts", "worker"),
        ("started_at", "lease_until", "finished_at"),
        "result",
        "error",
    ]
