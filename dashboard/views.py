from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.models import CloudAccount
from actions import stop_start
from actions.models import InstanceAction, Schedule
from config.admin_display import evidence_table, heat_map
from costs.models import SyncRun
from dashboard import allocation_card, commitments_card, overview
from findings.display import readable_evidence, resource_type
from findings.idle import Verdict
from findings.models import Recommendation
from fleet.models import Instance

PERFORM = {"stop": stop_start.stop_instance, "start": stop_start.start_instance}
OK_LEVEL = {InstanceAction.Result.SUCCEEDED, InstanceAction.Result.NO_OP}


TOP_RECOMMENDATIONS = 5
VERDICTS = {
    Verdict.IDLE: "idle",
    Verdict.NOT_IDLE: "in use",
    Verdict.NOT_ENOUGH_DATA: "not enough data",
    Verdict.PROTECTED: "idle, protected",
    Verdict.ASG_MEMBER: "idle, in an Auto Scaling group",
}


def _open_recommendations(user):
    return (
        Recommendation.objects.for_user(user)
        .filter(status=Recommendation.Status.OPEN)
        .select_related("account")
        .order_by("-monthly_saving", "pk")
    )


def _with_instances(user, recommendations) -> list:
    """Attach `.instance` to idle-instance and schedule recommendations, in one query, for
    their buttons (Stop, Run this schedule)."""
    recommendations = list(recommendations)
    with_buttons = (Recommendation.Kind.IDLE_INSTANCE, Recommendation.Kind.SCHEDULE)
    ids = [r.resource_id for r in recommendations if r.kind in with_buttons]
    found = (
        Instance.objects.for_user(user)
        .present()
        .filter(instance_id__in=ids)
        .select_related("account__organization")
    )
    instances = {(i.account_id, i.instance_id): i for i in _annotate_for_buttons(user, found)}
    for rec in recommendations:
        # Only these kinds get an instance (and so a Stop or Schedule button): an RDS, NAT,
        # load balancer or snapshot finding never acts on an EC2 instance.
        rec.instance = instances.get((rec.account_id, rec.resource_id))
        rec.resource_type = resource_type(rec.kind)
    return recommendations


@login_required
def dashboard(request):
    context = overview.page_context(request.user, timezone.localdate())
    context["team_card"] = allocation_card.team_card(request.user, timezone.localdate())
    context["commitments_card"] = commitments_card.commitments_card(
        request.user, timezone.localdate()
    )
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
def recommendation_detail(request, pk: int):
    """One recommendation, any status: where alert e-mails send members who are not staff."""
    rec = get_object_or_404(
        Recommendation.objects.for_user(request.user).select_related("account"), pk=pk
    )
    (rec,) = _with_instances(request.user, [rec])
    evidence, heat = readable_evidence(rec.evidence), None
    if rec.kind == Recommendation.Kind.SCHEDULE and isinstance(evidence.get("heat_map"), dict):
        heat = heat_map(evidence.pop("heat_map"), evidence.get("time_zone", "UTC"))
    context = {"rec": rec, "evidence": evidence_table(evidence), "heat_map": heat}
    return render(request, "dashboard/recommendation_detail.html", context)


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


def _idle_recommendations():
    """Each instance's open idle recommendation, and the applied one a stop put in force."""
    return Prefetch(
        "recommendations",
        queryset=Recommendation.objects.filter(
            status__in=[Recommendation.Status.OPEN, Recommendation.Status.APPLIED],
            kind=Recommendation.Kind.IDLE_INSTANCE,
        ).order_by("-updated_at"),
        to_attr="idle_recommendations",
    )


def _annotate_for_buttons(user, instances) -> list:
    """What each row may offer: open/applied idle saving, and why a Stop would be refused."""
    refusals = stop_start.Refusals(user, "stop")
    instances = list(instances)
    for instance in instances:
        recs = getattr(instance, "idle_recommendations", [])
        instance.open_idle = [r for r in recs if r.status == Recommendation.Status.OPEN]
        applied = [r for r in recs if r.status == Recommendation.Status.APPLIED]
        instance.applied_idle = applied[0] if applied and instance.state == "stopped" else None
        # Detection judges running instances only: a stopped one's last verdict is history.
        instance.verdict_shown = (
            VERDICTS.get(instance.verdict, "") if instance.state == "running" else ""
        )
        instance.can_act = refusals.can_act(instance)
        instance.stop_blocked = refusals.protection(instance)
    return instances


@login_required
def instance_list(request):
    instances = (
        Instance.objects.for_user(request.user)
        .present()
        .select_related("account__organization", "schedule_attachment__schedule")
        .prefetch_related(_idle_recommendations())
        .order_by("account__name", "name", "instance_id")
    )
    instances = _annotate_for_buttons(request.user, instances)
    choices = list(Schedule.objects.for_user(request.user).order_by("name"))
    for instance in instances:
        instance.attached = getattr(instance, "schedule_attachment", None)
        instance.schedule_choices = [
            s for s in choices if s.organization_id == instance.account.organization_id
        ]
    context = {"instances": instances, "can_act": any(i.can_act for i in instances)}
    return render(request, "dashboard/instances.html", context)


@login_required
def instance_action(request, pk: int, action: str):
    """GET: the confirmation page (nothing happens). POST: stop or start, then back."""
    if action not in PERFORM:
        raise Http404
    instance = get_object_or_404(
        Instance.objects.for_user(request.user)
        .select_related("account__organization")
        .prefetch_related(_idle_recommendations()),
        pk=pk,
    )
    (instance,) = _annotate_for_buttons(request.user, [instance])
    recommendation = instance.open_idle[0] if instance.open_idle else None
    if request.method != "POST":
        context = {
            "instance": instance,
            "action": action,
            "recommendation": recommendation,
            "can_act": instance.can_act,
            "refusal": instance.stop_blocked if action == "stop" else "",
        }
        return render(request, "dashboard/confirm_action.html", context)
    outcome = PERFORM[action](
        instance, actor=request.user, reason=recommendation if action == "stop" else None
    )
    level = messages.SUCCESS if outcome.result in OK_LEVEL else messages.ERROR
    # The outcome's message names the instance already.
    messages.add_message(request, level, outcome.message)
    return redirect("instance-list")
