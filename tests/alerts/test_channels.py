"""Chat channels and webhooks: routing, once per subject, cooldown, retries, bad receivers.

Every delivery goes over real HTTPS to the local receiver (tests/support/https_receiver.py).
"""

import logging
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from alerts import channel_delivery, rules
from alerts.channel_delivery import deliver_channel, send_test
from alerts.delivery import Alert, deliver_pending, raise_alert
from alerts.models import AlertKind, Budget, Channel, ChannelCooldown, ChannelDelivery
from allocation.models import Dimension
from costs.models import SyncRun
from tests.marks import postgresql_only

Status = ChannelDelivery.Status


def channel(org, receiver, name="ops", kind=Channel.Kind.SLACK, **extra):
    accounts = extra.pop("accounts", [])
    made = Channel.objects.create(
        organization=org, name=name, kind=kind, url=receiver.url(f"/{name}/T0/SECRET"), **extra
    )
    made.accounts.set(accounts)
    return made


def alert(org, kind=AlertKind.IDLE_INSTANCE, subject="instance:1:i-0idle", **extra):
    return Alert(
        org,
        kind,
        subject,
        f"{kind} about {subject}",
        ["a line"],
        {"monthly_saving": "60.74"},
        "/recommendations/1/",
        **extra,
    )


def deliveries(ch):
    return list(ChannelDelivery.objects.filter(channel=ch).order_by("pk"))


# --- Routing -------------------------------------------------------------------------------


def test_every_matching_channel_gets_one_delivery_and_other_orgs_none(acme, globex, https_receiver):
    everything = channel(acme, https_receiver, "all")
    budgets_only = channel(acme, https_receiver, "budgets", kinds=[AlertKind.BUDGET])
    theirs = channel(globex, https_receiver, "theirs")
    channel(acme, https_receiver, "off", active=False)

    raise_alert(alert(acme))

    assert len(deliveries(everything)) == 1
    assert deliveries(budgets_only) == [] and deliveries(theirs) == []
    assert ChannelDelivery.objects.count() == 1


def test_account_filter_takes_only_alerts_naming_one_of_its_accounts(
    acme, acme_account, https_receiver
):
    other = acme.cloud_accounts.create(name="other", account_id="222222222222")
    for_acme = channel(acme, https_receiver, "acme-only", accounts=[acme_account])

    raise_alert(alert(acme, subject="a", account_ids=frozenset({acme_account.pk})))
    raise_alert(alert(acme, subject="b", account_ids=frozenset({other.pk})))
    raise_alert(alert(acme, subject="c"))  # names no account: organisation-wide

    assert [d.subject for d in deliveries(for_acme)] == ["a"]


def test_dimension_filter_takes_only_its_values(acme, https_receiver):
    team = Dimension.objects.create(organization=acme, name="Team", slug="team")
    env = Dimension.objects.create(organization=acme, name="Env", slug="env")
    payments = channel(acme, https_receiver, "payments", dimension=team, dimension_values=["pay"])
    any_team = channel(acme, https_receiver, "teams", dimension=team)

    raise_alert(alert(acme, AlertKind.COST_SPIKE, "s1", allocation=(team.pk, "pay")))
    raise_alert(alert(acme, AlertKind.COST_SPIKE, "s2", allocation=(team.pk, "search")))
    raise_alert(alert(acme, AlertKind.COST_SPIKE, "s3", allocation=(env.pk, "pay")))
    raise_alert(alert(acme, AlertKind.COST_SPIKE, "s4"))

    assert [d.subject for d in deliveries(payments)] == ["s1"]
    assert [d.subject for d in deliveries(any_team)] == ["s1", "s2"]


def test_the_rules_name_the_account_they_are_about(acme, acme_account, https_receiver):
    other = acme.cloud_accounts.create(name="other", account_id="222222222222")
    mine = channel(acme, https_receiver, "mine", accounts=[acme_account])
    theirs = channel(acme, https_receiver, "theirs", accounts=[other])
    for n in range(3):
        SyncRun.objects.create(account=acme_account, status="failed", error=f"AccessDenied {n}")
    budget = Budget.objects.create(
        organization=acme, account=acme_account, name="b", monthly_amount=Decimal(1)
    )

    (alert,) = rules.sync_failure_alerts(acme)
    raise_alert(alert)

    assert alert.account_ids == frozenset({acme_account.pk})
    assert rules._budget_routing(budget) == {"account_ids": frozenset({acme_account.pk})}
    assert [d.kind for d in deliveries(mine)] == [AlertKind.SYNC_FAILING]
    assert deliveries(theirs) == []
    assert rules.sync_failure_alerts(acme) == []  # raised to a channel counts as raised


# --- Once per subject, cooldown, delivery ----------------------------------------------------


def test_a_once_per_subject_alert_is_delivered_once_per_channel_even_without_members(
    globex, https_receiver
):
    ch = channel(globex, https_receiver)  # globex has no member with an address here
    budget = alert(globex, AlertKind.BUDGET, "budget:1:2026-12:80:actual")

    raise_alert(budget)
    raise_alert(budget)
    # Past the raise-time check (as a raiser that looked before the first commit would be):
    channel_delivery.record(budget, timezone.now(), once=True)

    assert len(deliveries(ch)) == 1
    assert deliver_pending() == {"channel_sent": 1}
    assert https_receiver.counts == {"/ops/T0/SECRET": 1}


def test_the_cooldown_is_per_channel_and_subject(acme, https_receiver):
    first = channel(acme, https_receiver, "first")
    second = channel(acme, https_receiver, "second")
    raise_alert(alert(acme))
    raise_alert(alert(acme))  # idle: not once-per-subject, so a second event per channel
    raise_alert(alert(acme, subject="instance:1:i-other"))

    counts = deliver_pending()

    assert counts == {"channel_sent": 4, "channel_suppressed": 2}
    assert https_receiver.counts == {"/first/T0/SECRET": 2, "/second/T0/SECRET": 2}
    assert [d.status for d in deliveries(first)] == [Status.SENT, Status.SUPPRESSED, Status.SENT]
    assert ChannelCooldown.objects.filter(channel=second).count() == 2


def test_the_request_carries_the_delivery_id_and_the_rendered_body(acme, https_receiver):
    ch = channel(acme, https_receiver, kind=Channel.Kind.WEBHOOK)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    assert deliver_channel(d.pk) == Status.SENT

    ((_path, headers, body),) = https_receiver.requests
    assert headers["X-Spendlens-Delivery"] == str(d.pk)
    assert b"instance:1:i-0idle" in body or b"idle_instance" in body
    d.refresh_from_db()
    assert (d.response_status, d.response_excerpt, d.attempts) == (200, "ok", 1)
    assert d.sent_at is not None and ch.secret  # a webhook's key is generated


def test_a_delivery_is_posted_once_even_if_asked_twice(acme, https_receiver):
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    assert deliver_channel(d.pk) == Status.SENT
    assert deliver_channel(d.pk) is None
    assert sum(https_receiver.counts.values()) == 1


# --- Retries and bad receivers ---------------------------------------------------------------


def test_a_503_is_retried_with_backoff_and_the_cooldown_released(acme, https_receiver):
    https_receiver.replies = [(503, "busy", "text/plain"), (200, "ok", "text/plain")]
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)
    start = timezone.now()

    assert deliver_channel(d.pk, now=start) == Status.FAILED
    d.refresh_from_db()
    assert (d.response_status, d.attempts) == (503, 1)
    assert "HTTP 503" in d.error and "SECRET" not in d.error
    assert d.next_attempt_at == start + timedelta(minutes=1)
    assert deliver_channel(d.pk, now=start + timedelta(seconds=30)) is None  # not due yet

    assert deliver_channel(d.pk, now=start + timedelta(minutes=1)) == Status.SENT
    d.refresh_from_db()
    assert (d.status, d.attempts, d.response_status) == (Status.SENT, 2, 200)
    assert sum(https_receiver.counts.values()) == 2


def test_the_backoff_doubles_up_to_a_ceiling():
    minutes = [channel_delivery.backoff(n).total_seconds() / 60 for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_it_gives_up_after_max_attempts(acme, https_receiver):
    https_receiver.replies = [(500, "down", "text/plain")]
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)
    now = timezone.now()
    for _ in range(channel_delivery.MAX_ATTEMPTS):
        deliver_channel(d.pk, now=now)
        now += timedelta(hours=2)

    d.refresh_from_db()
    assert (d.status, d.attempts) == (Status.GAVE_UP, channel_delivery.MAX_ATTEMPTS)
    assert "gave up after 6 attempts" in d.error
    assert deliver_channel(d.pk, now=now) is None


def test_a_hanging_receiver_is_a_timeout_retried_later(acme, https_receiver, monkeypatch):
    monkeypatch.setattr(channel_delivery, "TIMEOUT_SECONDS", 0.5)
    https_receiver.hang = threading.Event()
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    assert deliver_channel(d.pk) == Status.FAILED
    https_receiver.hang.set()

    d.refresh_from_db()
    assert d.response_status is None
    assert d.error.startswith("Could not reach https://127.0.0.1/…")
    assert "SECRET" not in d.error and "/ops/" not in d.error
    assert not ChannelCooldown.objects.filter(until__gt=timezone.now()).exists()


def test_410_gone_is_not_retried(acme, https_receiver):
    https_receiver.replies = [(410, "channel_is_archived", "text/plain")]
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    assert deliver_channel(d.pk) == Status.GAVE_UP
    assert deliver_pending() == {}  # nothing left to try

    d.refresh_from_db()
    assert d.response_status == 410 and d.attempts == 1
    assert "HTTP 410 (gone" in d.error and "channel_is_archived" in d.error
    assert sum(https_receiver.counts.values()) == 1


def test_an_html_answer_is_recorded_as_its_text(acme, https_receiver):
    page = "<html><head><title>Bad Gateway</title></head><body><h1>502</h1>\n oops</body></html>"
    https_receiver.replies = [(502, page, "text/html; charset=utf-8")]
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    assert deliver_channel(d.pk) == Status.FAILED

    d.refresh_from_db()
    assert d.response_excerpt == "(HTML page) Bad Gateway502 oops"
    assert "<" not in d.error and "HTTP 502" in d.error


def test_a_redirect_is_not_followed(acme, https_receiver):
    https_receiver.replies = [(302, "", "text/plain")]
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    assert deliver_channel(d.pk) == Status.GAVE_UP
    d.refresh_from_db()
    assert d.response_status == 302 and "not followed" in d.error
    assert sum(https_receiver.counts.values()) == 1


def test_a_refused_url_gives_up_at_once_with_the_reason(acme, https_receiver):
    ch = Channel.objects.create(
        organization=acme, name="plain", kind="slack", url="http://hooks.example.com/T0/SECRET"
    )
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    assert deliver_channel(d.pk) == Status.GAVE_UP
    d.refresh_from_db()
    assert d.error.startswith("Refused: Only https://")
    assert d.response_status is None


def test_secrets_stay_out_of_the_logs(acme, https_receiver, caplog, monkeypatch):
    monkeypatch.setattr(channel_delivery, "TIMEOUT_SECONDS", 0.5)
    https_receiver.replies = [(500, "echo https_receiver /ops/T0/SECRET", "text/plain")]
    ch = channel(acme, https_receiver, kind=Channel.Kind.WEBHOOK, secret="hmac-key-XYZ")
    raise_alert(alert(acme))
    (d,) = deliveries(ch)

    with caplog.at_level(logging.DEBUG):
        deliver_channel(d.pk)
        https_receiver.hang = threading.Event()
        deliver_channel(d.pk, now=timezone.now() + timedelta(minutes=5))
        https_receiver.hang.set()

    assert caplog.records  # both failures were logged...
    assert "SECRET" not in caplog.text and "hmac-key-XYZ" not in caplog.text  # ...redacted
    assert "T0" not in caplog.text


# --- A test message, a killed worker ---------------------------------------------------------


def test_send_test_posts_now_and_is_in_the_history(acme, https_receiver):
    ch = channel(acme, https_receiver)
    d = send_test(ch)
    assert (d.status, d.response_status, d.kind) == (Status.SENT, 200, "channel_test")
    https_receiver.replies = [(404, "no_service", "text/plain")]
    failed = send_test(ch)
    assert failed.status == Status.GAVE_UP and "HTTP 404" in failed.error
    assert deliver_pending() == {}  # a test is never retried by the workers
    assert sum(https_receiver.counts.values()) == 2


def test_a_delivery_left_sending_by_a_dead_worker_is_retried(acme, https_receiver):
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)
    start = timezone.now() - timedelta(minutes=10)
    # A worker claimed it and its cooldown, then died before posting:
    ChannelDelivery.objects.filter(pk=d.pk).update(
        status=Status.SENDING, attempts=1, updated_at=start
    )
    assert channel_delivery._claim_cooldown(
        ChannelDelivery.objects.select_related("channel").get(pk=d.pk), start
    )

    assert deliver_pending() == {"channel_sent": 1}
    d.refresh_from_db()
    assert (d.status, d.attempts) == (Status.SENT, 2)
    assert sum(https_receiver.counts.values()) == 1


def test_a_delivery_sending_recently_is_left_alone(acme, https_receiver):
    ch = channel(acme, https_receiver)
    raise_alert(alert(acme))
    (d,) = deliveries(ch)
    ChannelDelivery.objects.filter(pk=d.pk).update(status=Status.SENDING, attempts=1)

    assert deliver_pending() == {}
    assert https_receiver.counts == {}


# --- Races (PostgreSQL) ----------------------------------------------------------------------


@postgresql_only("real concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_post_each_delivery_exactly_once(acme, https_receiver):
    slack = channel(acme, https_receiver, "slack")
    teams = channel(acme, https_receiver, "teams", kind=Channel.Kind.TEAMS)
    hook = channel(acme, https_receiver, "hook", kind="webhook", kinds=[AlertKind.BUDGET])
    events = 40
    for n in range(events):
        kind = AlertKind.BUDGET if n % 2 else AlertKind.IDLE_INSTANCE
        raise_alert(alert(acme, kind, f"subject:{n}"))
    results: list = []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait(30)
            results.append(deliver_pending())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert https_receiver.counts == {
        "/slack/T0/SECRET": events,
        "/teams/T0/SECRET": events,
        "/hook/T0/SECRET": events // 2,
    }
    ids = [h["X-Spendlens-Delivery"] for _, h, _ in https_receiver.requests]
    assert len(ids) == len(set(ids)) == events * 2 + events // 2
    assert sum(r.get("channel_sent", 0) for r in results) == len(ids)
    assert not ChannelDelivery.objects.exclude(status=Status.SENT).exists()
    assert {slack.pk, teams.pk, hook.pk} == set(
        ChannelDelivery.objects.values_list("channel_id", flat=True)
    )
