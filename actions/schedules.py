"""Instance schedules: stop instances outside their running periods, start them inside.

A schedule lists when instances RUN, in local time; run() is called every few minutes and
executes the period boundaries (a start, a stop) that are due, each at most once per
instance: the boundary's UTC instant is the `occurrence` of a ScheduleEvent, unique per
(instance, action, occurrence), so of two workers on the same tick only the one whose insert
wins acts. Rules:

- Inside a running period, only starts apply. A start missed while the worker was down is
  caught up at the next run that is still inside the period. A missed stop is never
  replayed into working hours.
- Outside the periods, the last period end of the past 24 hours is executed once (later than
  that, the stop is left to the next period's end), unless a "keep running until" override
  holds; once it expires, the stop happens at the next run outside the periods.
- Protected, Auto Scaling, instance-store and Spot instances are never touched: the boundary
  is recorded as skipped with the reason.
- Before an instance's first scheduled stop its people are e-mailed, at least
  SCHEDULE_NOTICE_HOURS before it; until then the stop waits.
- The first time a boundary is seen, it is claimed even when the instance is already where
  the schedule wants it ("skipped: already running"), so a person who stops an instance in
  the middle of the day is not overruled by the next run.

Every stop and start goes through actions.stop_start (DryRun first, the InstanceAction log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Organization, Role
from actions import stop_start
from actions.autostop import recipients as operator_recipients
from actions.models import (
    InstanceAction,
    Schedule,
    ScheduledInstance,
    ScheduleEvent,
    ScheduleOverride,
)
from findings.idle import is_protected
from findings.models import DetectionSettings
from fleet.models import Instance

logger = logging.getLogger(__name__)

TAG_KEYS = ("spendlens:schedule", "Schedule")  # ours first; AWS Instance Scheduler's, to migrate
STOP_LOOKBACK = timedelta(hours=24)
# A boundary whose stop or start AWS failed (throttled, timed out, the instance between states)
# is tried again by the next runs, this many times in all, while it is still due.
MAX_ATTEMPTS = 3
SEARCH_DAYS = 8  # a weekly schedule's last period end is at most a week back
Action, Status = ScheduleEvent.Action, ScheduleEvent.Status
Result = InstanceAction.Result
EVENT_STATUS = {
    Result.SUCCEEDED: Status.SUCCEEDED,
    Result.NO_OP: Status.SKIPPED,
    Result.REFUSED: Status.SKIPPED,
    Result.FAILED: Status.FAILED,
    Result.DRY_RUN: Status.SKIPPED,
}


# --- Time -----------------------------------------------------------------------------------


def to_utc(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of local wall time NAIVE in ZONE.

    A time that occurs twice (autumn) is its first occurrence (fold=0). A time that does not
    exist (spring gap) becomes the first valid instant after it: the end of the gap.
    """
    for _ in range(24 * 60):  # a gap is never longer than a day
        utc = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == naive:
            return utc
        naive += timedelta(minutes=1)
    raise ValueError(f"No valid local time near {naive} in {zone}")


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    if hours == 24:
        return to_utc(datetime.combine(day + timedelta(days=1), time(0, 0)), zone)
    return to_utc(datetime.combine(day, time(hours, minutes)), zone)


def periods_on(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The running periods of local date DAY as (start, end) UTC instants; none on a holiday."""
    if day.isoformat() in schedule.holidays:
        return []
    zone = ZoneInfo(schedule.time_zone)
    return sorted(
        (_local(day, p["start"], zone), _local(day, p["end"], zone))
        for p in schedule.periods
        if day.weekday() in p["days"]
    )


def periods_around(schedule, moment, days_before=1, days_after=1):
    """The running periods of the local dates around MOMENT, in order."""
    today = moment.astimezone(ZoneInfo(schedule.time_zone)).date()
    spans = []
    for offset in range(-days_before, days_after + 1):
        spans += periods_on(schedule, today + timedelta(days=offset))
    return sorted(span for span in spans if span[0] < span[1])


def running_at(schedule: Schedule, moment_utc: datetime) -> bool:
    """Whether SCHEDULE has its instances running at MOMENT_UTC."""
    return any(start <= moment_utc < end for start, end in periods_around(schedule, moment_utc))


def next_change(schedule: Schedule, moment: datetime) -> tuple[str, datetime] | None:
    """("stop", when) while running, else ("start", when); None if nothing in 8 days."""
    spans = periods_around(schedule, moment, 1, SEARCH_DAYS)
    for start, end in spans:
        if start <= moment < end:
            return ("stop", end)
    starts = [start for start, _ in spans if start > moment]
    return ("start", min(starts)) if starts else None


# --- Who follows which schedule ---------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    instance: Instance
    schedule: Schedule
    source: str


def attached_instances(organization: Organization) -> list[Attachment]:
    """The organisation's instances that follow a schedule: attached by hand, or tagged
    spendlens:schedule (or AWS Instance Scheduler's Schedule) with a schedule's name.
    A manual attachment wins over a tag."""
    schedules = {s.name: s for s in Schedule.objects.filter(organization=organization)}
    found: dict[int, Attachment] = {}
    manual = ScheduledInstance.objects.filter(
        schedule__organization=organization, source=ScheduledInstance.Source.MANUAL
    ).select_related("instance__account__organization", "schedule")
    for row in manual:
        found[row.instance_id] = Attachment(row.instance, row.schedule, row.source)
    instances = Instance.objects.present().filter(account__organization=organization)
    for instance in instances.select_related("account__organization"):
        if instance.pk in found:
            continue
        for key in TAG_KEYS:
            schedule = schedules.get(instance.tags.get(key, ""))
            if schedule is not None:
                found[instance.pk] = Attachment(instance, schedule, ScheduledInstance.Source.TAG)
                break
    return list(found.values())


def sync_attachments(organization: Organization) -> list[ScheduledInstance]:
    """Keep the tag attachments as rows (they carry the notice's date); return every row."""
    wanted = {a.instance.pk: a for a in attached_instances(organization)}
    rows = ScheduledInstance.objects.filter(schedule__organization=organization)
    for row in rows.filter(source=ScheduledInstance.Source.TAG):
        attachment = wanted.get(row.instance_id)
        if attachment is None or attachment.source != ScheduledInstance.Source.TAG:
            row.delete()  # the tag is gone (or names no schedule now)
        elif attachment.schedule.pk != row.schedule_id:
            # Another schedule: its first stop is announced anew.
            row.schedule, row.notice_sent_at = attachment.schedule, None
            row.save(update_fields=["schedule", "notice_sent_at"])
    have = set(rows.values_list("instance_id", flat=True))
    for pk, attachment in wanted.items():
        if pk not in have:
            try:
                with transaction.atomic():
                    ScheduledInstance.objects.create(
                        schedule=attachment.schedule, instance=attachment.instance, source="tag"
                    )
            except IntegrityError:
                pass  # another worker made it a moment ago
    return list(rows.select_related("instance__account__organization", "schedule__owner"))


# --- Overrides ---------------------------------------------------------------------------------


def keep_running_until(
    instance: Instance, until: datetime, user, *, now: datetime | None = None
) -> ScheduleOverride:
    """No scheduled stop of INSTANCE before UNTIL; the next run after it stops it if it is
    then outside the running periods. USER must be an operator (None: the system)."""
    organization = instance.account.organization
    if user is not None and not organization.user_has_role(user, Role.OPERATOR):
        raise PermissionDenied("Only operators and admins can keep an instance running.")
    if until is None or timezone.is_naive(until):
        raise ValidationError({"until": "Give the date and time with its time zone."})
    if until <= (now or timezone.now()):
        raise ValidationError({"until": "Keep it running until a moment in the future."})
    return ScheduleOverride.objects.create(
        instance=instance, until=until, created_by=user, created_at=now or timezone.now()
    )


# --- The run -----------------------------------------------------------------------------------


@dataclass
class ScheduleReport:
    dry_run: bool = False
    events: list[ScheduleEvent] = field(default_factory=list)
    would: list[str] = field(default_factory=list)
    notices: int = 0
    notes: list[str] = field(default_factory=list)

    def count(self, action: str, status: str) -> int:
        return sum(1 for e in self.events if e.action == action and e.status == status)

    def summary(self) -> str:
        if self.dry_run:
            return f"schedules (dry run): {len(self.would)} would act"
        return (
            f"schedules: {self.count(Action.START, Status.SUCCEEDED)} started, "
            f"{self.count(Action.STOP, Status.SUCCEEDED)} stopped, "
            f"{sum(e.status == Status.SKIPPED for e in self.events)} skipped, "
            f"{sum(e.status == Status.FAILED for e in self.events)} failed, "
            f"{self.notices} notice(s)"
        )


def run(now: datetime | None = None, *, dry_run: bool = False) -> ScheduleReport:
    """Execute the period boundaries due at NOW for every enabled schedule."""
    now = now or timezone.now()
    report = ScheduleReport(dry_run=dry_run)
    organizations = Organization.objects.filter(schedules__isnull=False).distinct()
    for organization in organizations:
        rows = _would_attach(organization) if dry_run else sync_attachments(organization)
        rows = [
            r
            for r in rows
            if r.schedule.enabled and r.instance.gone_at is None and r.instance.account.is_active
        ]
        if not rows:
            continue
        if not dry_run:
            _send_notices(organization, rows, now, report)
        _run_organization(organization, rows, now, dry_run, report)
    logger.info("%s", report.summary())
    return report


def _would_attach(organization) -> list[ScheduledInstance]:
    """The attachments as sync_attachments() would leave them, without writing anything."""
    existing = {
        row.instance_id: row
        for row in ScheduledInstance.objects.filter(schedule__organization=organization)
    }
    rows = []
    for a in attached_instances(organization):
        row = existing.get(a.instance.pk)
        if row is None or row.schedule_id != a.schedule.pk:
            row = ScheduledInstance(schedule=a.schedule, instance=a.instance, source=a.source)
        row.schedule, row.instance = a.schedule, a.instance
        rows.append(row)
    return rows


def _run_organization(organization, rows, now, dry_run, report) -> None:
    detection = DetectionSettings.for_organization(organization)
    plans: dict[int, list] = {}
    overrides = dict(
        ScheduleOverride.objects.filter(
            instance__in=[r.instance for r in rows], until__gt=now - timedelta(days=SEARCH_DAYS)
        )
        .values("instance")
        .annotate(last=Max("until"))
        .values_list("instance", "last")
    )
    for row in rows:
        schedule = row.schedule
        if schedule.pk not in plans:
            plans[schedule.pk] = periods_around(schedule, now, SEARCH_DAYS, 1)
        due = _due(row.instance, plans[schedule.pk], now, overrides.get(row.instance_id))
        if due is None:
            continue
        action, occurrence = due
        if action == Action.STOP and row.instance.state != "stopped" and not _announced(row, now):
            if dry_run:
                report.would.append(f"wait for the notice period to stop {row.instance}")
            continue  # the stop waits for its notice period
        earlier = ScheduleEvent.objects.filter(
            instance=row.instance, action=action, occurrence=occurrence
        ).first()
        if earlier is not None and not _retryable(earlier):
            continue
        if dry_run:
            report.would.append(f"{action} {row.instance} ({schedule.name})")
            continue
        event = _claim(row, action, occurrence, now) if earlier is None else _reclaim(earlier)
        if event is not None:
            report.events.append(_execute(event, row.instance, schedule, detection))


def _due(instance, spans, now, override_until) -> tuple[str, datetime] | None:
    """The boundary to execute for INSTANCE at NOW: (action, occurrence), or None."""
    for start, end in spans:
        if start <= now < end:
            return (Action.START, start) if instance.state in ("stopped", "running") else None
    ends = [end for _, end in spans if end <= now]
    if not ends or instance.state not in ("running", "stopped", "pending"):
        return None
    last_end = max(ends)
    if override_until is not None and override_until > now:
        return None  # kept running on purpose
    overridden = override_until is not None and override_until > last_end
    if now - last_end > STOP_LOOKBACK and not overridden:
        return None
    return (Action.STOP, last_end)


def _claim(row, action, occurrence, now) -> ScheduleEvent | None:
    try:
        with transaction.atomic():
            return ScheduleEvent.objects.create(
                instance=row.instance,
                schedule=row.schedule,
                action=action,
                occurrence=occurrence,
                created_at=now,
            )
    except IntegrityError:
        return None  # another worker claimed this boundary: it acts, we do not


def _retryable(event: ScheduleEvent) -> bool:
    return event.status == Status.FAILED and event.attempts < MAX_ATTEMPTS


def _reclaim(event: ScheduleEvent) -> ScheduleEvent | None:
    """Claim a failed boundary again: of two workers, the one whose update matches acts."""
    claimed = ScheduleEvent.objects.filter(
        pk=event.pk, status=Status.FAILED, attempts=event.attempts
    ).update(status=Status.CLAIMED, attempts=event.attempts + 1, finished_at=None)
    if not claimed:
        return None
    event.refresh_from_db()
    return event


def never_touched(instance, detection) -> str:
    """Why a schedule must leave INSTANCE alone ("" if it may stop and start it)."""
    if is_protected(instance, detection):
        return f"carries the protect tag {detection.protect_tag}"
    if instance.auto_scaling_group:
        return f"belongs to Auto Scaling group {instance.auto_scaling_group}"
    if instance.root_device_type == "instance-store":
        return "boots from an instance-store volume, which cannot be stopped"
    if instance.lifecycle == Instance.Lifecycle.SPOT:
        return "is a Spot Instance"
    return ""


def _execute(event, instance, schedule, detection) -> ScheduleEvent:
    target = "running" if event.action == Action.START else "stopped"
    if reason := never_touched(instance, detection):
        return _close(event, Status.SKIPPED, f"Left alone: {instance} {reason}.")
    if instance.state == target or (event.action == Action.STOP and instance.state == "stopping"):
        return _close(event, Status.SKIPPED, f"{instance} is already {instance.state}.")
    local = event.occurrence.astimezone(ZoneInfo(schedule.time_zone))
    boundary = "start" if event.action == Action.START else "end"
    note = f"Schedule {schedule.name}: period {boundary} {local:%Y-%m-%d %H:%M %Z}"
    act = stop_start.start_instance if event.action == Action.START else stop_start.stop_instance
    try:
        result = act(instance, schedule=schedule.name, note=note)
    except Exception as exc:
        logger.exception("scheduled %s of %s failed", event.action, instance)
        return _close(event, Status.FAILED, f"Internal error: {exc!r}")
    event.instance_action = result.record
    return _close(event, EVENT_STATUS[result.result], result.message)


def _close(event, status, message) -> ScheduleEvent:
    event.status, event.message, event.finished_at = status, message, timezone.now()
    event.save(update_fields=["status", "message", "finished_at", "instance_action"])
    return event


# --- The notice before the first stop ------------------------------------------------------------


def _announced(row: ScheduledInstance, now) -> bool:
    sent = row.notice_sent_at
    return sent is not None and now >= sent + timedelta(hours=settings.SCHEDULE_NOTICE_HOURS)


def recipients(schedule: Schedule) -> list[str]:
    """The schedule's owner and the organisation's operators and admins."""
    addresses = []
    owner = schedule.owner
    if owner is not None and owner.is_active:
        profile = getattr(owner, "profile", None)
        if profile is None or profile.email_enabled:
            address = profile.delivery_address if profile else owner.email
            if address:
                addresses.append(address)
    for address in operator_recipients(schedule.organization):
        if address not in addresses:
            addresses.append(address)
    return addresses


def _send_notices(organization, rows, now, report) -> None:
    pending: dict[int, list[ScheduledInstance]] = {}
    for row in rows:
        if row.notice_sent_at is None:
            pending.setdefault(row.schedule_id, []).append(row)
    for group in pending.values():
        schedule = group[0].schedule
        to = recipients(schedule)
        if not to:
            report.notes.append(
                f"Schedule {schedule.name}: nobody to notify, so its instances are not stopped."
            )
            continue
        # Claimed before sending: of two workers on the same tick, one sends the notice.
        group = [
            row
            for row in group
            if ScheduledInstance.objects.filter(pk=row.pk, notice_sent_at__isnull=True).update(
                notice_sent_at=now
            )
        ]
        if not group:
            continue
        try:
            send_mail(
                subject=f"[Spendlens] Schedule {schedule.name} will stop instances",
                message=render_notice(schedule, [r.instance for r in group], now),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=to,
            )
        except Exception as exc:  # whatever the e-mail backend raises
            logger.exception("schedule notice for %s failed", schedule.name)
            report.notes.append(f"Schedule {schedule.name}: notice e-mail failed ({exc}).")
            # Not sent, so not recorded: the next run tries again, and the stops wait.
            ScheduledInstance.objects.filter(pk__in=[r.pk for r in group]).update(
                notice_sent_at=None
            )
            continue
        for row in group:
            row.notice_sent_at = now
        report.notices += 1


def render_notice(schedule, instances, now) -> str:
    zone = ZoneInfo(schedule.time_zone)
    earliest = (now + timedelta(hours=settings.SCHEDULE_NOTICE_HOURS)).astimezone(zone)
    lines = [
        f"Schedule {schedule.name} ({schedule.organization}) runs instances only during its "
        f"periods ({schedule.time_zone}) and stops them outside.",
        "",
        "These instances now follow it:",
        *(f"- {i} ({i.instance_type}, {i.region})" for i in instances),
        "",
        f"Their first scheduled stop is not before {earliest:%Y-%m-%d %H:%M %Z}.",
        "To keep one out, remove its spendlens:schedule tag or its attachment, or keep it "
        "running with an override.",
    ]
    return "\n".join(lines) + "\n"
