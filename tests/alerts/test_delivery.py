"""Delivery: recipients, cooldown, opt-out, retries, races, and SES."""

import threading
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber
from django.core import mail
from django.core.mail import get_connection
from django.db import connections
from django.utils import timezone
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from accounts.models import Profile
from alerts import delivery
from alerts.delivery import Alert, deliver, deliver_pending, raise_alert
from alerts.models import AlertEvent, AlertKind, Cooldown
from tests.marks import postgresql_only

SENT = AlertEvent.Status.SENT
SUPPRESSED = AlertEvent.Status.SUPPRESSED


def idle_alert(org, subject="instance:111111111111:i-0idle", **extra):
    return Alert(
        org,
        AlertKind.IDLE_INSTANCE,
        subject,
        "Idle instance i-0idle: save $60.74/month",
        ["dev-box-01 is idle", "Stop it."],
        {"instance": "i-0idle", "monthly_saving": "60.74"},
        "/admin/findings/recommendation/1/change/",
        **extra,
    )


def test_members_of_the_organisation_and_only_them_get_it(alice, bob, charlie, acme):
    events = raise_alert(idle_alert(acme))

    assert sorted(e.address for e in events) == ["alice@example.com", "bob@example.com"]
    deliver_pending()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    assert not AlertEvent.objects.filter(recipient=charlie).exists()


def test_the_email_has_evidence_a_link_back_and_a_preferences_link(alice, acme, settings):
    settings.SITE_URL = "https://spendlens.example.com"
    (event,) = raise_alert(idle_alert(acme))

    assert deliver(event.pk) == SENT

    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert message.subject == "[Spendlens] Idle instance i-0idle: save $60.74/month"
    for body in (message.body, html):
        assert "Monthly saving" in body and "$60.74" in body
        assert "https://spendlens.example.com/admin/findings/recommendation/1/change/" in body
        assert "https://spendlens.example.com/profile/#alerts" in body


def test_cooldown_suppresses_the_same_subject_and_records_it(alice, acme):
    first = raise_alert(idle_alert(acme))[0]
    second = raise_alert(idle_alert(acme))[0]
    other = raise_alert(idle_alert(acme, subject="instance:111111111111:i-0other"))[0]

    assert [deliver(e.pk) for e in (first, second, other)] == [SENT, SUPPRESSED, SENT]
    assert len(mail.outbox) == 2


def test_after_the_cooldown_the_same_subject_is_sent_again(alice, acme):
    profile = Profile.for_user(alice)
    profile.cooldown_minutes = 30
    profile.save()
    now = timezone.now()
    first = raise_alert(idle_alert(acme))[0]
    assert deliver(first.pk, now=now) == SENT

    early = raise_alert(idle_alert(acme))[0]
    late = raise_alert(idle_alert(acme))[0]

    assert deliver(early.pk, now=now + timedelta(minutes=29)) == SUPPRESSED
    assert deliver(late.pk, now=now + timedelta(minutes=30)) == SENT
    assert len(mail.outbox) == 2


def test_a_kind_turned_off_is_recorded_but_not_sent(alice, bob, acme):
    profile = Profile.for_user(alice)
    profile.muted_alert_kinds = [AlertKind.IDLE_INSTANCE]
    profile.save()

    events = {e.address: e for e in raise_alert(idle_alert(acme))}
    deliver_pending()

    assert events["alice@example.com"].status == AlertEvent.Status.SKIPPED
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_email_off_altogether(alice, acme):
    profile = Profile.for_user(alice)
    profile.email_enabled = False
    profile.save()

    raise_alert(idle_alert(acme))

    assert deliver_pending() == {}
    assert mail.outbox == []


def test_a_failed_send_is_retried_without_resending_the_sent_ones(alice, bob, acme, settings):
    events = {e.address: e for e in raise_alert(idle_alert(acme))}
    bob_profile = Profile.for_user(bob)
    bob_profile.alert_email = "bob@invalid.example.com"
    bob_profile.save()
    AlertEvent.objects.filter(pk=events["bob@example.com"].pk).update(
        address="bob@invalid.example.com"
    )
    settings.EMAIL_BACKEND = "tests.alerts.failing_backend.EmailBackend"

    assert deliver_pending() == {"sent": 1, "failed": 1}
    failed = AlertEvent.objects.get(address="bob@invalid.example.com")
    assert "SMTPRecipientsRefused" in failed.error
    assert not Cooldown.objects.filter(user=bob, until__gt=timezone.now()).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver_pending() == {"sent": 1}
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (SENT, 2)
    assert AlertEvent.objects.get(recipient=alice).attempts == 1


@postgresql_only("real concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_exactly_one_email(alice, acme):
    rounds = 10
    pairs = []
    for n in range(rounds):
        a = raise_alert(idle_alert(acme, subject=f"instance:race:{n}"))[0]
        b = raise_alert(idle_alert(acme, subject=f"instance:race:{n}"))[0]
        pairs.append((a.pk, b.pk))
    results: dict[int, str] = {}

    def worker(event_id, barrier):
        try:
            barrier.wait()
            results[event_id] = deliver(event_id)
        finally:
            connections.close_all()

    for a, b in pairs:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=worker, args=(pk, barrier)) for pk in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert len(mail.outbox) == rounds
    for a, b in pairs:
        assert sorted([results[a], results[b]]) == [SENT, SUPPRESSED]
    assert Cooldown.objects.count() == rounds


def test_an_event_is_delivered_once_even_if_asked_twice(alice, acme):
    (event,) = raise_alert(idle_alert(acme))

    assert deliver(event.pk) == SENT
    assert deliver(event.pk) is None
    assert len(mail.outbox) == 1


class TestSES:
    FROM = "alerts@spendlens.example.com"

    @pytest.fixture
    def ses(self, aws, settings):
        settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
        settings.DEFAULT_FROM_EMAIL = self.FROM
        settings.ANYMAIL = {
            "AMAZON_SES_CLIENT_PARAMS": {"region_name": "us-east-1", "endpoint_url": aws}
        }
        client = boto3.client("ses", region_name="us-east-1", endpoint_url=aws)
        client.verify_email_identity(EmailAddress=self.FROM)
        return client

    def test_sent_through_ses_on_the_emulator(self, ses, alice, acme):
        (event,) = raise_alert(idle_alert(acme))

        assert deliver(event.pk) == SENT

        # The emulator runs in this process: read what it received.
        (received,) = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
        assert received.source == self.FROM
        # (moto lists the recipient once from the call and once from the raw To: header)
        assert set(received.destinations) == {"alice@example.com"}
        assert "Idle instance i-0idle" in received.raw_data

    def test_an_unverified_sender_fails_and_is_recorded(self, ses, alice, acme, settings):
        settings.DEFAULT_FROM_EMAIL = "nobody@unverified.example.com"
        (event,) = raise_alert(idle_alert(acme))

        assert deliver(event.pk) == AlertEvent.Status.FAILED
        event.refresh_from_db()
        assert "not verified" in event.error.lower() or "rejected" in event.error.lower()

    def test_sesv2_send_email_call_shape(self, ses, alice, acme):
        (event,) = raise_alert(idle_alert(acme))
        backend = get_connection()
        backend.open()
        calls = []
        backend.client.meta.events.register(
            "before-parameter-build.sesv2.SendEmail", lambda params, **_: calls.append(params)
        )
        with Stubber(backend.client) as stub:
            stub.add_response("send_email", {"MessageId": "0100-test"})
            message = delivery.render(event)
            message.connection = backend
            message.send()
            stub.assert_no_pending_responses()

        (params,) = calls
        # SES v2 SendEmail with a raw MIME message (the sender is its From: header).
        assert set(params) == {"Destination", "Content"}
        assert params["Destination"] == {"ToAddresses": ["alice@example.com"]}
        raw = params["Content"]["Raw"]["Data"].decode()
        assert f"From: {self.FROM}" in raw
        assert "multipart/alternative" in raw
        assert "text/plain" in raw and "text/html" in raw
        assert "Subject: [Spendlens] Idle instance i-0idle" in raw
