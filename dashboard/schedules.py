"""The instance list's schedule controls: follow a schedule, stop following it, and "keep
running until HH:MM today" (in the schedule's time zone). Every change goes through
actions/schedule_attach.py and actions/schedules.py, which check the role again."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from actions import schedule_attach, schedules
from actions.models import Schedule, ScheduledInstance
from findings.models import Recommendation
from fleet.models import Instance


def _schedule(request, instance) -> Schedule | None:
    try:
        pk = int(request.POST.get("schedule", ""))
    except ValueError:
        return None
    return Schedule.objects.filter(pk=pk, organization=instance.account.organization_id).first()


def _until_today(text: str, zone: str) -> datetime | None:
    """HH:MM today in ZONE, as an aware datetime; None when TEXT is not a time."""
    try:
        hour, minute = (int(part) for part in text.split(":"))
        moment = time(hour, minute)
    except ValueError:
        return None
    today = timezone.now().astimezone(ZoneInfo(zone)).date()
    return schedules.to_utc(datetime.combine(today, moment), ZoneInfo(zone))


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_POST
def instance_schedule(request, pk: int):
    instance = get_object_or_404(
        Instance.objects.for_user(request.user).select_related("account__organization"), pk=pk
    )
    do = request.POST.get("do")
    try:
        if do == "attach":
            schedule = _schedule(request, instance)
            if schedule is None:
                raise ValidationError("Choose one of the organisation's schedules.")
            schedule_attach.attach(schedule, instance, request.user)
            messages.success(request, f"{instance} now follows the schedule {schedule.name}.")
        elif do == "detach":
            schedule_attach.detach(instance, request.user)
            messages.success(request, f"{instance} no longer follows a schedule by hand.")
        elif do == "keep":
            row = ScheduledInstance.objects.filter(instance=instance).select_related("schedule")
            attached = row.first()
            if attached is None:
                raise ValidationError(f"{instance} follows no schedule.")
            zone = attached.schedule.time_zone
            until = _until_today(request.POST.get("until", ""), zone)
            if until is None:
                raise ValidationError("Give the time as HH:MM.")
            schedules.keep_running_until(instance, until, request.user)
            messages.success(
                request, f"{instance} keeps running until {request.POST['until']} ({zone}) today."
            )
        else:
            raise ValidationError("Unknown schedule change.")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("instance-list")


@login_required
@require_POST
def apply_schedule(request, pk: int):
    """Run the schedule a schedule recommendation proposes (actions/schedule_attach.py)."""
    rec = get_object_or_404(
        Recommendation.objects.for_user(request.user).select_related(
            "account__organization", "instance__account__organization"
        ),
        pk=pk,
    )
    try:
        row = schedule_attach.apply_recommendation(rec, request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            f"{row.instance} now follows the schedule {row.schedule.name}; the operators are "
            "told before its first stop.",
        )
    return redirect("recommendation-detail", pk=pk)
