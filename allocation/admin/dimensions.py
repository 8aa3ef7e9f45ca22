"""Dimensions, their ordered rules and shared-cost splits.

Rules and splits are checked by the models' clean() (percentages sum to 100, no cycles), so a
mistake is a form error. Saving re-allocates the current month at once, so new days follow the
new rules; older months keep theirs until someone re-allocates history (pages.py), after a
preview of what would move. Only an organisation's operators and admins change its rules: the
figures everyone reads come from them.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin_filters import OrganizationFilter
from accounts.admin_tenancy import TenantScopedAdmin, TenantScopedInline
from accounts.models import Organization, Role
from allocation import engine
from allocation.admin.pages import DimensionPages
from allocation.models import AllocationRule, Dimension, SharedCostSplit
from allocation.rules import unknown_accounts, unknown_tag_keys
from config.admin_display import EMPTY
from costs.models import TagKey

# Fields whose change alters what every cost is allocated to (a rename does not).
ALLOCATING_FIELDS = {"unallocated_label"}


def may_change(request, organization_id) -> bool:
    """Whether the user is an operator or admin of the organisation (once per request)."""
    if request.user.is_superuser:
        return True
    cache = request.__dict__.setdefault("_allocation_roles", {})
    if organization_id not in cache:
        organization = Organization(pk=organization_id)
        cache[organization_id] = organization.user_has_role(request.user, Role.OPERATOR)
    return cache[organization_id]


class ParentRoleInline(TenantScopedInline):
    """An inline the dimension's viewers see read-only, like the dimension itself."""

    extra = 0
    # Mappings and lists are a line or two of JSON: a small box, not Django's 10-row default.
    formfield_overrides = {
        models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})},
    }

    def _may(self, request, obj) -> bool:
        return obj is None or may_change(request, obj.organization_id)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._may(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may(request, obj)


class AllocationRuleInline(ParentRoleInline, admin.TabularInline):
    model = AllocationRule
    fk_name = "dimension"
    ordering = ["position"]
    fields = ["position", "kind", "tag_key", "source_dimension", "mapping"]
    verbose_name = "rule"
    verbose_name_plural = "rules (tried in order of position; the first that gives a value wins)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("source_dimension")
        if field is not None and obj is not None:
            # Another dimension of the same organisation; itself would be a cycle.
            field.queryset = field.queryset.filter(organization_id=obj.organization_id).exclude(
                pk=obj.pk
            )
        return formset


class SharedCostSplitInline(ParentRoleInline, admin.StackedInline):
    model = SharedCostSplit
    ordering = ["position", "name"]
    fields = [
        ("name", "position"),
        ("services", "accounts", "charge_categories"),
        "only_unallocated",
        ("method", "percentages"),
    ]
    verbose_name = "shared-cost split"


@admin.register(Dimension)
class DimensionAdmin(DimensionPages, TenantScopedAdmin):
    list_display = [
        "name",
        "slug",
        "organization",
        "rule_count",
        "history",
        "pages",
    ]
    list_filter = [OrganizationFilter]
    list_select_related = ["organization"]
    search_fields = ["name", "slug"]
    inlines = [AllocationRuleInline, SharedCostSplitInline]
    fieldsets = [
        (None, {"fields": ["organization", ("name", "slug"), "unallocated_label", "spike_alerts"]}),
        (
            "History",
            {"fields": ["history", ("rules_changed_at", "reallocated_at")]},
        ),
    ]
    readonly_fields = ["history", "rules_changed_at", "reallocated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(rules_total=Count("rules", distinct=True))

    def get_readonly_fields(self, request, obj=None):
        extra = ["organization"] if obj is not None else []
        return [*extra, *self.readonly_fields]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization" and not request.user.is_superuser:
            # Narrower than "the user's organisations": those whose rules they may change.
            kwargs["queryset"] = Organization.objects.filter(
                memberships__user=request.user,
                memberships__role__in=[Role.OPERATOR, Role.ADMIN],
            )
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_change(request, obj.organization_id))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or may_change(request, obj.organization_id))

    @admin.display(description="rules", ordering="rules_total")
    def rule_count(self, obj):
        return getattr(obj, "rules_total", EMPTY)

    @admin.display(description="history")
    def history(self, obj):
        if obj.pk is None:
            return "New: the current month is allocated on save; re-allocate history after."
        if obj.history_is_stale:
            url = reverse("admin:allocation_dimension_reallocate", args=[obj.pk])
            return format_html(
                'Rules changed since history was re-allocated: <a href="{}">re-allocate…</a>',
                url,
            )
        if obj.reallocated_at:
            return f"Re-allocated {timezone.localtime(obj.reallocated_at):%Y-%m-%d %H:%M}"
        return "Follows the rules"

    @admin.display(description="pages")
    def pages(self, obj):
        return format_html(
            '<a href="{}">cost by {}</a> · <a href="{}">tag coverage</a>',
            reverse("admin:allocation_dimension_costs", args=[obj.pk]),
            obj.name.lower(),
            reverse("admin:allocation_dimension_coverage", args=[obj.pk]),
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        dimension = form.instance
        changed = (
            not change
            or ALLOCATING_FIELDS & set(form.changed_data)
            or any(formset.has_changed() for formset in formsets)
        )
        if not changed:
            return
        # Inside the admin's transaction: the rules and the month's rollups change together.
        engine.rules_changed(dimension)
        url = reverse("admin:allocation_dimension_reallocate", args=[dimension.pk])
        self.message_user(
            request,
            format_html(
                "This month now follows the new rules. Earlier months keep the rules they were "
                'allocated with until you <a href="{}">re-allocate history</a>.',
                url,
            ),
            messages.INFO,
        )
        known = set(
            TagKey.objects.filter(organization_id=dimension.organization_id).values_list(
                "key", flat=True
            )
        )
        unknown = unknown_tag_keys(dimension, known)
        if unknown:
            self.message_user(
                request,
                format_html(
                    "The rules read tag keys that are not among {}'s tag keys: {}. Cost Explorer "
                    'spend is split by a key only once it is added under <a href="{}">tag '
                    "keys</a> (FOCUS exports carry every tag already).",
                    dimension.organization,
                    ", ".join(unknown),
                    reverse("admin:costs_tagkey_changelist"),
                ),
                messages.WARNING,
            )
        missing = unknown_accounts(dimension)
        if missing:
            self.message_user(
                request,
                f"The account rules map accounts {dimension.organization} neither connects nor "
                f"has spend of: {', '.join(missing)}. They give no value until such spend "
                "arrives (a deleted account's history keeps the value it was allocated).",
                messages.WARNING,
            )
