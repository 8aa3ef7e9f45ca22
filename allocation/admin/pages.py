"""The dimension's own pages: cost by its values, tag coverage, and re-allocating history.

Each looks its dimension up through the admin's (tenant-scoped) queryset: another
organisation's dimension is answered exactly like one that does not exist. Reading needs the
view permission; re-allocating, the change permission, which DimensionAdmin grants only to the
organisation's operators and admins.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from allocation import reallocation, report
from allocation.admin.forms import CoverageForm, MonthForm, ReallocateForm
from allocation.models import AllocationRule
from allocation.periods import next_month, previous_month
from config.admin_display import EMPTY, money, percent
from costs.models import TagKey


class DimensionPages:
    """get_urls() and the views of the pages under /admin/allocation/dimension/<id>/."""

    def get_urls(self):
        pages = [
            path(
                "<path:object_id>/costs/",
                self.admin_site.admin_view(self.costs_view),
                name="allocation_dimension_costs",
            ),
            path(
                "<path:object_id>/coverage/",
                self.admin_site.admin_view(self.coverage_view),
                name="allocation_dimension_coverage",
            ),
            path(
                "<path:object_id>/reallocate/",
                self.admin_site.admin_view(self.reallocate_view),
                name="allocation_dimension_reallocate",
            ),
        ]
        return pages + super().get_urls()

    # --- Shared ---------------------------------------------------------------------------

    def _dimension_or_redirect(self, request, object_id):
        """(dimension, None), or (None, the admin's "doesn't exist" redirect)."""
        dimension = self.get_object(request, object_id)
        if dimension is None:
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return dimension, None

    def _page(self, request, template, dimension, title, **context):
        return TemplateResponse(
            request,
            f"admin/allocation/dimension/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": dimension,
                "dimension": dimension,
                "title": title,
                "has_change_permission": self.has_change_permission(request, dimension),
                **context,
            },
        )

    # --- Cost by <dimension> ------------------------------------------------------------

    def costs_view(self, request, object_id):
        dimension, missing = self._dimension_or_redirect(request, object_id)
        if missing:
            return missing
        if not self.has_view_permission(request, dimension):
            raise PermissionDenied
        current = timezone.localdate().replace(day=1)
        form = MonthForm(request.GET or None, initial={"month": current})
        month = current if not form.is_bound else form.chosen() if form.is_valid() else None
        value, service = request.GET.get("value"), request.GET.get("service")
        context = {"form": form, "month": month}
        if month is not None:
            context |= _cost_by(dimension, month, value, service)
        title = f"Cost by {dimension.name.lower()}"
        return self._page(request, "costs.html", dimension, title, **context)

    # --- Tag coverage -------------------------------------------------------------------

    def coverage_view(self, request, object_id):
        dimension, missing = self._dimension_or_redirect(request, object_id)
        if missing:
            return missing
        if not self.has_view_permission(request, dimension):
            raise PermissionDenied
        keys = self._tag_keys(dimension)
        data = request.GET.copy()
        if "key" not in data and keys:
            data["key"] = keys[0]
        data.setdefault("month", timezone.localdate().strftime("%Y-%m"))  # shown, not blank
        # No key to show yet (no tag rule, no tag key): an empty form rather than an error.
        form = CoverageForm(data) if "key" in data else CoverageForm()
        context = {"form": form, "keys": keys}
        if form.is_bound and form.is_valid():
            month = form.chosen()
            key = form.cleaned_data["key"]
            context |= _coverage(report.tag_coverage(dimension.organization, key, month))
            context |= {"month": month, "key": key}
        return self._page(request, "coverage.html", dimension, "Tag coverage", **context)

    def _tag_keys(self, dimension) -> list[str]:
        """The keys the dimension's rules read first, then the organisation's other keys."""
        rule_keys = AllocationRule.objects.filter(
            dimension=dimension, kind=AllocationRule.Kind.TAG
        ).order_by("position")
        keys = list(dict.fromkeys(rule_keys.values_list("tag_key", flat=True)))
        others = TagKey.objects.filter(organization_id=dimension.organization_id)
        return keys + [k for k in others.values_list("key", flat=True) if k not in keys]

    # --- Re-allocate history --------------------------------------------------------------

    def reallocate_view(self, request, object_id):
        dimension, missing = self._dimension_or_redirect(request, object_id)
        if missing:
            return missing
        if not self.has_change_permission(request, dimension):
            raise PermissionDenied
        if request.method == "POST":
            form = ReallocateForm(request.POST)
        elif {"start", "end"} & set(request.GET):
            form = ReallocateForm(request.GET)
        else:
            today = timezone.localdate()
            first = reallocation.first_day(dimension) or today.replace(day=1)
            form = ReallocateForm({"start": first, "end": today})
        context = {"form": form}
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            if request.method == "POST" and request.POST.get("apply") == "yes":
                return self._apply(request, dimension, start, end)
            context |= {"start": start, "end": end}
            context |= _changes(reallocation.preview(dimension, start, end))
        title = f"Re-allocate {dimension.name.lower()} history"
        return self._page(request, "reallocate.html", dimension, title, **context)

    def _apply(self, request, dimension, start, end):
        record = reallocation.apply(dimension, start, end, user=request.user)
        moved = reallocation.moved(reallocation.recorded_changes(record))
        self.log_change(request, dimension, f"Re-allocated {start} to {end}.")
        self.message_user(
            request,
            f"Re-allocated {dimension} from {start} to {end}: {money(moved)} changed value.",
            messages.SUCCESS,
        )
        url = reverse("admin:allocation_dimension_costs", args=[dimension.pk])
        return HttpResponseRedirect(f"{url}?{urlencode({'month': f'{end:%Y-%m}'})}")


# --- What the templates show: figures written once, the admin's way (config/admin_display) -----


def _query(**params) -> str:
    return urlencode({k: v for k, v in params.items() if v is not None})


def _cost_by(dimension, month, value, service) -> dict:
    rows, total = report.value_rows(dimension, month)
    chart = report.trend(dimension, month)
    shown = f"{month:%Y-%m}"
    context = {
        "total_money": money(total),
        "chart": chart,
        "chart_rows": list(zip(chart["labels"], chart["totals"], strict=True)),
        "previous": f"{previous_month(month):%Y-%m}",
        "next": f"{next_month(month):%Y-%m}",
        "value": value,
        "service": service,
        "value_rows": [
            {
                "value": row.value,
                "direct": money(row.direct),
                "shared": money(row.shared),
                "total": money(row.total),
                "share": percent(row.share),
                "bar": round(row.share or 0),
                "chosen": row.value == value,
                "query": _query(month=shown, value=row.value),
            }
            for row in rows
        ],
    }
    if value is not None:
        found = report.drill_down(dimension, month, value, service)
        context["service_rows"] = [
            {
                "service": name,
                "amount": money(amount),
                "chosen": name == service,
                "query": _query(month=shown, value=value, service=name),
            }
            for name, amount in found["services"]
        ]
        context["resource_rows"] = [
            (resource, name, money(amount)) for resource, name, amount in found["resources"]
        ]
    return context


def _coverage(found: report.CoverageReport) -> dict:
    return {
        "coverage": found,
        "coverage_percent": percent(found.percent),
        "coverage_total": money(found.total),
        "coverage_rows": [
            {
                "account": row.sub_account_id or EMPTY,
                "service": row.service,
                "total": money(row.total),
                "tagged": money(row.tagged),
                "percent": percent(row.percent),
            }
            for row in found.rows
        ],
        "untagged_rows": [
            (resource, account, service, money(amount))
            for resource, account, service, amount in found.untagged
        ],
    }


def _changes(found: list[reallocation.Change]) -> dict:
    before = sum((c.before for c in found), Decimal(0))
    after = sum((c.after for c in found), Decimal(0))
    return {
        "changes": found,
        "moved_money": money(reallocation.moved(found)),
        "before_money": money(before),
        "after_money": money(after),
        "total_difference": _signed(after - before),
        "change_rows": [
            {
                "value": c.value,
                "before": money(c.before),
                "after": money(c.after),
                "difference": _signed(c.difference),
                "direction": "sl-up" if c.difference > 0 else "sl-down" if c.difference else "",
            }
            for c in found
        ],
    }


def _signed(amount: Decimal) -> str:
    return f"+{money(amount)}" if amount > 0 else money(amount)
