"""What was done about the findings: the stop/start audit log, realised savings, auto-stop.

The tables were created by the costs app and keep its names (costs_instanceaction, ...): the
models moved here with SeparateDatabaseAndState (actions/migrations/0001), no row was copied.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import CloudAccount, Organization, TenantQuerySet
from findings.models import Recommendation
from fleet.models import Instance


class AppendOnlyQuerySet(TenantQuerySet):
    """An audit trail is only ever added to: bulk edits and deletes are refused outright.

    (Deleting the organisation or account still cascades at the SQL level, which is the one
    way audit rows leave: with the tenant they describe.)
    """

    def update(self, **kwargs):
        raise TypeError("The instance action log is append-only: rows cannot be updated.")

    def delete(self):
        raise TypeError("The instance action log is append-only: rows cannot be deleted.")


class InstanceAction(models.Model):
    """One attempt to stop or start an instance, whoever asked and however it ended.

    Written once, when the attempt is over (see actions/stop_start.py); refusals are written too, so
    the log answers "who tried what, and why did it (not) happen".
    """

    tenant_path = "organization"
    AUTO_STOP_ACTOR = "auto-stop policy"
    SCHEDULE_ACTOR = "schedule"  # followed by the schedule's name

    class Action(models.TextChoices):
        STOP = "stop"
        START = "start"

    class Result(models.TextChoices):
        SUCCEEDED = "succeeded"
        REFUSED = "refused", "refused by Spendlens"
        FAILED = "failed", "failed (AWS error)"
        NO_OP = "no_op", "nothing to do"
        DRY_RUN = "dry_run", "dry run (nothing changed)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="instance_actions"
    )
    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="instance_actions"
    )
    # The instance row may be gone one day; the AWS ID below keeps the record readable.
    instance = models.ForeignKey(
        Instance, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions"
    )
    aws_instance_id = models.CharField("instance ID", max_length=32)
    region = models.CharField(max_length=32)
    action = models.CharField(max_length=5, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="instance_actions",
    )
    actor_label = models.CharField(
        max_length=150,
        help_text='The username at the time, "auto-stop policy" or "schedule <name>".',
    )
    recommendation = models.ForeignKey(
        Recommendation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
    )
    reason = models.CharField(max_length=300, blank=True)
    monthly_saving = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text="What this stop saves a month while the instance stays stopped: the figure of "
        "the recommendation it applied (0 when it applied none). Realised savings accrue from it.",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices)
    message = models.TextField(blank=True)
    error_code = models.CharField("AWS error code", max_length=100, blank=True)
    state_before = models.CharField(max_length=16, blank=True)
    state_after = models.CharField(max_length=16, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "costs_instanceaction"  # created by the costs app
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-requested_at"], name="action_org_recent"),
            models.Index(fields=["instance", "-requested_at"], name="action_instance_recent"),
        ]

    def __str__(self):
        return f"{self.action} {self.aws_instance_id} by {self.actor_label}: {self.result}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The instance action log is append-only: rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The instance action log is append-only: rows cannot be deleted.")


class FixManager(models.Manager.from_queryset(AppendOnlyQuerySet)):
    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .filter(
                action=InstanceAction.Action.STOP,
                result=InstanceAction.Result.SUCCEEDED,
                monthly_saving__gt=0,
            )
        )


class RealisedSaving(InstanceAction):
    """The fixes in the action log: stops that applied a recommendation (actions/realised.py)."""

    objects = FixManager()

    class Meta:
        proxy = True
        verbose_name = "realised saving"


class AutoStopPolicy(models.Model):
    """Opt-in, per account: stop instances idle this long, after warning their operators."""

    tenant_path = "account__organization"

    account = models.OneToOneField(
        CloudAccount, on_delete=models.CASCADE, related_name="auto_stop_policy"
    )
    enabled = models.BooleanField(default=False)
    idle_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days an idle recommendation must have stood open before the announcement.",
    )
    grace_hours = models.PositiveSmallIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="Hours between the announcement e-mail and the stop.",
    )
    dry_run = models.BooleanField(
        default=True,
        help_text="Announce and report what would be stopped, but never stop anything.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        db_table = "costs_autostoppolicy"  # created by the costs app
        verbose_name = "auto-stop policy"
        verbose_name_plural = "auto-stop policies"
        ordering = ["account"]

    def __str__(self):
        return f"Auto-stop policy of {self.account}"

    @classmethod
    def for_account(cls, account) -> AutoStopPolicy:
        policy, _ = cls.objects.get_or_create(account=account)
        return policy


class AutoStopNotice(models.Model):
    """One announced auto-stop: which idle recommendation, when warned, when due, outcome."""

    tenant_path = "account__organization"

    class Status(models.TextChoices):
        PENDING = "pending", "announced, waiting for the grace period"
        STOPPING = "stopping", "being stopped now"
        STOPPED = "stopped"
        WOULD_STOP = "would_stop", "would have been stopped (dry run)"
        CANCELLED = "cancelled"
        FAILED = "failed"

    account = models.ForeignKey(
        CloudAccount, on_delete=models.CASCADE, related_name="auto_stop_notices"
    )
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.CASCADE, related_name="auto_stop_notices"
    )
    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, related_name="auto_stop_notices"
    )
    dry_run = models.BooleanField(
        help_text="Announced in dry-run mode: a real run never stops on a dry-run announcement."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    announced_at = models.DateTimeField(default=timezone.now)
    stop_after = models.DateTimeField()
    recipients = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    action = models.ForeignKey(
        InstanceAction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The stop attempt this notice led to.",
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        db_table = "costs_autostopnotice"  # created by the costs app
        constraints = [
            # One announcement per recommendation and mode, ever: the same idle spell is never
            # announced (or stopped) twice; a new spell opens a new recommendation.
            models.UniqueConstraint(
                fields=["recommendation", "dry_run"], name="one_auto_stop_notice_per_recommendation"
            ),
        ]
        indexes = [models.Index(fields=["account", "status"], name="autostop_account_status")]
        ordering = ["-announced_at"]

    def __str__(self):
        return f"Auto-stop of {self.instance} ({self.get_status_display()})"


# --- Instance schedules (actions/schedules.py runs them) -------------------------------------


def _parse_hhmm(value):
    """A time of day from "HH:MM" (00:00-23:59, or 24:00 as an end), or None if malformed."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return (24, 0)
    if h > 23 or m > 59:
        return None
    return (h, m)


def period_errors(periods) -> list[str]:
    """What is wrong with PERIODS (the JSON of Schedule.periods), in words; [] when nothing."""
    if not isinstance(periods, list) or not periods:
        return [
            "Add at least one running period, e.g. "
            '[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}].'
        ]
    errors, spans = [], {day: [] for day in range(7)}
    for n, period in enumerate(periods, start=1):
        if not isinstance(period, dict) or set(period) != {"days", "start", "end"}:
            errors.append(
                f'Period {n}: write it as {{"days": [...], "start": "HH:MM", "end": "HH:MM"}}.'
            )
            continue
        days = period["days"]
        if (
            not isinstance(days, list)
            or not days
            or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days)
            or len(set(days)) != len(days)
        ):
            errors.append(
                f"Period {n}: days must be a non-empty list of distinct weekdays "
                "0-6 (0 = Monday, 6 = Sunday)."
            )
            continue
        start, end = _parse_hhmm(period["start"]), _parse_hhmm(period["end"])
        bad = [f"{k} {period[k]!r}" for k, v in (("start", start), ("end", end)) if v is None]
        if start == (24, 0):
            bad.append("start '24:00'")
        if bad:
            errors.append(
                f"Period {n}: {', '.join(bad)} is not a time of day written HH:MM "
                "(00:00 to 23:59; 24:00 only as an end)."
            )
            continue
        if end <= start:
            errors.append(
                f"Period {n}: the end {period['end']} must be after the start "
                f"{period['start']}. Overnight periods are not supported: split one "
                "into an evening period and a morning period of the next day."
            )
            continue
        for day in days:
            for other, (s, e) in spans[day]:
                if start < e and s < end:
                    errors.append(
                        f"Periods {other} and {n} overlap on "
                        f"{WEEKDAYS[day]}: merge them into one period."
                    )
            spans[day].append((n, (start, end)))
    return errors


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def holiday_errors(holidays) -> list[str]:
    from datetime import date

    if not isinstance(holidays, list):
        return ['Holidays are a list of dates written YYYY-MM-DD, e.g. ["2026-12-25"].']
    bad = []
    for value in holidays:
        try:
            date.fromisoformat(value)
            ok = isinstance(value, str) and len(value) == 10
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad.append(repr(value))
    if bad:
        return [f"Not a date written YYYY-MM-DD: {', '.join(bad)}."]
    return []


class Schedule(models.Model):
    """When an organisation's instances run (local time); outside the periods they are stopped.

    The name is also the value of the spendlens:schedule tag that attaches instances to it.
    """

    tenant_path = "organization"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="schedules"
    )
    name = models.CharField(
        max_length=100,
        help_text="Unique in the organisation; instances tagged spendlens:schedule=<name> follow "
        "it.",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Berlin."
    )
    periods = models.JSONField(
        default=list,
        help_text='When instances RUN, local time: [{"days": [0, 1, 2, 3, 4], "start": "08:00", '
        '"end": "18:00"}] (0 = Monday). No overnight periods.',
    )
    holidays = models.JSONField(
        default=list,
        blank=True,
        help_text='Local dates on which instances stay stopped all day: ["2026-12-25"].',
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="instance_schedules",
        help_text="Receives the notice before an instance's first scheduled stop.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="unique_schedule_name_per_organization"
            ),
        ]
        ordering = ["organization", "name"]

    def __str__(self):
        return f"{self.name} ({self.time_zone})"

    def save(self, *args, **kwargs):
        # Whoever saves (admin, shell, a future API), an invalid schedule never reaches the run.
        self.full_clean()
        super().save(*args, **kwargs)

    def clean(self):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        errors = {}
        try:
            if not self.time_zone or self.time_zone != self.time_zone.strip():
                raise ValueError
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            errors["time_zone"] = (
                f"{self.time_zone!r} is not an IANA time zone; write e.g. Europe/Berlin, "
                "America/New_York or UTC."
            )
        if problems := period_errors(self.periods):
            errors["periods"] = problems
        if problems := holiday_errors(self.holidays):
            errors["holidays"] = problems
        if errors:
            raise ValidationError(errors)


class ScheduledInstance(models.Model):
    """An instance following a schedule: attached by hand, or through its tag."""

    tenant_path = "schedule__organization"

    class Source(models.TextChoices):
        MANUAL = "manual"
        TAG = "tag"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="attachments")
    instance = models.OneToOneField(
        Instance,
        on_delete=models.CASCADE,
        related_name="schedule_attachment",
        help_text="An instance follows one schedule.",
    )
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.MANUAL)
    notice_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the notice before its first scheduled stop went out.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["schedule", "instance"]

    def __str__(self):
        return f"{self.instance} follows {self.schedule.name}"

    def clean(self):
        if (
            self.schedule_id
            and self.instance_id
            and self.instance.account.organization_id != self.schedule.organization_id
        ):
            raise ValidationError(
                {"instance": "The instance belongs to another organisation than the schedule."}
            )


class ScheduleOverride(models.Model):
    """ "Keep running until": no scheduled stop of the instance before UNTIL."""

    tenant_path = "instance__account__organization"

    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, related_name="schedule_overrides"
    )
    until = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-until"]

    def __str__(self):
        return f"Keep {self.instance} running until {self.until:%Y-%m-%d %H:%M} UTC"


class ScheduleEvent(models.Model):
    """One period boundary executed for one instance: the claim, then its outcome.

    UNIQUE (instance, action, occurrence): of two workers running the same tick, only the one
    whose insert wins acts; the other sees the IntegrityError and moves on.
    """

    tenant_path = "schedule__organization"

    class Action(models.TextChoices):
        STOP = "stop"
        START = "start"

    class Status(models.TextChoices):
        CLAIMED = "claimed", "claimed (in progress)"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="schedule_events")
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=5, choices=Action.choices)
    occurrence = models.DateTimeField(help_text="The period boundary (UTC) this executes.")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.CLAIMED)
    attempts = models.PositiveSmallIntegerField(
        default=1,
        help_text="A failed stop or start is tried again while it is due, 3 times in all.",
    )
    message = models.TextField(blank=True)
    instance_action = models.ForeignKey(
        InstanceAction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The stop or start attempt, in the action log.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "action", "occurrence"], name="one_schedule_event_per_boundary"
            ),
        ]
        indexes = [models.Index(fields=["schedule", "-occurrence"], name="schedevent_recent")]
        ordering = ["-occurrence", "-pk"]

    def __str__(self):
        return (
            f"{self.action} {self.instance} at {self.occurrence:%Y-%m-%d %H:%M} UTC: {self.status}"
        )
