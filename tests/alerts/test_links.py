"""Every alert e-mail links each person to a page they can open, and reads like prose.

An organisation admin who is not staff would meet the admin's login page; staff allowed to
view the object get the admin page, everyone else the dashboard's page about it.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from alerts import rules
from alerts.delivery import deliver_pending, raise_alert
from alerts.models import AlertEvent, Budget
from costs.models import SyncRun
from findings.models import Recommendation
from fleet.models import Instance
from tests.alerts.test_rules import month_of_spend

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 23)


@pytest.fixture
def staff_operator(django_user_model, acme):
    """Olivia: an operator of acme, staff, allowed to view recommendations and budgets."""
    from accounts.models import Membership

    user = django_user_model.objects.create_user(
        "olivia", email="olivia@example.com", password="pw-olivia-Secret1", is_staff=True
    )
    Membership.objects.create(user=user, organization=acme, role="operator")
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_recommendation", "view_budget", "view_cloudaccount"]
        )
    )
    return user


@pytest.fixture
def idle_rec(acme_account):
    instance = Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-0idle",
        name="dev-box-01",
        instance_type="t3.large",
        state="running",
    )
    return Recommendation.objects.create(
        account=acme_account,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        resource_id="i-0idle",
        region="us-east-1",
        instance=instance,
        summary="dev-box-01 is idle",
        action="Stop it.",
        monthly_saving=Decimal("60.74"),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )


def links_by_user(alerts) -> dict[str, str]:
    for alert in alerts:
        raise_alert(alert)
    return {e.recipient.username: e.link for e in AlertEvent.objects.select_related("recipient")}


def test_idle_alert_links_members_to_the_dashboard_and_staff_to_the_admin(
    client, alice, staff_operator, idle_rec
):
    links = links_by_user(rules.idle_alerts(idle_rec.account.organization))

    assert links["alice"] == reverse("recommendation-detail", args=[idle_rec.pk])
    assert links["olivia"] == reverse("admin:findings_recommendation_change", args=[idle_rec.pk])
    # Each can open their own link.
    for user in (alice, staff_operator):
        client.force_login(user)
        response = client.get(links[user.username])
        assert response.status_code == 200, user
        assert "dev-box-01 is idle" in response.content.decode()


def test_staff_without_the_view_permission_get_the_dashboard(alice, staff_operator, idle_rec):
    staff_operator.user_permissions.clear()

    links = links_by_user(rules.idle_alerts(idle_rec.account.organization))

    assert links["olivia"] == reverse("recommendation-detail", args=[idle_rec.pk])


def test_budget_alert_links_to_the_budget_page(client, alice, acme, acme_account):
    budget = Budget.objects.create(organization=acme, name="Acme total", monthly_amount=1000)
    budget.ensure_thresholds()
    month_of_spend(acme_account, "30")

    links = links_by_user(rules.budget_alerts(acme, TODAY))

    assert links["alice"] == reverse("budget-detail", args=[budget.pk])
    client.force_login(alice)
    with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=UTC), tick=False):
        body = client.get(links["alice"]).content.decode()
    assert "$690.00, 69.0% of the budget" in body
    assert "Budget Acme total" in body
    assert "50% on actual spend: <strong" in body


def test_digest_and_sync_failure_links_are_dashboard_pages(client, alice, acme, acme_account):
    Recommendation.objects.create(
        account=acme_account,
        kind=Recommendation.Kind.GP2_VOLUME,
        resource_id="vol-1",
        region="us-east-1",
        summary="vol-1 is gp2",
        action="Migrate it.",
        monthly_saving=Decimal("161.81"),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )
    for _ in range(rules.SYNC_FAILURES):
        SyncRun.objects.create(account=acme_account, status=SyncRun.Status.FAILED, error="denied")

    links = {
        alert.kind: alert.link_for(alice)
        for alert in rules.savings_digest(acme) + rules.sync_failure_alerts(acme)
    }

    assert links == {
        "savings_digest": reverse("recommendation-list"),
        "sync_failing": reverse("cloud-account-detail", args=[acme_account.pk]),
    }
    client.force_login(alice)
    for link in links.values():
        assert client.get(link).status_code == 200


def test_the_digest_shows_money_and_labels_not_raw_keys(alice, acme, acme_account):
    for n, saving in enumerate(["100.5", "61.31"]):
        Recommendation.objects.create(
            account=acme_account,
            kind=Recommendation.Kind.GP2_VOLUME,
            resource_id=f"vol-{n}",
            region="us-east-1",
            summary=f"vol-{n} is gp2",
            action="Migrate it.",
            monthly_saving=Decimal(saving),
            saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
        )
    for alert in rules.savings_digest(acme):
        raise_alert(alert)

    deliver_pending()

    (message,) = mail.outbox
    for body in (message.body, message.alternatives[0][0]):
        assert "Monthly saving, total" in body
        assert "$161.81" in body
        assert "monthly_saving_total" not in body
        assert "161.810000" not in body


def test_idle_subjects_name_the_box_by_its_name(alice, idle_rec):
    (alert,) = rules.idle_alerts(idle_rec.account.organization)

    assert alert.title == "Idle instance dev-box-01 (i-0idle) in Acme production: save $60.74/month"
