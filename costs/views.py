from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.models import CloudAccount, Role
from costs import actions, overview
from costs.models import Instance, InstanceAction, Recommendation, SyncRun

PERFORM = {"stop": actions.stop_instance, "start": actions.start_instance}
OK_LEVEL = {InstanceAction.Result.SUCCEEDED, InstanceAction.Result.NO_OP}


TOP_RECOMMENDATIONS = 5


def _open_recommendations(user):
    return (
        Recommendation.objects.for_user(user)
        .filter(status=Recommendation.Status.OPEN)
        .select_related("account")
        .order_by("-monthly_saving", "pk")
    )


def _with_instances(user, recommendations) -> list:
    """Attach `.instance` to idle-instance recommendations, in one query, for Stop buttons."""
    recommendations = list(recommendations)
    ids = [r.resource_id for r in recommendations if r.kind == Recommendation.Kind.IDLE_INSTANCE]
    instances = {
        (i.account_id, i.instance_id): i
        for i in Instance.objects.for_user(user).present().filter(instance_id__in=ids)
    }
    for rec in recommendations:
        rec.instance = instances.get((rec.account_id, rec.resource_id))
    return recommendations


@login_required
def dashboard(request):
    context = overview.page_context(request.user, timezone.localdate())
    context["recommendations"] = _with_instances(
        request.user, _open_recommendations(request.user)[:TOP_RECOMMENDATIONS]
    )
    return render(request, "dashboard/index.html", context)


@login_required
def recommendation_list(request):
    page = Paginator(_open_recommendations(request.user), 50).get_page(request.GET.get("page"))
    context = {"page": page, "recommendations": _with_instances(request.user, page.object_list)}
    return render(request, "dashboard/recommendations.html", context)


@login_required
def monitoring(request):
    last_run = SyncRun.objects.filter(account=OuterRef("pk")).order_by("-started_at")
    accounts = (
        CloudAccount.objects.for_user(request.user)
        .select_related("organization")
        .annotate(
            last_run_status=Subquery(last_run.values("status")[:1]),
            last_run_started_at=Subquery(last_run.values("started_at")[:1]),
        )
        .order_by("organization__name", "name")
    )
    context = {
        "accounts": accounts,
        "grafana_url": settings.GRAFANA_URL,
        "prometheus_url": settings.PROMETHEUS_URL,
    }
    return render(request, "dashboard/monitoring.html", context)


def _open_idle():
    return Prefetch(
        "recommendations",
        queryset=Recommendation.objects.filter(
            status=Recommendation.Status.OPEN, kind=Recommendation.Kind.IDLE_INSTANCE
        ),
        to_attr="open_idle",
    )


@login_required
def instance_list(request):
    instances = (
        Instance.objects.for_user(request.user)
        .present()
        .select_related("account__organization")
        .prefetch_related(_open_idle())
        .order_by("account__name", "name", "instance_id")
    )
    return render(request, "dashboard/instances.html", {"instances": instances})


@login_required
def instance_action(request, pk: int, action: str):
    """GET: the confirmation page (nothing happens). POST: stop or start, then back."""
    if action not in PERFORM:
        raise Http404
    instance = get_object_or_404(
        Instance.objects.for_user(request.user)
        .select_related("account__organization")
        .prefetch_related(_open_idle()),
        pk=pk,
    )
    recommendation = instance.open_idle[0] if instance.open_idle else None
    if request.method != "POST":
        can_act = instance.account.organization.user_has_role(request.user, Role.OPERATOR)
        context = {
            "instance": instance,
            "action": action,
            "recommendation": recommendation,
            "can_act": can_act,
        }
        return render(request, "dashboard/confirm_action.html", context)
    outcome = PERFORM[action](
        instance, actor=request.user, reason=recommendation if action == "stop" else None
    )
    level = messages.SUCCESS if outcome.result in OK_LEVEL else messages.ERROR
    messages.add_message(request, level, f"{instance}: {outcome.message}")
    return redirect("instance-list")
