"""Delivering alerts to chat channels and webhooks with the guarantees e-mail has.

alerts/delivery.py calls in here: raise_alert() records one ChannelDelivery per matching
active channel (routes()) in the same raising() transaction as the e-mail events, and
deliver_pending() drives due channel deliveries after the e-mails, so the existing tasks and
schedules deliver them too.

deliver_channel() mirrors deliver():
- the claim is a conditional UPDATE (pending/failed, due, attempts left) to sending, so of two
  workers only one ever posts a delivery;
- the (channel, kind, subject) cooldown is claimed with UPDATE-or-unique-INSERT; a running one
  makes the delivery suppressed;
- 2xx: sent. 5xx, 429, a timeout or a refused connection: failed, retried after a backoff
  (1, 2, 4, 8, 16 minutes...), its cooldown released. Any other answer (4xx, a 3xx, which is
  never followed) or a URL the outbound guard refuses: gave_up at once, as retrying cannot help.
  Running out of attempts is gave_up too.
- The receiver's status and a short excerpt of its answer are recorded (HTML reduced to its
  text), with the channel's URL and key blanked out of anything stored or logged.

A worker killed while posting leaves a row in sending; deliver_pending() turns rows sending
for longer than STALE_AFTER (far beyond the outbound timeouts) back into failed, releasing the
cooldown they held. The killed worker may have reached the receiver before dying: delivery is
at least once in that case, and every request carries X-Spendlens-Delivery (the delivery's id,
the same on every retry) for the receiver to drop a repeat.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.html import strip_tags

from alerts import channel_messages, cooldowns, outbound
from alerts.channel_models import TEST_KIND, Channel, ChannelCooldown, ChannelDelivery
from alerts.models import AlertKind

logger = logging.getLogger(__name__)

Status = ChannelDelivery.Status
MAX_ATTEMPTS = 6
MAX_BACKOFF_MINUTES = 60
STALE_AFTER = timedelta(minutes=5)
TIMEOUT_SECONDS = outbound.TIMEOUT_SECONDS
EXCERPT_CHARS = 200
DELIVERY_HEADER = "X-Spendlens-Delivery"


# --- Routing -------------------------------------------------------------------------------


def matches(channel: Channel, alert, account_ids: set[int]) -> bool:
    """Whether CHANNEL takes ALERT; ACCOUNT_IDS are the channel's account filter."""
    if channel.kinds and alert.kind not in channel.kinds:
        return False
    if account_ids and not (alert.account_ids and account_ids & set(alert.account_ids)):
        return False
    if channel.dimension_id:
        if alert.allocation is None or alert.allocation[0] != channel.dimension_id:
            return False
        if channel.dimension_values and alert.allocation[1] not in channel.dimension_values:
            return False
    return True


def routes(alert) -> list[Channel]:
    """The active channels of ALERT's organisation that take it."""
    channels = Channel.objects.filter(organization=alert.organization, active=True)
    found = []
    for channel in channels.prefetch_related("accounts").order_by("pk"):
        if matches(channel, alert, {a.pk for a in channel.accounts.all()}):
            found.append(channel)
    return found


def record(alert, now, once: bool) -> int:
    """One pending delivery per channel that takes ALERT; call inside raising().

    ONCE: the subject names one occurrence. The partial unique constraint then turns a second
    raise into nothing (ignore_conflicts), even one that slipped past the raising() check.
    """
    deliveries = [
        ChannelDelivery(
            organization=alert.organization,
            channel=channel,
            kind=alert.kind,
            subject=alert.subject[:200],
            once=once,
            title=alert.title[:300],
            evidence={"lines": alert.lines, **alert.evidence},
            link=alert.link,
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )
        for channel in routes(alert)
    ]
    ChannelDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return len(deliveries)


# --- Cooldown --------------------------------------------------------------------------------


def _claim_cooldown(delivery: ChannelDelivery, now) -> bool:
    """Atomically take the (channel, kind, subject) cooldown; False if it is still running.

    A delivery retried after its worker died still holds it, so it may take it again."""
    key = {"channel_id": delivery.channel_id, "kind": delivery.kind, "subject": delivery.subject}
    minutes = delivery.channel.cooldown_minutes
    taken = {"until": now + timedelta(minutes=minutes), "held_by": delivery.pk}
    free = Q(until__lte=now) | Q(held_by=delivery.pk)
    return cooldowns.claim(ChannelCooldown, key, taken, free=free)


def _release_cooldown(delivery_id: int, now) -> None:
    """Release the cooldown only if DELIVERY_ID still holds it."""
    ChannelCooldown.objects.filter(held_by=delivery_id, until__gt=now).update(until=now)


# --- Sending ---------------------------------------------------------------------------------


def message_for(delivery: ChannelDelivery):
    # delivery.py imports this module: its e-mail helpers are looked up when a message is built.
    from alerts.delivery import absolute, evidence_rows

    evidence = delivery.evidence or {}
    kind_label = (
        "Test message"
        if delivery.kind == TEST_KIND
        else dict(AlertKind.choices).get(delivery.kind, delivery.kind)
    )
    return channel_messages.ChannelMessage(
        delivery_id=delivery.pk,
        organization=delivery.organization.name,
        kind=delivery.kind,
        kind_label=str(kind_label),
        subject=delivery.subject,
        title=delivery.title,
        created_at=delivery.created_at,
        lines=list(evidence.get("lines", [])),
        figures=evidence_rows(evidence),
        evidence={k: v for k, v in evidence.items() if k != "lines"},
        link=absolute(delivery.link),
    )


def redact(text: str, channel: Channel) -> str:
    """TEXT with the channel's URL (its path and query too) and key blanked out."""
    secrets = [channel.url, channel.secret]
    try:
        parts = urlsplit(channel.url)
        secrets += [parts.path, parts.query]
    except ValueError:
        pass
    for secret in sorted((s for s in secrets if s and len(s) > 1), key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def excerpt(reply: outbound.Reply, channel: Channel) -> str:
    """A short, single-line excerpt of the receiver's answer; an HTML page as its text."""
    body = reply.body or ""
    html = "html" in (reply.content_type or "").lower() or body.lstrip()[:1] == "<"
    if html:
        body = strip_tags(body)
    body = re.sub(r"\s+", " ", redact(body, channel)).strip()
    body = body[:EXCERPT_CHARS]
    return f"(HTML page) {body}" if html else body


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES))


def _post(delivery: ChannelDelivery) -> tuple[str, int | None, str, str]:
    """Post DELIVERY; (status, response status, excerpt, error)."""
    channel = delivery.channel
    host = channel.url_host
    try:
        body, headers = channel_messages.render(
            channel.kind, message_for(delivery), secret=channel.secret
        )
        headers = {**headers, DELIVERY_HEADER: str(delivery.pk)}
        reply = outbound.post(channel.url, body, headers, timeout=TIMEOUT_SECONDS)
    except outbound.Refused as exc:
        return Status.GAVE_UP, None, "", f"Refused: {redact(str(exc), channel)}"
    except outbound.Unreachable as exc:
        return Status.FAILED, None, "", f"Could not reach {host}: {redact(str(exc), channel)}"
    shown = excerpt(reply, channel)
    if reply.ok:
        return Status.SENT, reply.status, shown, ""
    error = f"{host} answered HTTP {reply.status}"
    if 300 <= reply.status < 400:
        error += " (a redirect: not followed; check the URL)"
    elif reply.status == 410:
        error += " (gone: the webhook was removed; update or deactivate the channel)"
    if shown:
        error += f": {shown}"
    return (Status.FAILED if reply.retryable else Status.GAVE_UP), reply.status, shown, error


def _finish(delivery: ChannelDelivery, outcome, now) -> str:
    status, response_status, shown, error = outcome
    if status == Status.FAILED and (
        delivery.kind == TEST_KIND or delivery.attempts >= MAX_ATTEMPTS
    ):
        status = Status.GAVE_UP  # a test is tried once; an alert MAX_ATTEMPTS times
        if delivery.kind != TEST_KIND:
            error += f" (gave up after {delivery.attempts} attempts)"
    if status != Status.SENT:
        _release_cooldown(delivery.pk, now)
        logger.warning(
            "channel delivery %s to %s (%s): %s", delivery.pk, delivery.channel, status, error
        )
    finished = timezone.now()
    ChannelDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        response_status=response_status,
        response_excerpt=shown[:300],
        error=error[:2000],
        sent_at=finished if status == Status.SENT else None,
        next_attempt_at=now + backoff(delivery.attempts) if status == Status.FAILED else now,
        updated_at=finished,
    )
    return str(status)


def deliver_channel(delivery_id: int, now=None) -> str | None:
    """Post one delivery if nobody else is and the cooldown allows; returns its final status."""
    now = now or timezone.now()
    # The claim and the cooldown in one commit (each commit is a disk flush); the request is
    # made after it, outside any transaction.
    with transaction.atomic():
        claimed = ChannelDelivery.objects.filter(
            pk=delivery_id,
            status__in=[Status.PENDING, Status.FAILED],
            next_attempt_at__lte=now,
            attempts__lt=MAX_ATTEMPTS,
        ).update(status=Status.SENDING, attempts=F("attempts") + 1, updated_at=now)
        if not claimed:
            return None
        delivery = ChannelDelivery.objects.select_related("channel", "organization").get(
            pk=delivery_id
        )
        if not _claim_cooldown(delivery, now):
            ChannelDelivery.objects.filter(pk=delivery_id).update(
                status=Status.SUPPRESSED, updated_at=now
            )
            return str(Status.SUPPRESSED)
    return _finish(delivery, _post(delivery), now)


def send_test(channel: Channel, now=None) -> ChannelDelivery:
    """Post a test message to CHANNEL now, bypassing cooldown; recorded in its history."""
    now = now or timezone.now()
    delivery = ChannelDelivery.objects.create(
        organization_id=channel.organization_id,
        channel=channel,
        kind=TEST_KIND,
        subject=f"test:{now.isoformat()}",
        title=f"Test message from Spendlens to {channel.name}",
        evidence={"lines": ["If you can read this, alerts will reach this channel."]},
        status=Status.SENDING,
        attempts=1,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    delivery.channel = channel
    _finish(delivery, _post(delivery), now)
    delivery.refresh_from_db()
    return delivery


def recover_stale(now) -> int:
    """Deliveries left in sending by a worker that died: failed again (or gave_up)."""
    cutoff = now - STALE_AFTER
    recovered = 0
    stale = ChannelDelivery.objects.filter(status=Status.SENDING, updated_at__lt=cutoff)
    for pk, attempts in stale.values_list("pk", "attempts"):
        gave_up = attempts >= MAX_ATTEMPTS
        changed = ChannelDelivery.objects.filter(
            pk=pk, status=Status.SENDING, updated_at__lt=cutoff
        ).update(
            status=Status.GAVE_UP if gave_up else Status.FAILED,
            error="The worker posting it stopped before it finished"
            + (f" (gave up after {attempts} attempts)." if gave_up else "; it is retried."),
            next_attempt_at=now,
            updated_at=now,
        )
        if changed:
            _release_cooldown(pk, now)
            recovered += 1
    return recovered


def deliver_due(organization=None, now=None) -> dict[str, int]:
    """Post every due channel delivery; counts by final status (prefixed "channel_")."""
    now = now or timezone.now()
    recover_stale(now)
    due = ChannelDelivery.objects.filter(
        status__in=[Status.PENDING, Status.FAILED],
        next_attempt_at__lte=now,
        attempts__lt=MAX_ATTEMPTS,
    ).exclude(kind=TEST_KIND)
    if organization is not None:
        due = due.filter(organization=organization)
    counts: dict[str, int] = {}
    for delivery_id in due.order_by("next_attempt_at", "pk").values_list("pk", flat=True):
        status = deliver_channel(delivery_id)
        if status:
            key = f"channel_{status}"
            counts[key] = counts.get(key, 0) + 1
    return counts
