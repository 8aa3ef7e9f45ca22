"""The dashboard's budget pages: what members open from a budget alert."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from alerts.models import Budget
from alerts.rules import budget_outlook, crossed_thresholds


def _budgets(user):
    return (
        Budget.objects.for_user(user)
        .select_related("organization", "account", "dimension")
        .prefetch_related("thresholds")
        .order_by("organization__name", "name")
    )


def _with_outlook(budget, today):
    budget.outlook = budget_outlook(budget, today)
    actual, projected = budget.outlook.actual, budget.outlook.forecast
    budget.used_percent = round(100 * actual / budget.monthly_amount, 1)
    budget.forecast_percent = (
        None if projected is None else round(100 * projected / budget.monthly_amount, 1)
    )
    budget.crossed = crossed_thresholds(budget, budget.outlook)
    return budget


@login_required
def budget_list(request):
    today = timezone.localdate()
    budgets = [_with_outlook(b, today) for b in _budgets(request.user)]
    return render(request, "dashboard/budgets.html", {"budgets": budgets, "today": today})


@login_required
def budget_detail(request, pk: int):
    today = timezone.localdate()
    budget = _with_outlook(get_object_or_404(_budgets(request.user), pk=pk), today)
    return render(request, "dashboard/budget_detail.html", {"budget": budget, "today": today})
