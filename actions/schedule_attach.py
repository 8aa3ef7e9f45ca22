"""Attaching instances to schedules by hand (admin inline, dashboard, API) and turning a
schedule recommendation into a running schedule.

Only operators and admins of the instance's organisation attach, detach or apply; a schedule
of another organisation is never reachable (the callers scope their querysets first, and
attach() checks again).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from actions.models import Schedule, ScheduledInstance
from findings.models import Recommendation
from fleet.models import Instance


def _require_operator(organization, user) -> None:
    if not organization.user_has_role(user, Role.OPERATOR):
        raise PermissionDenied("Only operators and admins can change an instance's schedule.")


def attach(schedule: Schedule, instance: Instance, user) -> ScheduledInstance:
    """INSTANCE follows SCHEDULE from now on (instead of any schedule it followed)."""
    organization = instance.account.organization
    _require_operator(organization, user)
    if schedule.organization_id != organization.pk:
        raise ValidationError({"schedule": "No such schedule in the instance's organisation."})
    with transaction.atomic():
        row, created = ScheduledInstance.objects.select_for_update().get_or_create(
            instance=instance,
            defaults={"schedule": schedule, "source": ScheduledInstance.Source.MANUAL},
        )
        if not created and (row.schedule_id, row.source) != (schedule.pk, "manual"):
            # Another schedule: its first stop is announced anew.
            row.schedule, row.source, row.notice_sent_at = schedule, "manual", None
            row.save(update_fields=["schedule", "source", "notice_sent_at"])
    return row


def detach(instance: Instance, user) -> bool:
    """INSTANCE follows no schedule by hand any more (a schedule tag still applies)."""
    _require_operator(instance.account.organization, user)
    deleted, _ = ScheduledInstance.objects.filter(
        instance=instance, source=ScheduledInstance.Source.MANUAL
    ).delete()
    return bool(deleted)


def _periods(evidence: dict) -> list[dict]:
    # A proposal's period ending at midnight says 00:00; a schedule says 24:00.
    return [
        {
            "days": list(p["days"]),
            "start": p["start"],
            "end": "24:00" if p["end"] == "00:00" else p["end"],
        }
        for p in evidence.get("periods", [])
    ]


def _name(evidence: dict) -> str:
    # ASCII: the name is also the value of the spendlens:schedule tag.
    return evidence.get("schedule", "proposed schedule").replace("\u2013", "-")[:100]


def apply_recommendation(rec: Recommendation, user) -> ScheduledInstance:
    """Run the schedule REC proposes for its instance: the organisation's schedule with the
    same periods and time zone, or a new one named after them; the recommendation is applied."""
    if rec.kind != Recommendation.Kind.SCHEDULE or rec.instance is None:
        raise ValidationError({"recommendation": "Not a schedule recommendation of an instance."})
    if rec.status != Recommendation.Status.OPEN:
        raise ValidationError({"recommendation": f"The recommendation is {rec.status}."})
    if rec.instance.auto_scaling_group:
        raise ValidationError(
            {"recommendation": "An Auto Scaling member: schedule its group's scaling instead."}
        )
    organization = rec.account.organization
    _require_operator(organization, user)
    periods, zone = _periods(rec.evidence), rec.evidence.get("time_zone", "UTC")
    with transaction.atomic():
        schedule = next(
            (
                s
                for s in Schedule.objects.filter(organization=organization, time_zone=zone)
                if s.periods == periods and not s.holidays
            ),
            None,
        )
        if schedule is None:
            schedule = Schedule(
                organization=organization,
                name=_name(rec.evidence),
                time_zone=zone,
                periods=periods,
                owner=user,
            )
            if Schedule.objects.filter(organization=organization, name=schedule.name).exists():
                schedule.name = f"{schedule.name} ({rec.resource_id})"[:100]
            schedule.save()  # full_clean() inside: a bad proposal is refused, nothing saved
        row = attach(schedule, rec.instance, user)
        rec.status = Recommendation.Status.APPLIED
        rec.resolved_at = timezone.now()
        rec.save(update_fields=["status", "resolved_at"])
    return row
