"""The dashboard pages and the admin index: overview, recommendations, monitoring."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts import rules
from costs.models import SyncRun
from findings.models import Recommendation
from fleet.models import Instance
from tests.dashboard.test_overview import recommend, write


@pytest.fixture
def acme_costs(acme_account):
    today = timezone.localdate()
    write(acme_account, today, "42.50", service="Amazon EC2")
    write(acme_account, today - timedelta(days=3), "7", service="Amazon S3")
    return acme_account


def chart_scripts(body: str) -> list[str]:
    return re.findall(r'<script[^>]*src="([^"]+)"', body)


@pytest.mark.django_db
def test_dashboard_shows_cards_and_chart_data_without_inline_script(client, alice, acme_costs):
    client.force_login(alice)

    body = client.get(reverse("dashboard")).content.decode()

    assert "Month to date" in body
    assert '<script id="cost-chart-data" type="application/json">' in body
    assert '"label": "Amazon EC2"' in body
    # Chart.js comes from our own static files; no CDN, no inline code (strict CSP).
    assert chart_scripts(body) == [
        "/static/vendor/chartjs/chart.umd.min.js",
        "/static/js/cost-chart.js",
    ]
    assert re.search(r"<script(?![^>]*(src=|application/json))", body) is None


@pytest.mark.django_db
def test_dashboard_without_accounts_says_connect_one(client, alice):
    client.force_login(alice)

    body = client.get(reverse("dashboard")).content.decode()

    assert "No account connected yet" in body
    assert reverse("cloud-account-list") in body
    assert "cost-chart-data" not in body


@pytest.mark.django_db
def test_dashboard_with_an_account_but_no_costs_says_when_they_come(client, alice, acme_account):
    client.force_login(alice)

    body = client.get(reverse("dashboard")).content.decode()

    assert "No costs in the last 30 days yet" in body


@pytest.mark.django_db
def test_dashboard_needs_login(client):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.fixture
def idle_box(acme_account):
    instance = Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-0idle",
        name="idle-box",
        instance_type="m5.large",
        state="running",
    )
    recommend(acme_account, Recommendation.Kind.IDLE_INSTANCE, "70.08", resource="i-0idle")
    return instance


@pytest.mark.django_db
def test_recommendations_biggest_saving_first_with_a_stop_button(client, alice, idle_box):
    recommend(idle_box.account, Recommendation.Kind.GP2_VOLUME, "1.60", resource="vol-1")
    recommend(idle_box.account, Recommendation.Kind.RIGHTSIZE, "200", resource="i-big")
    client.force_login(alice)

    body = client.get(reverse("recommendation-list")).content.decode()

    assert body.index("i-big") < body.index("i-0idle") < body.index("vol-1")
    assert reverse("instance-action", args=[idle_box.pk, "stop"]) in body
    assert "$70.08/month" in body


@pytest.mark.django_db
def test_recommendations_are_paginated_with_a_constant_number_of_queries(
    client, alice, idle_box, django_assert_max_num_queries
):
    for n in range(60):
        recommend(idle_box.account, Recommendation.Kind.GP2_VOLUME, "1", resource=f"vol-{n}")
    client.force_login(alice)

    # Two per organisation on top of the rows: the user's role and the protect tag, which
    # decide whether a Stop button is offered at all.
    with django_assert_max_num_queries(10):
        first = client.get(reverse("recommendation-list")).content.decode()
    second = client.get(reverse("recommendation-list") + "?page=2").content.decode()

    assert "61 open" in first
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second


@pytest.mark.django_db
def test_another_organisation_sees_none_of_it(client, charlie, idle_box, acme_costs):
    SyncRun.objects.create(account=idle_box.account, status=SyncRun.Status.FAILED, error="x")
    client.force_login(charlie)

    for name in ("dashboard", "recommendation-list", "monitoring"):
        body = client.get(reverse(name)).content.decode()
        for secret in ("i-0idle", "Acme", "42.50", "Amazon EC2"):
            assert secret not in body, (name, secret)


@pytest.mark.django_db
def test_monitoring_links_the_stack_when_configured(client, alice, acme_account, settings):
    SyncRun.objects.create(account=acme_account, status=SyncRun.Status.SUCCEEDED)
    SyncRun.objects.create(account=acme_account, status=SyncRun.Status.FAILED, error="throttled")
    settings.GRAFANA_URL = "https://grafana.example.com"
    settings.PROMETHEUS_URL = ""
    client.force_login(alice)

    body = client.get(reverse("monitoring")).content.decode()

    assert 'href="https://grafana.example.com"' in body
    assert "Prometheus</a>" not in body
    assert '<span class="error">failed</span>' in body  # the latest run, not the first


@pytest.mark.django_db
def test_monitoring_without_the_stack_says_how_to_deploy_it(client, alice, settings):
    settings.GRAFANA_URL = settings.PROMETHEUS_URL = ""
    client.force_login(alice)

    body = client.get(reverse("monitoring")).content.decode()

    assert "No monitoring stack configured" in body


@pytest.mark.django_db
def test_admin_index_shows_the_overview_of_the_operators_organisations(
    client, alice, charlie, acme_costs, globex_account
):
    write(globex_account, timezone.localdate(), "9999", service="Globex secret service")
    alice.is_staff = True
    alice.save()
    client.force_login(alice)

    response = client.get(reverse("admin:index"))
    body = response.content.decode()

    assert response.context["cards"].month_to_date == Decimal("49.50")
    assert "Potential savings" in body
    assert '<script id="cost-chart-data" type="application/json">' in body
    assert "Globex secret service" not in body
    assert "/static/vendor/chartjs/chart.umd.min.js" in body


@pytest.mark.django_db
def test_admin_index_without_accounts_links_to_adding_one(client, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)

    body = client.get(reverse("admin:index")).content.decode()

    assert "No AWS account connected yet" in body
    assert reverse("admin:accounts_cloudaccount_add") in body


@pytest.mark.django_db
def test_admin_index_lists_the_cost_apps_first(client, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)

    apps = [app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]]

    # The pipeline in the order data flows through it, then the framework's apps.
    pipeline = ["costs", "fleet", "findings", "actions", "alerts", "accounts"]
    assert apps[: len(pipeline)] == pipeline
    assert "auth" in apps[len(pipeline) :]


@pytest.mark.django_db
def test_dashboard_and_admin_index_list_the_days_spikes_under_the_chart(
    client, alice, acme_account
):
    today = timezone.localdate()
    for n in range(40):
        day = today - timedelta(days=n)
        write(acme_account, day, "400" if n == 2 else "100", service="Amazon EC2")
    rules.check_alerts(acme_account.organization, today)
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    spike_day = (today - timedelta(days=2)).isoformat()
    expected = (
        f'<td>{spike_day}</td><td class="sl-num">$400.00</td>'
        "<td>Amazon EC2 in 111111111111: $400.00 against a median of $100.00 (+$300.00)</td>"
    )

    for url in (reverse("dashboard"), reverse("admin:index")):
        body = client.get(url).content.decode()
        assert '<th scope="col">Cost spike</th>' in body
        assert expected in body, url
        assert body.count("against a median of") == 1, url
