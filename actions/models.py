"""What was done about the findings: the stop/start audit log, realised savings, auto-stop.

The tables were created by the costs app and keep its names (costs_instanceaction, ...): the
models moved here with SeparateDatabaseAndState (actions/migrations/0001), no row was copied.
"""

from __future__ import annotations

from django.conf import settings
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
        max_length=150, help_text='The username at the time, or "auto-stop policy".'
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
