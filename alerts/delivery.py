"""Raising alerts and delivering them by e-mail, at most once per cooldown.

An Alert becomes one AlertEvent per member of its organisation (and only its organisation).
deliver() then claims the event (a conditional UPDATE, so two workers never both take it),
claims the cooldown for (user, kind, subject) the same way, and only then sends. Two workers
racing on two events of the same subject therefore send exactly one e-mail; the other event
is recorded as suppressed. A failed send releases the cooldown and is retried later without
touching events already sent.

Raising is guarded too. The rules look up whether an alert was already raised before building
it; two checks running at once would both find nothing and both raise it. So an alert whose
subject names one occurrence (a budget's month and threshold, a service's day) is checked again
by raise_alert() while it holds its organisation's turn (raising()), and the scheduled checks
hold that turn for a whole organisation's rules (alerts/tasks.py).

Chat channels and webhooks get the same alert in the same turn and are delivered by
deliver_pending() after the e-mails, with the same guarantees (alerts/channel_delivery.py).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization, Profile
from alerts import channel_delivery, cooldowns
from alerts.models import AlertEvent, AlertKind, ChannelDelivery, Cooldown
from alerts.weekly_email import render_email as render_weekly_report

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
Status = AlertEvent.Status
# Kinds whose subject names a single occurrence: raised once, ever, whoever checks.
ONCE_PER_SUBJECT = frozenset(
    {
        AlertKind.BUDGET,
        AlertKind.COST_SPIKE,
        AlertKind.COMMITMENT_EXPIRING,
        AlertKind.COMMITMENT_UNDERUSED,
        AlertKind.COVERAGE_DROPPING,
    }
)
# A channel (unlike a person, who may join the week's report on a later weekday) takes the
# weekly report once per subject: later runs that week only add members.
ONCE_PER_CHANNEL = ONCE_PER_SUBJECT | {AlertKind.WEEKLY_REPORT}


@dataclass
class Alert:
    organization: object
    kind: str
    subject: str
    title: str
    lines: list[str] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)
    link: str = ""  # a dashboard page about it, which every member can open
    admin_link: str = ""  # the admin page about it, for staff allowed to view it
    admin_permission: str = ""  # the permission that page needs, e.g. "costs.view_budget"
    # Only these members (user ids), e.g. those following a team's value; None: every member.
    users: frozenset | None = None
    # Routing facts for channels (alerts/channel_delivery.py): the connected accounts (pks)
    # and the (dimension pk, value) the alert is about; None: it names none.
    account_ids: frozenset | None = None
    allocation: tuple[int, str] | None = None

    def link_for(self, user) -> str:
        """The page USER can open: a member who is not staff would meet the admin's login."""
        if self.admin_link and user.is_staff and user.has_perm(self.admin_permission):
            return self.admin_link
        return self.link


def recipients(organization) -> list[tuple[object, Profile]]:
    """Active members of ORGANIZATION who have an address, with their profiles."""
    members = (
        Membership.objects.filter(organization=organization, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    found = []
    for membership in members:
        profile = Profile.for_user(membership.user)
        if profile.delivery_address:
            found.append((membership.user, profile))
    return found


@contextmanager
def raising(organization):
    """A transaction in which ORGANIZATION's alerts are raised by nobody else.

    Its row is locked until commit (NO KEY UPDATE: rows that merely reference the organisation
    are still written freely), so the next raiser waits, then sees every event raised here.
    """
    with transaction.atomic():
        Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        yield


def raise_alert(alert: Alert, now=None) -> list[AlertEvent]:
    """Record ALERT for every recipient: pending, or skipped where they turned it off; and
    for every chat channel or webhook that takes it (alerts/channel_delivery.py).

    An alert of a ONCE_PER_SUBJECT kind that is already raised is not raised again (nothing is
    returned), even when another worker raised it after the caller last looked.
    """
    with raising(alert.organization):
        if alert.kind in ONCE_PER_SUBJECT and already_raised(
            alert.organization, alert.kind, alert.subject[:200]
        ):
            return []
        return _record(alert, now or timezone.now())


def _record(alert: Alert, now) -> list[AlertEvent]:
    channel_delivery.record(alert, now, once=alert.kind in ONCE_PER_CHANNEL)
    events = []
    for user, profile in recipients(alert.organization):
        if alert.users is not None and user.pk not in alert.users:
            continue
        wanted = profile.email_enabled and alert.kind not in (profile.muted_alert_kinds or [])
        events.append(
            AlertEvent(
                organization=alert.organization,
                kind=alert.kind,
                subject=alert.subject[:200],
                title=alert.title[:300],
                recipient=user,
                address=profile.delivery_address,
                status=Status.PENDING if wanted else Status.SKIPPED,
                evidence={"lines": alert.lines, **alert.evidence},
                link=alert.link_for(user),
                created_at=now,
                updated_at=now,
            )
        )
    return AlertEvent.objects.bulk_create(events)


def already_raised(organization, kind: str, subject: str, since=None) -> bool:
    """Whether it was raised: to a member, or to a channel (an organisation may have only
    channels, and then no AlertEvent says it was raised)."""
    found = {"organization": organization, "kind": kind, "subject": subject}
    if since is not None:
        found["created_at__gte"] = since
    return (
        AlertEvent.objects.filter(**found).exists()
        or ChannelDelivery.objects.filter(**found).exists()
    )


def _claim_cooldown(event: AlertEvent, minutes: int, now) -> bool:
    """Atomically take the (user, kind, subject) cooldown; False if it is still running."""
    key = {"user_id": event.recipient_id, "kind": event.kind, "subject": event.subject}
    taken = {"until": now + timedelta(minutes=minutes)}
    return cooldowns.claim(Cooldown, key, taken, free=Q(until__lte=now))


def _release_cooldown(event: AlertEvent, now) -> None:
    Cooldown.objects.filter(
        user_id=event.recipient_id, kind=event.kind, subject=event.subject
    ).update(until=now)


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path if path else ""


# Evidence keys stay machine-readable (the API returns them); e-mails show them to people.
MONEY_KEYS = frozenset(
    {
        "monthly_amount",
        "actual_month_to_date",
        "forecast_month_end",
        "daily_rate",
        "cost",
        "baseline_median_14_days",
        "threshold",
        "increase",
        "monthly_saving",
        "monthly_saving_total",
        "this_week",
        "last_week",
        "change",
        "month_to_date",
    }
)
LABELS = {
    "baseline_median_14_days": "Baseline median (14 days)",
    "max_daily_network_mb": "Max daily network (MB)",
    "avg_cpu": "Average CPU %",
    "max_cpu": "Max CPU %",
    "max_daily_cpu_avg": "Max daily CPU average %",
    "max_hourly_cpu_avg": "Max hourly CPU average %",
    "coverage_percent": "Coverage %",
    "monthly_saving_total": "Monthly saving, total",
}


def evidence_rows(evidence: dict) -> list[tuple[str, str]]:
    """(label, value) pairs for people: "Monthly saving total: $161.81", not snake_case."""
    rows = []
    for key, value in evidence.items():
        if key == "lines" or isinstance(value, dict):  # a nested record (the weekly report)
            continue
        label = LABELS.get(key) or key.replace("_", " ").capitalize()
        rows.append((label, _shown(key, value)))
    return rows


def _shown(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if key in MONEY_KEYS:
        try:
            return f"${Decimal(str(value)).quantize(Decimal('0.01')):,}"
        except InvalidOperation:
            return str(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


def render(event: AlertEvent) -> EmailMultiAlternatives:
    if event.kind == AlertKind.WEEKLY_REPORT:
        return render_weekly_report(event)
    context = {
        "event": event,
        "lines": event.evidence.get("lines", []),
        "evidence": evidence_rows(event.evidence),
        "link": absolute(event.link),
        "preferences_url": absolute(reverse("profile")) + "#alerts",
    }
    message = EmailMultiAlternatives(
        subject=f"[Spendlens] {event.title}",
        body=render_to_string("alerts/email.txt", context),
        to=[event.address],
        headers={"X-Spendlens-Alert": f"{event.kind} {event.pk}"},
    )
    message.attach_alternative(render_to_string("alerts/email.html", context), "text/html")
    return message


def deliver(event_id: int, now=None) -> str | None:
    """Send one event if nobody else is and the cooldown allows; returns its final status."""
    now = now or timezone.now()
    claimed = AlertEvent.objects.filter(
        pk=event_id, status__in=[Status.PENDING, Status.FAILED], attempts__lt=MAX_ATTEMPTS
    ).update(status=Status.SENDING, attempts=F("attempts") + 1, updated_at=now)
    if not claimed:
        return None
    event = AlertEvent.objects.select_related("recipient").get(pk=event_id)
    profile = Profile.for_user(event.recipient)
    if not _claim_cooldown(event, profile.cooldown_minutes, now):
        event.status = Status.SUPPRESSED
    else:
        try:
            render(event).send()
        except Exception as exc:  # any backend error is recorded and retried later
            _release_cooldown(event, now)
            event.status, event.error = Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
            logger.warning("alert %s to %s failed: %s", event.pk, event.address, event.error)
        else:
            event.status, event.sent_at, event.error = Status.SENT, timezone.now(), ""
    event.updated_at = timezone.now()
    event.save(update_fields=["status", "sent_at", "error", "updated_at"])
    return str(event.status)


def deliver_pending(organization=None) -> dict[str, int]:
    """Deliver every pending event and retry failed ones, then the due channel deliveries;
    counts by final status (channels' prefixed "channel_")."""
    events = AlertEvent.objects.filter(
        status__in=[Status.PENDING, Status.FAILED], attempts__lt=MAX_ATTEMPTS
    )
    if organization is not None:
        events = events.filter(organization=organization)
    counts: dict[str, int] = {}
    for event_id in events.order_by("created_at").values_list("pk", flat=True):
        status = deliver(event_id)
        if status:
            counts[status] = counts.get(status, 0) + 1
    counts.update(channel_delivery.deliver_due(organization))
    return counts
