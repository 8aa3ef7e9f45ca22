"""The dashboard's Commitments card: last week's weighted coverage and utilization, the next
expiry, links for staff, and an empty state without any commitment."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import commitments_card
from tests.admin.conftest import make_staff
from tests.commitments.test_admin import commitment
from tests.commitments.test_api import day_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_commitments(acme_account):
    commitment(acme_account, "sp-later", plan_type="Compute", days_left=200)
    commitment(acme_account, "sp-soon", plan_type="Compute", days_left=12)
    commitment(acme_account, "sp-gone", plan_type="Compute", days_left=-4)
    yesterday = timezone.localdate() - timedelta(days=1)
    # 30 of 40 and 10 of 60 covered: 40/100 over the week, not the mean of 75 % and 16.7 %.
    day_row(acme_account, yesterday, covered_spend=30, on_demand_spend=10, used_commitment=30,
            unused_commitment=10)  # fmt: skip
    day_row(acme_account, yesterday - timedelta(days=3), covered_spend=10, on_demand_spend=50,
            used_commitment=10, unused_commitment=0)  # fmt: skip
    # Eight days ago: outside the week.
    day_row(acme_account, yesterday - timedelta(days=7), covered_spend=0, on_demand_spend=900)


def test_the_card_weighs_the_week_and_finds_the_next_expiry(alice, acme_commitments):
    card = commitments_card.commitments_card(alice, timezone.localdate())

    assert str(card.summary.coverage) == "40.000"
    assert str(card.summary.utilization) == "80.000"  # 40 / (40 + 10)
    assert card.summary.next_expiry.commitment_id == "sp-soon"
    assert card.summary.next_expiry_days == 12
    assert card.admin_links is False


def test_the_dashboard_shows_the_card_and_staff_get_the_admin_links(
    client, alice, acme_commitments
):
    client.force_login(alice)
    body = client.get(reverse("dashboard")).content.decode()
    assert "Commitments" in body and "40.0%" in body and "12 days (sp-soon)" in body
    assert reverse("admin:commitments_commitment_what_to_buy") not in body

    client.force_login(make_staff(alice))
    body = client.get(reverse("dashboard")).content.decode()
    assert reverse("admin:commitments_commitment_coverage") in body
    assert reverse("admin:commitments_commitment_what_to_buy") in body


def test_an_organisation_without_commitments_sees_the_empty_state(
    client, charlie, globex_account, acme_commitments
):
    assert commitments_card.commitments_card(charlie, timezone.localdate()).summary is None
    client.force_login(charlie)
    body = client.get(reverse("dashboard")).content.decode()
    assert "No Savings Plans or Reserved Instances found." in body
    assert "sp-soon" not in body and "40.0%" not in body


def test_commitments_without_figures_say_so_rather_than_zero(client, alice, acme_account):
    commitment(acme_account, "sp-new", plan_type="Compute", days_left=300)
    client.force_login(alice)
    body = client.get(reverse("dashboard")).content.decode()
    assert "no figures" in body and "0.0%" not in body
