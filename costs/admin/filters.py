"""Cost-table filters and date navigation that never scan the cost table itself.

Service and region choices come from CostRollup (one row per day and key, written by
costs/rollup.py) and the date hierarchy's years, months and days too: a DISTINCT over millions
of cost records on every page view would cost what the estimated count saves. A key or day
that only non-USD or non-primary-metric records carry has no rollup and so no link; the
search box still finds it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import date_hierarchy

from accounts.models import Organization
from costs.models import CostRollup

NO_REGION = "-"  # the value of the "(no region)" choice: "" would mean "no filter"


def user_rollups(request, dimension: str):
    organizations = Organization.objects.for_user(request.user).values("pk")
    return CostRollup.objects.for_organizations(organizations).filter(dimension=dimension)


class RollupKeyFilter(admin.SimpleListFilter):
    dimension = ""

    def label(self, key: str) -> str:
        return key

    def lookups(self, request, model_admin):
        keys = (
            user_rollups(request, self.dimension)
            .order_by("key")
            .values_list("key", flat=True)
            .distinct()
        )
        return [(key or NO_REGION, self.label(key)) for key in keys]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        value = "" if self.value() == NO_REGION else self.value()
        return queryset.filter(**{self.parameter_name: value})


class ServiceFilter(RollupKeyFilter):
    title = "service"
    parameter_name = "service"
    dimension = CostRollup.Dimension.SERVICE


class RegionFilter(RollupKeyFilter):
    title = "region"
    parameter_name = "region"
    dimension = CostRollup.Dimension.REGION

    def label(self, key: str) -> str:
        return key or "(no region: global services)"


class RollupDates:
    """Stands in for a cost ChangeList in Django's date_hierarchy(): same links, rollup dates.

    date_hierarchy() reads cl.queryset for a Min/Max and a DISTINCT of years, months or days;
    everything else (the field, the current parameters, the links) comes from the real one.
    """

    def __init__(self, changelist, request):
        self._changelist = changelist
        field = changelist.date_hierarchy
        # The region dimension has the fewest keys per day: the smallest slice of rollups.
        dates = user_rollups(request, CostRollup.Dimension.REGION)
        for part in ("year", "month", "day"):
            value = changelist.params.get(f"{field}__{part}")
            if value:
                dates = dates.filter(**{f"usage_date__{part}": value})
        self.queryset = dates

    def __getattr__(self, name):
        return getattr(self._changelist, name)


def rollup_date_hierarchy(changelist, request) -> dict:
    return date_hierarchy(RollupDates(changelist, request))
