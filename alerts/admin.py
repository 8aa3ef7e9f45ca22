"""Budgets, chat channels, and the alert history: what was raised, for whom (or which
channel), and whether it went out.

A channel's URL and signing key are write-only here (alerts/forms.py ChannelForm): the list
and the change page show scheme://host/… and nothing else of them.
"""

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html

from accounts.admin_filters import OrganizationFilter, TenantChoiceFilter
from accounts.admin_tenancy import (
    OrganizationAdminsWriteAdmin,
    ReadOnlyAdmin,
    TenantScopedAdmin,
    TenantScopedInline,
)
from accounts.models import CloudAccount, Role
from alerts import channel_delivery
from alerts.forms import ChannelForm
from alerts.models import AlertEvent, Budget, BudgetThreshold, Channel, ChannelDelivery
from config.admin_display import EMPTY, evidence_table, money


class BudgetThresholdInline(TenantScopedInline, admin.TabularInline):
    model = BudgetThreshold
    extra = 0


@admin.register(Budget)
class BudgetAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "organization",
        "scope",
        "monthly_amount_money",
        "thresholds_shown",
        "active",
    ]
    list_filter = ["active", OrganizationFilter]
    list_select_related = ["organization", "account", "dimension"]
    search_fields = ["name", "account__name", "account__account_id"]
    inlines = [BudgetThresholdInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("thresholds")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.ensure_thresholds()

    @admin.display(description="covers", ordering="account__name")
    def scope(self, obj):
        if obj.dimension_id:
            return obj.scope_label
        return str(obj.account) if obj.account_id else "the whole organisation"

    @admin.display(description="monthly amount", ordering="monthly_amount")
    def monthly_amount_money(self, obj):
        return money(obj.monthly_amount, per="/month")

    @admin.display(description="thresholds")
    def thresholds_shown(self, obj):
        return ", ".join(f"{t.percent}% {t.basis}" for t in obj.thresholds.all()) or EMPTY


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin):
    """The alert history: written by the system, read by people."""

    list_display = ["created_at", "kind", "title", "recipient", "address", "status", "attempts"]
    list_filter = ["status", "kind", OrganizationFilter]
    list_select_related = ["recipient"]
    show_full_result_count = False  # a history that only grows: one COUNT(*) is enough
    search_fields = ["subject", "title", "address", "recipient__username"]
    search_help_text = "Words of the subject or title, the address, or the recipient's username."
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["created_at", "kind", "title", "subject", "link_shown"]}),
        (
            "Delivery",
            {"fields": ["recipient", "address", "status", "attempts", "sent_at", "error"]},
        ),
        ("Evidence", {"fields": ["evidence_shown"]}),
    ]
    readonly_fields = ["link_shown", "evidence_shown"]

    @admin.display(description="about")
    def link_shown(self, obj):
        # Only a path on this site becomes a link: the field is written by code, but a stored
        # "javascript:" or off-site URL must never be one click away in the operator UI.
        if obj.link.startswith("/") and not obj.link.startswith("//"):
            return format_html('<a href="{}">{}</a>', obj.link, obj.link)
        return obj.link or EMPTY

    @admin.display(description="evidence")
    def evidence_shown(self, obj):
        return evidence_table(obj.evidence)


@admin.register(Channel)
class ChannelAdmin(OrganizationAdminsWriteAdmin):
    form = ChannelForm
    list_display = [
        "name",
        "organization",
        "kind",
        "url_host",
        "routing",
        "cooldown_minutes",
        "active",
        "last_delivery",
    ]
    list_filter = ["kind", "active", OrganizationFilter]
    list_select_related = ["organization", "dimension"]
    search_fields = ["name"]
    actions = ["send_test_message"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "kind", "url", "secret", "active"]}),
        (
            "Routing",
            {
                "fields": ["kinds", "accounts", "dimension", "dimension_values"],
                "description": "An alert reaches this channel when every filter set matches; "
                "an alert about no particular account (or value) reaches only channels that "
                "do not filter on accounts (or a dimension).",
            },
        ),
        ("Rate limit", {"fields": ["cooldown_minutes"]}),
    ]

    def get_queryset(self, request):
        last = ChannelDelivery.objects.filter(channel=OuterRef("pk")).order_by("-created_at")
        return (
            super()
            .get_queryset(request)
            .prefetch_related("accounts")
            .annotate(last_status=Subquery(last.values("status")[:1]))
        )

    readonly_fields = ["url_host", "signing_key"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # Read-only, Django would print every field's value: never the URL's or the key's.
        shown = {"url": "url_host", "secret": "signing_key"}
        return [
            (name, {**opts, "fields": [shown.get(f, f) for f in opts["fields"]]})
            for name, opts in fieldsets
        ]

    # The URL is a credential to post into the organisation's chat: only its admins change it
    # (as in the API); other staff get the read-only page, which shows the host alone.

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "accounts":
            kwargs["queryset"] = CloudAccount.objects.for_user(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="URL")
    def url_host(self, obj):
        return obj.url_host

    @admin.display(description="signing key")
    def signing_key(self, obj):
        return "set" if obj.secret else "not set"

    @admin.display(description="routing")
    def routing(self, obj):
        return obj.routing_summary([a.name or a.account_id for a in obj.accounts.all()])

    @admin.display(description="last delivery")
    def last_delivery(self, obj):
        return ChannelDelivery.Status(obj.last_status).label if obj.last_status else EMPTY

    @admin.action(description="Send test message", permissions=["view"])
    def send_test_message(self, request, queryset):
        for channel in queryset:
            if not channel.organization.user_has_role(request.user, Role.OPERATOR):
                self.message_user(
                    request, f"{channel}: only operators can send test messages.", messages.ERROR
                )
                continue
            delivery = channel_delivery.send_test(channel)
            if delivery.status == ChannelDelivery.Status.SENT:
                self.message_user(
                    request,
                    f"{channel}: test message delivered (HTTP {delivery.response_status}).",
                    messages.SUCCESS,
                )
            else:
                self.message_user(request, f"{channel}: {delivery.error}", messages.ERROR)


class ChannelFilter(TenantChoiceFilter):
    title = "channel"
    parameter_name = "channel"
    field_path = "channel"

    def choices_for(self, request):
        return Channel.objects.for_user(request.user).order_by("name")


@admin.register(ChannelDelivery)
class ChannelDeliveryAdmin(ReadOnlyAdmin):
    """What was posted to which channel, and what its receiver answered."""

    list_display = [
        "created_at",
        "channel",
        "kind",
        "title",
        "status",
        "response_status",
        "attempts",
        "next_attempt",
    ]
    list_filter = ["status", ChannelFilter, "kind", OrganizationFilter]
    list_select_related = ["channel"]
    show_full_result_count = False
    search_fields = ["subject", "title"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "channel",
        "kind",
        "subject",
        "title",
        "status",
        "attempts",
        "next_attempt",
        "sent_at",
        "response_status",
        "response_excerpt",
        "error",
        "evidence_shown",
    ]
    readonly_fields = ["next_attempt", "evidence_shown"]

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj):
        if obj.status in (ChannelDelivery.Status.PENDING, ChannelDelivery.Status.FAILED):
            return obj.next_attempt_at
        return EMPTY

    @admin.display(description="evidence")
    def evidence_shown(self, obj):
        return evidence_table(obj.evidence)
