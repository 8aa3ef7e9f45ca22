"""AWS's own Savings Plan recommendation, over real HTTP (recorded answers served by the fault
proxy): stored per variant with its figures, pages followed, a refused permission named while
the other parts still sync, "no purchase" noted, a re-sync replaces."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from commitments.models import AwsPurchaseRecommendation, CommitmentSync
from commitments.sync import sync_account
from tests.commitments.recorded import (
    TODAY,
    VARIANTS,
    answer_explorer,
    answer_inventory,
    answer_recommendations,
    recommendation,
    recommendation_detail,
)
from tests.commitments.test_api import cost
from tests.commitments.test_pages import WHAT_TO_BUY, make_staff

pytestmark = pytest.mark.django_db
OPERATION = "GetSavingsPlansPurchaseRecommendation"


def sync(proxy, account, pages=None):
    answer_inventory(proxy, recommendations=False)
    answer_explorer(proxy)
    answer_recommendations(proxy, pages)
    return sync_account(account, today=TODAY)


def test_each_variant_is_stored_with_its_figures(aws_faults, acme_account):
    run = sync(aws_faults, acme_account)

    assert run.status == CommitmentSync.Status.SUCCEEDED, (run.problems, run.notes)
    rows = AwsPurchaseRecommendation.objects.filter(account=acme_account)
    assert sorted(rows.values_list("plan_type", "term")) == sorted(VARIANTS)
    row = rows.get(plan_type="COMPUTE_SP", term="ONE_YEAR")
    assert row.payment_option == "NO_UPFRONT" and row.lookback_days == 30
    assert (row.hourly_commitment, row.monthly_savings) == (Decimal("1.5"), Decimal(300))
    assert (row.savings_percent, row.utilization_percent) == (Decimal("21.5"), Decimal(95))
    assert (row.upfront_cost, row.currency) == (Decimal(0), "USD")
    assert row.generated_at.isoformat() == "2026-11-19T06:00:00+00:00"
    # Four requests, one a variant, each asking for 30 days of No Upfront.
    asked = [r for r in aws_faults.requests if r.operation == OPERATION]
    assert len(asked) == 4
    assert run.requests_made == 3 + 4 + 4


def test_every_page_is_followed_and_the_details_summed(aws_faults, acme_account):
    first = recommendation(
        "EC2_INSTANCE_SP",
        "ONE_YEAR",
        details=[recommendation_detail(hourly="1", monthly="100", use="90")],
        token="page-2",
        summary=False,
    )
    second = recommendation(
        "EC2_INSTANCE_SP",
        "ONE_YEAR",
        details=[recommendation_detail(hourly="3", monthly="200", use="98", UpfrontCost="12")],
        summary=False,
    )
    pages = [recommendation(*VARIANTS[0]), recommendation(*VARIANTS[1]), first, second]
    pages.append(recommendation(*VARIANTS[3]))

    run = sync(aws_faults, acme_account, pages)

    assert run.status == CommitmentSync.Status.SUCCEEDED, run.problems
    assert aws_faults.calls[OPERATION] == 5
    assert run.requests_made == 3 + 4 + 5
    row = AwsPurchaseRecommendation.objects.get(plan_type="EC2_INSTANCE_SP", term="ONE_YEAR")
    assert (row.hourly_commitment, row.monthly_savings) == (Decimal(4), Decimal(300))
    assert row.upfront_cost == Decimal(12)
    # Weighted by commitment: (1 x 90 + 3 x 98) / 4.
    assert row.utilization_percent == Decimal(96)
    # No summary: the details' savings over their on-demand cost, 600 / 2790.
    assert row.savings_percent == Decimal("21.505")


def test_a_refused_permission_is_named_and_the_other_parts_still_sync(aws_faults, acme_account):
    sync(aws_faults, acme_account)  # rows of an earlier sync
    answer_inventory(aws_faults, recommendations=False)
    answer_explorer(aws_faults)
    aws_faults.fail(OPERATION, "AccessDeniedException", "not authorized")

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.PARTIAL
    assert list(run.problems) == ["ce:GetSavingsPlansPurchaseRecommendation"]
    assert run.problems["ce:GetSavingsPlansPurchaseRecommendation"].startswith(
        "ce:GetSavingsPlansPurchaseRecommendation is not allowed by the role"
    )
    assert run.days_stored == 2 * 3  # the trailing days of both kinds, unaffected
    # One refusal is enough: the other variants need the same permission.
    assert aws_faults.calls[OPERATION] == 4 + 1
    # Nothing half-replaced: the earlier recommendations stay, and the run says so.
    assert AwsPurchaseRecommendation.objects.count() == 4
    assert any("were not replaced" in note for note in run.notes)


def test_no_recommended_purchase_stores_nothing_and_is_noted(aws_faults, acme_account):
    pages = [recommendation(*v) for v in VARIANTS]
    pages[1] = recommendation(*VARIANTS[1], details=[])
    pages[3] = {"Metadata": {"GenerationTimestamp": "2026-11-19T06:00:00Z"}}

    run = sync(aws_faults, acme_account, pages)

    assert run.status == CommitmentSync.Status.SUCCEEDED
    assert sorted(AwsPurchaseRecommendation.objects.values_list("plan_type", "term")) == sorted(
        [VARIANTS[0], VARIANTS[2]]
    )
    assert run.notes == [
        "Compute Savings Plan, 3 years, No Upfront: AWS recommends no purchase.",
        "EC2 Instance Savings Plan, 3 years, No Upfront: AWS recommends no purchase.",
    ]


def test_another_currency_is_stored_as_it_is_and_flagged(aws_faults, acme_account):
    pages = [recommendation(*v) for v in VARIANTS]
    pages[0] = recommendation(*VARIANTS[0], details=[recommendation_detail(currency="EUR")])

    run = sync(aws_faults, acme_account, pages)

    row = AwsPurchaseRecommendation.objects.get(plan_type="COMPUTE_SP", term="ONE_YEAR")
    assert row.currency == "EUR" and row.foreign_currency
    assert run.notes == [
        "AWS's recommendation for Compute Savings Plan, 1 year, No Upfront is in EUR: stored "
        "with its currency, never compared with USD figures."
    ]


def test_a_resync_replaces_the_accounts_rows(aws_faults, acme_account, globex_account):
    sync(aws_faults, acme_account)
    sync(aws_faults, globex_account)
    first = set(AwsPurchaseRecommendation.objects.values_list("pk", flat=True))

    pages = [recommendation(*v, details=[]) for v in VARIANTS]
    pages[0] = recommendation(*VARIANTS[0], details=[recommendation_detail(hourly="2.25")])
    run = sync(aws_faults, acme_account, pages)

    assert run.status == CommitmentSync.Status.SUCCEEDED
    mine = AwsPurchaseRecommendation.objects.filter(account=acme_account)
    assert list(mine.values_list("hourly_commitment", flat=True)) == [Decimal("2.25")]
    assert not set(mine.values_list("pk", flat=True)) & first
    # Another account's recommendations are not touched.
    assert AwsPurchaseRecommendation.objects.filter(account=globex_account).count() == 4


def test_a_failed_variant_keeps_the_previous_rows(aws_faults, acme_account):
    sync(aws_faults, acme_account)
    pages = [recommendation(*VARIANTS[0], details=[recommendation_detail(hourly="9")])]
    answer_inventory(aws_faults, recommendations=False)
    answer_explorer(aws_faults)
    answer_recommendations(aws_faults, pages)
    aws_faults.fail(OPERATION, "ValidationException", "bad request", times=1)
    answer_recommendations(aws_faults, [recommendation(*v) for v in VARIANTS[2:]])

    run = sync_account(acme_account, today=TODAY)

    assert run.status == CommitmentSync.Status.PARTIAL
    assert list(run.problems) == [
        "ce:GetSavingsPlansPurchaseRecommendation (Compute Savings Plan, 3 years, No Upfront)"
    ]
    assert not AwsPurchaseRecommendation.objects.filter(hourly_commitment=9).exists()
    assert AwsPurchaseRecommendation.objects.count() == 4


# --- Side by side with Spendlens's plans ----------------------------------------------------------


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_login(alice)
    return client


def synced_rows_and_costs(proxy, acme_account, globex_account):
    pages = [recommendation(*v, details=[]) for v in VARIANTS]
    pages[1] = recommendation(*VARIANTS[1], details=[recommendation_detail(hourly="5.25")])
    sync(proxy, acme_account, pages)
    sync(proxy, globex_account)  # another organisation's: never shown to alice
    yesterday = timezone.localdate() - timedelta(days=1)
    for n in range(14):
        cost(acme_account, yesterday - timedelta(days=n), 240)


def test_the_api_answers_aws_next_to_spendlens(aws_faults, api, acme_account, globex_account):
    synced_rows_and_costs(aws_faults, acme_account, globex_account)

    body = api.get("/api/v1/commitments/what-to-buy/").json()

    assert len(body["plans"]) == 12  # Spendlens's
    assert len(body["aws"]) == 1
    aws = body["aws"][0]
    assert aws["account"] == "111111111111"
    assert aws["plan"] == "Compute Savings Plan, 3 years, No Upfront"
    assert (aws["term_years"], aws["hourly_commitment"]) == (3, 5.25)
    assert (aws["monthly_net_savings"], aws["utilization"]) == (300.0, 0.95)
    assert aws["savings_percent"] == 21.5 and aws["lookback_days"] == 30
    assert aws["fetched_at"] and aws["generated_at"].startswith("2026-11-19T06:00:00")


def test_the_admin_page_shows_what_aws_recommends(
    aws_faults, client, alice, acme_account, globex_account
):
    synced_rows_and_costs(aws_faults, acme_account, globex_account)
    client.force_login(make_staff(alice))

    page = client.get(reverse(WHAT_TO_BUY), {"account": "111111111111"}).content.decode()

    assert 'id="plans"' in page and "(chosen)" in page  # Spendlens's
    assert "AWS recommends" in page and 'id="aws"' in page
    table = page[page.index('id="aws"') :]
    assert "Compute Savings Plan, 3 years, No Upfront" in table
    assert "$5.250/h" in table and "$300.00" in table and "95.0%" in table
    assert "999999999999" not in table


def test_the_admin_page_says_when_aws_has_nothing_stored(client, alice, acme_account):
    client.force_login(make_staff(alice))

    page = client.get(reverse(WHAT_TO_BUY), {"account": "111111111111"}).content.decode()

    assert 'id="aws-none"' not in page  # too little data and nothing from AWS: no table
    assert AwsPurchaseRecommendation.objects.create(
        account=acme_account,
        plan_type="COMPUTE_SP",
        term="ONE_YEAR",
        payment_option="NO_UPFRONT",
        lookback_days=30,
        hourly_commitment=Decimal(2),
        monthly_savings=Decimal(100),
    )
    page = client.get(reverse(WHAT_TO_BUY), {"account": "111111111111"}).content.decode()
    # Spendlens cannot judge yet, but AWS's advice is still shown.
    assert 'id="problem"' in page and "$2.000/h" in page
