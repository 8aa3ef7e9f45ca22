"""The opt-in auto-stop policy: announce, wait out the grace period, re-check, then stop.

For an account whose AutoStopPolicy is enabled, each run:

1. Retires pending announcements made in the other mode: when the policy switches from dry
   run to real, people were only told "would stop", so a real stop needs a new announcement
   and a new grace period.
2. Settles announcements whose grace period is over. A recommendation that is no longer open
   (someone dismissed it, or detection resolved it) cancels the stop. Otherwise the stop goes
   through stop_start.stop_instance(auto=True), which reads tags and state from a fresh
   DescribeInstances right before stopping: a protect tag added meanwhile refuses it there.
3. Announces new candidates: open idle-instance recommendations that have stood for at least
   idle_days, whose instance is running, not protected and not in an Auto Scaling group, and
   whose evidence rests on measured network traffic (idle.network_was_measured): a
   recommendation from before network coverage was tracked waits for the next detection.
4. E-mails the organisation's operators and admins what it announced, stopped, cancelled or
   would have stopped. No announcement is recorded unless its e-mail went out, and none is
   made when nobody can receive it: a stop must never come unannounced.

Each idle recommendation is announced at most once per mode (a database constraint), so one
idle spell never leads to two stops; a new spell opens a new recommendation. Settling comes
before announcing, so even a one-hour grace period spans at least one run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, Profile, Role
from actions import stop_start
from actions.models import AutoStopNotice, AutoStopPolicy, InstanceAction
from findings.idle import is_protected, network_was_measured
from findings.models import DetectionSettings, Recommendation

logger = logging.getLogger(__name__)

Status = AutoStopNotice.Status
# What a stop attempt's result means for the announcement that led to it.
NOTICE_STATUS = {
    InstanceAction.Result.SUCCEEDED: Status.STOPPED,
    InstanceAction.Result.DRY_RUN: Status.WOULD_STOP,
    InstanceAction.Result.NO_OP: Status.CANCELLED,
    InstanceAction.Result.REFUSED: Status.CANCELLED,
    InstanceAction.Result.FAILED: Status.FAILED,
}


@dataclass
class AutoStopReport:
    account_id: str
    enabled: bool = False
    dry_run: bool = False
    announced: list[AutoStopNotice] = field(default_factory=list)
    settled: list[AutoStopNotice] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def settled_as(self, status: str) -> list[AutoStopNotice]:
        return [notice for notice in self.settled if notice.status == status]

    def summary(self) -> str:
        if not self.enabled:
            return f"{self.account_id}: auto-stop is not enabled"
        counts = ", ".join(
            f"{len(self.settled_as(status))} {status.label}"
            for status in (Status.STOPPED, Status.WOULD_STOP, Status.CANCELLED, Status.FAILED)
            if self.settled_as(status)
        )
        mode = " (dry run)" if self.dry_run else ""
        return f"{self.account_id}{mode}: {len(self.announced)} announced" + (
            f", {counts}" if counts else ""
        )


def run(account, *, dry_run: bool = False, now=None) -> AutoStopReport:
    """One auto-stop pass over ACCOUNT; DRY_RUN forces dry-run mode whatever the policy says."""
    now = now or timezone.now()
    report = AutoStopReport(account_id=account.account_id)
    policy = AutoStopPolicy.objects.filter(account=account).first()
    if policy is None or not policy.enabled or not account.is_active:
        return report
    report.enabled = True
    report.dry_run = dry = dry_run or policy.dry_run
    _retire_other_mode(account, dry, now)
    for notice in _due(account, dry, now):
        report.settled.append(_settle(notice, now))
    report.recipients = recipients(account.organization)
    candidates = _candidates(account, policy, dry, now)
    if candidates and not report.recipients:
        report.notes.append(
            f"{len(candidates)} idle instance(s) not announced: no operator or admin of "
            f"{account.organization} has an e-mail address for notices."
        )
        candidates = []
    _announce_and_mail(account, policy, candidates, dry, now, report)
    logger.info("auto-stop %s", report.summary())
    return report


# --- Steps ----------------------------------------------------------------------------------


def _retire_other_mode(account, dry: bool, now) -> None:
    AutoStopNotice.objects.filter(account=account, status=Status.PENDING).exclude(
        dry_run=dry
    ).update(
        status=Status.CANCELLED,
        finished_at=now,
        outcome="Superseded: the policy's dry-run setting changed after the announcement.",
    )


def _due(account, dry: bool, now) -> list[AutoStopNotice]:
    due = AutoStopNotice.objects.filter(
        account=account, status=Status.PENDING, dry_run=dry, stop_after__lte=now
    ).select_related("recommendation", "instance", "instance__account__organization")
    claimed = []
    for notice in due:
        # Claim it: of two runs racing on the same account, only one moves it on.
        if AutoStopNotice.objects.filter(pk=notice.pk, status=Status.PENDING).update(
            status=Status.STOPPING
        ):
            claimed.append(notice)
    return claimed


def _settle(notice: AutoStopNotice, now) -> AutoStopNotice:
    rec = notice.recommendation
    rec.refresh_from_db(fields=["status", "dismissed_reason"])
    if rec.status != Recommendation.Status.OPEN:
        why = f": {rec.dismissed_reason}" if rec.dismissed_reason else ""
        return _close(notice, Status.CANCELLED, f"Not stopped: recommendation {rec.status}{why}.")
    try:
        result = stop_start.stop_instance(
            notice.instance,
            reason=rec,
            note=f"Idle since {rec.created_at:%Y-%m-%d}, announced "
            f"{notice.announced_at:%Y-%m-%d %H:%M} UTC",
            auto=True,
            dry_run=notice.dry_run,
        )
    except Exception as exc:
        # Already in the action log; one broken instance must not hold up the others.
        logger.exception("auto-stop of %s failed", notice.instance)
        return _close(notice, Status.FAILED, f"Internal error: {exc!r}")
    notice.action = result.record
    return _close(notice, NOTICE_STATUS[result.result], result.message)


def _close(notice: AutoStopNotice, status: str, outcome: str) -> AutoStopNotice:
    notice.status, notice.outcome, notice.finished_at = status, outcome, timezone.now()
    notice.save(update_fields=["status", "outcome", "finished_at", "action"])
    return notice


def _candidates(account, policy, dry: bool, now) -> list[Recommendation]:
    detection = DetectionSettings.for_organization(account.organization)
    recs = (
        Recommendation.objects.open()
        .filter(
            account=account,
            kind=Recommendation.Kind.IDLE_INSTANCE,
            created_at__lte=now - timedelta(days=policy.idle_days),
            instance__gone_at__isnull=True,
        )
        .exclude(auto_stop_notices__dry_run=dry)
        .select_related("instance")
        .order_by("created_at")
    )
    return [
        rec
        for rec in recs
        if rec.instance.state == "running"
        and not is_protected(rec.instance, detection)
        and not rec.instance.auto_scaling_group
        and network_was_measured(rec.evidence)
    ]


def _announce_and_mail(account, policy, candidates, dry, now, report) -> None:
    stop_after = now + timedelta(hours=policy.grace_hours)
    try:
        # The announcements exist only if the e-mail announcing them was handed over.
        with transaction.atomic():
            for rec in candidates:
                notice = _announce(account, rec, dry, now, stop_after, report.recipients)
                if notice is not None:
                    report.announced.append(notice)
            if report.announced or report.settled:
                _mail(account, report, stop_after)
    except Exception as exc:  # whatever the e-mail backend raises (SMTP, SES, ...)
        logger.exception("auto-stop e-mail for %s failed", account.account_id)
        report.notes.append(f"E-mail failed ({exc}); nothing announced this run.")
        report.announced = []


def _announce(account, rec, dry, now, stop_after, to) -> AutoStopNotice | None:
    try:
        with transaction.atomic():
            return AutoStopNotice.objects.create(
                account=account,
                recommendation=rec,
                instance=rec.instance,
                dry_run=dry,
                announced_at=now,
                stop_after=stop_after,
                recipients=to,
            )
    except IntegrityError:
        return None  # another run announced it a moment ago


# --- E-mail ---------------------------------------------------------------------------------


def recipients(organization) -> list[str]:
    """Operators' and admins' notice addresses (their profile's, else the account's)."""
    members = Membership.objects.filter(
        organization=organization,
        role__in=[Role.OPERATOR, Role.ADMIN],
        user__is_active=True,
    ).select_related("user")
    profiles = {p.user_id: p for p in Profile.objects.filter(user__in=[m.user_id for m in members])}
    addresses = []
    for member in members:
        profile = profiles.get(member.user_id)
        if profile is not None and not profile.email_enabled:
            continue
        address = profile.delivery_address if profile else member.user.email
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def _mail(account, report: AutoStopReport, stop_after) -> None:
    mode = "[dry run] " if report.dry_run else ""
    send_mail(
        subject=f"[Spendlens] {mode}Auto-stop in {account}",
        message=render(account, report, stop_after),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=report.recipients,
    )


def render(account, report: AutoStopReport, stop_after) -> str:
    detection = DetectionSettings.for_organization(account.organization)
    lines = [f"Auto-stop policy of AWS account {account} ({account.organization})."]
    if report.dry_run:
        lines.append("DRY RUN: nothing is stopped; this is what the policy would do.")
    if report.announced:
        verb = "would be stopped" if report.dry_run else "will be stopped"
        lines += [
            "",
            f"These idle instances {verb} after {stop_after:%Y-%m-%d %H:%M} UTC:",
            *(
                f"- {n.instance} ({n.instance.instance_type}, {n.instance.region}): idle since "
                f"{n.recommendation.created_at:%Y-%m-%d}, saves about "
                f"${n.recommendation.monthly_saving}/month"
                for n in report.announced
            ),
            "",
            "To keep one running, dismiss its recommendation in Spendlens or tag the instance "
            f"{detection.protect_tag} in AWS before then.",
        ]
    for status, title in (
        (Status.STOPPED, "Stopped"),
        (Status.WOULD_STOP, "Would have stopped (dry run)"),
        (Status.CANCELLED, "Not stopped"),
        (Status.FAILED, "Failed to stop"),
    ):
        settled = report.settled_as(status)
        if settled:
            lines += ["", f"{title}:", *(f"- {n.instance}: {n.outcome}" for n in settled)]
    return "\n".join(lines) + "\n"
