"""The Commitment admin's Coverage and What to buy pages: rendered from the organisation's own
figures, the chosen plan highlighted with its arithmetic; refused to non-staff; another
organisation sees none of it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.admin.conftest import make_staff
from tests.commitments.test_api import cost, day_row

pytestmark = pytest.mark.django_db
COVERAGE = "admin:commitments_commitment_coverage"
WHAT_TO_BUY = "admin:commitments_commitment_what_to_buy"


def test_coverage_page_shows_the_chart_and_the_weighted_days(client, alice, acme_account):
    day = timezone.localdate() - timedelta(days=2)
    day_row(acme_account, day, covered_spend=30, on_demand_spend=10, used_commitment=45,
            unused_commitment=5)  # fmt: skip
    client.force_login(make_staff(alice))

    page = client.get(reverse(COVERAGE)).content.decode()

    assert "data-commitment-chart" in page and "js/commitment-chart.js" in page
    assert "<script>" not in page  # CSP: no inline script, the data is JSON only
    assert "75.0%" in page and "90.0%" in page and "$10.00" in page


def test_the_changelist_links_to_both_pages(client, alice):
    client.force_login(make_staff(alice))
    page = client.get(reverse("admin:commitments_commitment_changelist")).content.decode()
    assert reverse(COVERAGE) in page and reverse(WHAT_TO_BUY) in page


def test_what_to_buy_shows_every_plan_the_chosen_one_and_its_arithmetic(
    client, alice, acme_account
):
    yesterday = timezone.localdate() - timedelta(days=1)
    for n in range(14):
        cost(acme_account, yesterday - timedelta(days=n), 240)
    client.force_login(make_staff(alice))

    page = client.get(reverse(WHAT_TO_BUY), {"account": "111111111111"}).content.decode()

    assert 'class="sl-chosen"' in page and "(chosen)" in page
    assert "Buy: " in page and "spread evenly over its 24 hours" in page
    assert "rounded down to $0.001" in page  # the "how" of the hourly commitment
    assert "Usage -10%" in page and "Usage -25%" in page
    assert "month 1" in page  # no upfront: break-even in the first month
    assert page.count("<details") == 12


def test_what_to_buy_says_why_on_too_little_data(client, alice, acme_account):
    cost(acme_account, timezone.localdate() - timedelta(days=1), 240)
    client.force_login(make_staff(alice))

    page = client.get(reverse(WHAT_TO_BUY)).content.decode()

    assert "needs at least 7 days of cost data" in page
    assert 'class="sl-chosen"' not in page and "Buy: " not in page


def test_another_organisation_sees_nothing_of_acme(client, charlie, acme_account):
    yesterday = timezone.localdate() - timedelta(days=1)
    for n in range(14):
        cost(acme_account, yesterday - timedelta(days=n), 240)
    day_row(acme_account, yesterday, covered_spend=30, on_demand_spend=10)
    client.force_login(make_staff(charlie))

    coverage = client.get(reverse(COVERAGE)).content.decode()
    assert "No coverage or utilization figures" in coverage and "75.0%" not in coverage
    buying = client.get(reverse(WHAT_TO_BUY), {"account": "111111111111"}).content.decode()
    assert "No account 111111111111 of yours." in buying and 'class="sl-chosen"' not in buying
    made_up = client.get(reverse(WHAT_TO_BUY), {"account": "314159265358"}).content.decode()
    assert "No account 314159265358 of yours." in made_up


def test_a_viewer_who_is_not_staff_is_sent_to_the_login(client, bob):
    client.force_login(bob)
    for name in (COVERAGE, WHAT_TO_BUY):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_without_the_view_permission_is_refused(client, bob):
    bob.is_staff = True
    bob.save()
    client.force_login(bob)
    assert client.get(reverse(COVERAGE)).status_code == 403
    assert client.get(reverse(WHAT_TO_BUY)).status_code == 403
