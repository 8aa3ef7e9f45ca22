"""Every detail page renders; what the smaller pages add to their rows reads well."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from alerts.models import AlertEvent, AlertKind
from costs.models import SyncRun
from tests.admin.conftest import APPS

pytestmark = pytest.mark.django_db
MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label in APPS),
    key=lambda model: model._meta.label,
)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_every_detail_page_renders(client, olivia_staff, grow, model):
    grow(2)
    client.force_login(olivia_staff)
    request = RequestFactory().get("/")
    request.user = olivia_staff
    obj = admin.site._registry[model].get_queryset(request).first()
    opts = model._meta

    response = client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    )

    assert response.status_code == 200


def test_membership_page_names_user_and_organisation(client, olivia_staff, acme):
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:accounts_membership_changelist")).content.decode()

    assert '<td class="field-organization nowrap">Acme</td>' in body
    assert '<td class="field-role">Operator (can stop and start instances)</td>' in body


def test_organisations_count_members_and_accounts(client, olivia_staff, acme, acme_account, bob):
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:accounts_organization_changelist")).content.decode()

    assert '<td class="field-members">2</td>' in body
    assert '<td class="field-accounts">1</td>' in body


def test_accounts_show_their_open_savings(client, olivia_staff, grow, acme_account):
    # Per round, alternating accounts: one idle box ($70.08), one volume ($8) and one finding of
    # each of the six kinds beyond them ($32.85 each).
    grow(2)
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:accounts_cloudaccount_changelist")).content.decode()

    assert '<td class="field-open_recommendations">8</td>' in body
    assert '<td class="field-open_saving_money">$275.18/month</td>' in body


def test_sync_runs_read_as_durations_and_windows(client, olivia_staff, acme_account):
    started = timezone.now() - timedelta(minutes=3)
    SyncRun.objects.create(
        account=acme_account,
        status=SyncRun.Status.SUCCEEDED,
        started_at=started,
        finished_at=started + timedelta(minutes=2, seconds=5),
        window_start=timezone.localdate() - timedelta(days=3),
        window_end=timezone.localdate(),
        requests_made=12,
    )
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:costs_syncrun_changelist")).content.decode()

    assert '<td class="field-took">2 min 5 s</td>' in body
    assert '<td class="field-request_cost_money">$0.12</td>' in body
    assert f"→ {timezone.localdate() - timedelta(days=1)}" in body


def test_budgets_read_as_money(client, olivia_staff, grow):
    grow(2)
    client.force_login(olivia_staff)

    body = client.get(reverse("admin:alerts_budget_changelist")).content.decode()

    assert '<td class="field-monthly_amount_money">$1,000.00/month</td>' in body
    assert "the whole organisation" in body and "Acme production (111111111111)" in body
    assert "50% actual, 80% actual, 100% actual, 100% forecast" in body


def test_an_alert_links_only_to_this_site(client, olivia_staff, acme):
    def alert(link):
        return AlertEvent.objects.create(
            organization=acme,
            kind=AlertKind.COST_SPIKE,
            subject=link,
            title="Spike",
            recipient=olivia_staff,
            address="o@example.com",
            link=link,
            evidence={"lines": ["EC2 up 300%"], "day": "2026-11-01"},
        )

    own, hostile = alert("/admin/costs/costrecord/"), alert("javascript:alert(1)")
    client.force_login(olivia_staff)

    def page(event):
        url = reverse("admin:alerts_alertevent_change", args=[event.pk])
        return client.get(url).content.decode()

    assert '<a href="/admin/costs/costrecord/">/admin/costs/costrecord/</a>' in page(own)
    assert '<th scope="row">lines</th><td>EC2 up 300%</td>' in page(own)
    assert 'href="javascript' not in page(hostile)


def test_membership_rows_come_with_their_user_and_organisation(olivia_staff):
    model_admin = admin.site._registry[Membership]

    assert model_admin.list_select_related == ["user", "organization"]
