"""Chat channels and webhooks: where an organisation's alerts go besides e-mail.

A Channel is owned by an organisation and holds two secrets: its URL (a Slack or Teams webhook
URL is itself the credential) and, for a generic webhook, the HMAC key its bodies are signed
with. Neither is ever shown again once saved: the admin and the API show `url_host`
(scheme://host/…) and whether a key is set, and errors never quote the URL.

Routing: a channel takes an alert when every filter it sets matches, an empty filter matching
everything:
- kinds: the alert's kind is in the list;
- accounts: the alert names at least one of these connected accounts (Alert.account_ids);
- dimension (+ values): the alert is about a value of this dimension (Alert.allocation), one of
  dimension_values if any are listed.
An alert that names no account (or no value) therefore reaches only channels that do not filter
on accounts (or on a dimension): a channel "for account A" never gets organisation-wide noise.

A ChannelDelivery is one alert for one channel, like an AlertEvent is one alert for one person,
with the same life: pending → sending → sent | suppressed (cooldown) | failed (retried with
backoff) | gave_up (a permanent refusal, or the attempts ran out). The alerts whose subject
names a single occurrence are delivered once per channel ever: `once` is set for them and a
partial unique constraint on (channel, kind, subject) makes a second raise a no-op, whoever
raises it. ChannelCooldown is the per-channel rate limit, claimed like Cooldown.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import CloudAccount, Organization, TenantQuerySet
from allocation.models import Dimension

TEST_KIND = "channel_test"  # a ChannelDelivery made by "Send test message", not by an alert


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def redacted_url(url: str) -> str:
    """scheme://host/… : enough to recognise a channel, never its token-bearing path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "(invalid URL)"
    if not parts.scheme or not host:
        return "(invalid URL)"
    return f"{parts.scheme}://{host}/…"


class Channel(models.Model):
    tenant_path = "organization"

    class Kind(models.TextChoices):
        SLACK = "slack", "Slack (incoming webhook)"
        TEAMS = "teams", "Microsoft Teams (workflow webhook)"
        WEBHOOK = "webhook", "Webhook (signed JSON)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="channels"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.CharField(
        "URL",
        max_length=2000,
        help_text="The webhook URL (https). It is a secret: it is never shown again once saved.",
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Webhooks: the HMAC-SHA256 key the body is signed with. Generated if blank.",
    )
    active = models.BooleanField(default=True)
    kinds = models.JSONField(
        "alert kinds", default=list, blank=True, help_text="Empty: every kind."
    )
    accounts = models.ManyToManyField(
        CloudAccount,
        blank=True,
        related_name="channels",
        help_text="Empty: every alert. Set: only alerts about one of these accounts.",
    )
    dimension = models.ForeignKey(
        Dimension,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="channels",
        help_text="Set: only alerts about a value of this dimension (e.g. a team's spike).",
    )
    dimension_values = models.JSONField(
        "values", default=list, blank=True, help_text="Empty: every value of the dimension."
    )
    cooldown_minutes = models.PositiveIntegerField(
        default=60, help_text="The same alert subject is posted here at most once per cooldown."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_channel_name"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.kind == self.Kind.WEBHOOK and not self.secret:
            self.secret = new_secret()
        super().save(*args, **kwargs)

    @property
    def url_host(self) -> str:
        return redacted_url(self.url)

    def routing_summary(self, account_names=None) -> str:
        parts = [", ".join(self.kinds) if self.kinds else "every kind"]
        if account_names:
            parts.append("accounts " + ", ".join(account_names))
        if self.dimension_id:
            values = ", ".join(self.dimension_values) if self.dimension_values else "any value"
            parts.append(f"{self.dimension.name} = {values}")
        return "; ".join(parts)


class ChannelDelivery(models.Model):
    """One alert (or test message) for one channel, and what the receiver answered."""

    tenant_path = "organization"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        SUPPRESSED = "suppressed", "suppressed by cooldown"
        FAILED = "failed", "failed (will retry)"
        GAVE_UP = "gave_up", "gave up"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="channel_deliveries"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    # No choices: the alert kinds grow, and TEST_KIND marks a test message.
    kind = models.CharField(max_length=30)
    subject = models.CharField(max_length=200)
    once = models.BooleanField(
        default=False, help_text="Its subject names one occurrence: delivered once, ever."
    )
    title = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "channel deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "subject"],
                condition=Q(once=True),
                name="unique_channel_delivery_once",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="channeldelivery_due"),
            models.Index(fields=["channel", "-created_at"], name="channeldelivery_channel"),
            models.Index(fields=["organization", "kind", "subject"], name="channeldelivery_subj"),
        ]

    def __str__(self):
        return f"{self.kind}: {self.subject} -> {self.channel_id}"


class ChannelCooldown(models.Model):
    """When a (channel, kind, subject) may be posted again, and which delivery holds it.

    Claimed with a conditional UPDATE or a unique INSERT, never read-then-written. held_by lets
    a failed or abandoned delivery release only its own claim.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    subject = models.CharField(max_length=200)
    until = models.DateTimeField()
    held_by = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "subject"], name="unique_channel_cooldown"
            ),
        ]

    def __str__(self):
        return f"{self.channel_id} {self.kind} {self.subject} until {self.until}"
