"""Commitments, their daily coverage and utilization, and the sync runs: read-only pages."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import Avg, Case, CharField, DecimalField, OuterRef, Subquery, Value, When
from django.utils import timezone

from accounts.admin_filters import AccountFilter
from accounts.admin_tenancy import ReadOnlyAdmin
from commitments.admin.views import CommitmentPages
from commitments.models import (
    AwsPurchaseRecommendation,
    Commitment,
    CommitmentDay,
    CommitmentSync,
)
from config.admin_display import EMPTY, account_column, duration, money, percent

UTILIZATION_DAYS = 7


def with_recent_utilization(queryset, today):
    """Each commitment's account-wide utilization of its kind over the last UTILIZATION_DAYS
    (Cost Explorer reports utilization per account and kind, not per commitment)."""
    days = (
        CommitmentDay.objects.filter(
            account=OuterRef("account"),
            kind=OuterRef("day_kind"),
            source=CommitmentDay.Source.EXPLORER,
            day__gte=today - timedelta(days=UTILIZATION_DAYS),
        )
        .order_by()
        .values("account")
        .annotate(value=Avg("utilization_percent"))
        .values("value")
    )
    return queryset.annotate(
        day_kind=Case(
            When(kind=Commitment.Kind.SAVINGS_PLAN, then=Value(CommitmentDay.Kind.SAVINGS_PLAN)),
            default=Value(CommitmentDay.Kind.RESERVATION),
            output_field=CharField(),
        ),
        recent_utilization=Subquery(days, output_field=DecimalField()),
    )


@admin.register(Commitment)
class CommitmentAdmin(CommitmentPages, ReadOnlyAdmin):
    list_display = [
        "commitment_id",
        account_column,
        "kind",
        "what",
        "payment_option",
        "term_years",
        "hourly_shown",
        "end",
        "days_to_expiry_shown",
        "utilization_shown",
        "state",
    ]
    list_filter = ["kind", "state", "payment_option", "term_years", "currency", AccountFilter]
    list_select_related = ["account"]
    search_fields = ["commitment_id", "plan_type", "instance_type", "instance_family"]
    search_help_text = "Savings Plan or reservation ID, plan type or instance type."
    ordering = ["end"]
    readonly_fields = ["days_to_expiry_shown", "utilization_shown"]

    def get_queryset(self, request):
        return with_recent_utilization(super().get_queryset(request), timezone.localdate())

    @admin.display(description="covers")
    def what(self, obj):
        if obj.kind == Commitment.Kind.SAVINGS_PLAN:
            family = f" {obj.instance_family}" if obj.instance_family else ""
            return f"{obj.plan_type}{family}"
        return f"{obj.instance_count} x {obj.instance_type} {obj.platform}".strip()

    @admin.display(description="per hour", ordering="hourly_commitment")
    def hourly_shown(self, obj):
        amount = obj.hourly_commitment if obj.hourly_commitment is not None else None
        if amount is None:
            amount = obj.recurring_hourly
        # Another currency is shown with its code: it is never summed with USD figures.
        return money(amount, obj.currency, per="/h")

    @admin.display(description="days to expiry", ordering="end")
    def days_to_expiry_shown(self, obj):
        days = obj.days_to_expiry()
        return "expired" if days < 0 else days

    @admin.display(description=f"utilization {UTILIZATION_DAYS}d")
    def utilization_shown(self, obj):
        return percent(getattr(obj, "recent_utilization", None))


@admin.register(CommitmentDay)
class CommitmentDayAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        account_column,
        "kind",
        "source",
        "coverage_shown",
        "utilization_shown",
        "on_demand_money",
        "unused_money",
        "net_savings_money",
    ]
    list_filter = ["kind", "source", AccountFilter]
    list_select_related = ["account"]
    date_hierarchy = "day"
    show_full_result_count = False

    @admin.display(description="coverage", ordering="coverage_percent")
    def coverage_shown(self, obj):
        return percent(obj.coverage_percent)

    @admin.display(description="utilization", ordering="utilization_percent")
    def utilization_shown(self, obj):
        return percent(obj.utilization_percent)

    @admin.display(description="on demand", ordering="on_demand_spend")
    def on_demand_money(self, obj):
        return money(obj.on_demand_spend, obj.currency)

    @admin.display(description="unused commitment", ordering="unused_commitment")
    def unused_money(self, obj):
        return money(obj.unused_commitment, obj.currency)

    @admin.display(description="net savings", ordering="net_savings")
    def net_savings_money(self, obj):
        return money(obj.net_savings, obj.currency)


@admin.register(CommitmentSync)
class CommitmentSyncAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        account_column,
        "status",
        "took",
        "window",
        "requests_made",
        "commitments",
        "days_stored",
        "problem_count",
    ]
    list_filter = ["status", AccountFilter]
    list_select_related = ["account"]
    show_full_result_count = False
    date_hierarchy = "started_at"
    search_fields = ["account__account_id", "account__name", "error"]
    fields = [
        "account",
        "status",
        ("started_at", "finished_at", "took"),
        ("window_start", "window_end"),
        ("requests_made", "commitments", "days_stored"),
        "problems",
        "notes",
        "error",
    ]
    readonly_fields = ["took"]

    @admin.display(description="took")
    def took(self, obj):
        return duration(obj.finished_at - obj.started_at) if obj.finished_at else "still running"

    @admin.display(description="window")
    def window(self, obj):
        if not obj.window_start:
            return EMPTY
        return f"{obj.window_start} → {obj.window_end - timedelta(days=1)}"

    @admin.display(description="problems")
    def problem_count(self, obj):
        return len(obj.problems or {}) or EMPTY


@admin.register(AwsPurchaseRecommendation)
class AwsPurchaseRecommendationAdmin(ReadOnlyAdmin):
    """AWS's own Savings Plan recommendations, as the last commitments sync fetched them."""

    list_display = [
        account_column,
        "plan_type",
        "term",
        "payment_option",
        "commitment_shown",
        "monthly_money",
        "savings_shown",
        "utilization_shown",
        "fetched_at",
    ]
    list_filter = ["plan_type", "term", AccountFilter]
    list_select_related = ["account"]
    show_full_result_count = False

    @admin.display(description="commitment", ordering="hourly_commitment")
    def commitment_shown(self, obj):
        return money(obj.hourly_commitment, obj.currency, per="/h")

    @admin.display(description="net savings a month", ordering="monthly_savings")
    def monthly_money(self, obj):
        return money(obj.monthly_savings, obj.currency)

    @admin.display(description="savings", ordering="savings_percent")
    def savings_shown(self, obj):
        return percent(obj.savings_percent)

    @admin.display(description="utilization", ordering="utilization_percent")
    def utilization_shown(self, obj):
        return percent(obj.utilization_percent)
