"""GET /metrics: HTTP metrics from django-prometheus and the business metrics, access-controlled."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from actions.models import InstanceAction
from alerts.models import AlertEvent, AlertKind
from costs.models import SyncRun
from findings.models import Recommendation
from tests.dashboard.test_overview import recommend, write

TOKEN = "scrape-token-0123456789"  # a test value


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        samples = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    return get


def sync_run(account, status, seconds, requests):
    started = timezone.now() - timedelta(hours=1)
    return SyncRun.objects.create(
        account=account,
        status=status,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
        requests_made=requests,
    )


@pytest.mark.django_db
def test_sync_duration_failures_and_cost_explorer_requests(scrape, acme_account):
    sync_run(acme_account, SyncRun.Status.SUCCEEDED, 3, 4)
    sync_run(acme_account, SyncRun.Status.FAILED, 45, 1)
    SyncRun.objects.create(account=acme_account)  # still running: not counted yet

    samples = scrape()

    kind = (("kind", "costs"),)
    assert samples[("spendlens_sync_duration_seconds_count", kind)] == 2
    assert samples[("spendlens_sync_duration_seconds_sum", kind)] == pytest.approx(48)
    assert samples[("spendlens_sync_duration_seconds_bucket", (*kind, ("le", "5.0")))] == 1
    assert samples[("spendlens_sync_duration_seconds_bucket", (*kind, ("le", "60.0")))] == 2
    assert samples[("spendlens_sync_failures_total", kind)] == 1
    assert samples[("spendlens_cost_explorer_requests_total", ())] == 5


@pytest.mark.django_db
def test_month_to_date_cost_per_account(scrape, acme, acme_account):
    today = timezone.localdate()
    write(acme_account, today, "12.25")
    if today.day > 1:
        write(acme_account, today - timedelta(days=1), "0.75")
    write(acme_account, today.replace(day=1) - timedelta(days=1), "999")  # last month

    samples = scrape()

    labels = (("account", acme_account.account_id), ("organization", acme.slug))
    assert samples[("spendlens_month_to_date_cost_usd", labels)] == pytest.approx(
        13.0 if today.day > 1 else 12.25
    )


@pytest.mark.django_db
def test_open_recommendations_and_savings(scrape, acme, acme_account):
    recommend(acme_account, Recommendation.Kind.IDLE_INSTANCE, "10", resource="i-1")
    recommend(acme_account, Recommendation.Kind.IDLE_INSTANCE, "5.50", resource="i-2")
    recommend(
        acme_account,
        Recommendation.Kind.IDLE_INSTANCE,
        "100",
        status=Recommendation.Status.DISMISSED,
        resource="i-3",
    )

    samples = scrape()

    labels = (("kind", "idle_instance"), ("organization", acme.slug))
    assert samples[("spendlens_open_recommendations", labels)] == 2
    assert samples[("spendlens_open_recommendations_savings_usd", labels)] == 15.5


@pytest.mark.django_db
def test_alerts_by_outcome_and_instance_actions(scrape, acme, acme_account, alice):
    for status in ("sent", "sent", "suppressed", "skipped", "failed", "pending"):
        AlertEvent.objects.create(
            organization=acme,
            recipient=alice,
            kind=AlertKind.BUDGET,
            address="alice@example.com",
            subject="s",
            title="t",
            status=status,
        )
    for result in (InstanceAction.Result.SUCCEEDED, InstanceAction.Result.REFUSED):
        InstanceAction.objects.create(
            organization=acme,
            account=acme_account,
            aws_instance_id="i-1",
            region="us-east-1",
            action="stop",
            result=result,
        )

    samples = scrape()

    def alerts(outcome):
        return samples.get(("spendlens_alerts_total", (("kind", "budget"), ("outcome", outcome))))

    assert (alerts("sent"), alerts("suppressed"), alerts("failed")) == (2, 2, 1)
    stop = (("action", "stop"),)
    assert samples[("spendlens_instance_actions_total", (*stop, ("result", "succeeded")))] == 1
    assert samples[("spendlens_instance_actions_total", (*stop, ("result", "refused")))] == 1
    assert samples[("spendlens_database_up", ())] == 1


@pytest.mark.django_db
def test_http_metrics_count_requests(scrape, client):
    client.get("/accounts/login/")
    before = scrape()
    client.get("/accounts/login/")
    client.get("/accounts/login/")

    after = scrape()

    def logins(samples):
        return sum(
            value
            for (name, labels), value in samples.items()
            if name == "django_http_requests_total_by_view_transport_method_total"
            and ("view", "login") in labels
        )

    assert logins(after) - logins(before) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Token {TOKEN}"])
def test_metrics_need_the_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 403
    assert b"spendlens_" not in response.content


@pytest.mark.django_db
def test_without_a_token_metrics_are_closed_unless_declared_public(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    settings.METRICS_PUBLIC = False
    assert client.get("/metrics").status_code == 403

    settings.METRICS_PUBLIC = True
    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db
def test_money_values_are_exact_enough(scrape, acme, acme_account):
    recommend(acme_account, Recommendation.Kind.GP2_VOLUME, "0.10", resource="vol-1")
    recommend(acme_account, Recommendation.Kind.GP2_VOLUME, "0.20", resource="vol-2")

    samples = scrape()

    labels = (("kind", "gp2_volume"), ("organization", acme.slug))
    assert Decimal(str(samples[("spendlens_open_recommendations_savings_usd", labels)])) == (
        Decimal("0.3")
    )
