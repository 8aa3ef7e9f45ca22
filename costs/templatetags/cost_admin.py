"""Template tags of the cost admin pages."""

from django import template

from costs.admin.filters import rollup_date_hierarchy as rollup_dates

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html", takes_context=True)
def rollup_date_hierarchy(context, changelist):
    """Django's date hierarchy for the cost change list, with dates from CostRollup."""
    return rollup_dates(changelist, context["request"])
