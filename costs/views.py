from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from accounts.models import Role
from costs import actions
from costs.models import Instance, InstanceAction, Recommendation

PERFORM = {"stop": actions.stop_instance, "start": actions.start_instance}
OK_LEVEL = {InstanceAction.Result.SUCCEEDED, InstanceAction.Result.NO_OP}


@login_required
def dashboard(request):
    return render(request, "dashboard/index.html")


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
