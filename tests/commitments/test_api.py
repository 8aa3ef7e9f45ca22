"""The commitments API: the list scoped and filtered, coverage summed with weights, what to buy
judged on the cost store's eligible spend, and a clear 4xx on too little data or bad input."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from commitments.models import CommitmentDay
from costs.models import CostRecord
from tests.commitments.test_admin import commitment

pytestmark = pytest.mark.django_db
URL = "/api/v1/commitments/"


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_login(alice)
    return client


def day_row(account, day, kind="savings_plan", **figures):
    return CommitmentDay.objects.create(
        account=account,
        day=day,
        kind=kind,
        source="explorer",
        **{k: Decimal(str(v)) for k, v in figures.items()},
    )


def cost(account, day, amount, service="Amazon Elastic Compute Cloud - Compute", **fields):
    return CostRecord.objects.create(
        organization=account.organization,
        account=account,
        source="explorer",
        metric="unblended",
        sub_account_id=account.account_id,
        usage_date=day,
        service=service,
        region="us-east-1",
        amount=Decimal(str(amount)),
        **fields,
    )


def test_the_list_is_scoped_and_filtered(api, acme_account, globex_account):
    commitment(acme_account, "sp-soon", plan_type="Compute", days_left=10)
    commitment(acme_account, "ri-later", kind="ec2_reserved", days_left=200)
    commitment(globex_account, "sp-globex", plan_type="Compute", days_left=5)

    listed = api.get(URL).json()["results"]
    assert [c["commitment_id"] for c in listed] == ["sp-soon", "ri-later"]
    assert listed[0]["days_to_expiry"] == 10 and listed[0]["account"] == "111111111111"

    soon = api.get(URL, {"expiring_within_days": 30}).json()["results"]
    assert [c["commitment_id"] for c in soon] == ["sp-soon"]
    reserved = api.get(URL, {"kind": "ec2_reserved"}).json()["results"]
    assert [c["commitment_id"] for c in reserved] == ["ri-later"]
    assert api.get(URL, {"account": "999999999999"}).json()["results"] == []
    assert api.get(URL, {"expiring_within_days": "soon"}).status_code == 400


def test_another_organisations_commitment_is_not_found(api, globex_account):
    other = commitment(globex_account, "sp-globex", plan_type="Compute")
    assert api.get(f"{URL}{other.pk}/").status_code == 404


def test_coverage_is_weighted_over_accounts_and_days_without_figures_are_absent(
    api, acme, acme_account, globex_account
):
    from accounts.models import CloudAccount

    second = CloudAccount.objects.create(
        organization=acme,
        name="Acme staging",
        account_id="222222222222",
        role_arn="arn:aws:iam::222222222222:role/SpendlensAccess",
        regions=["us-east-1"],
    )
    day = timezone.localdate() - timedelta(days=3)
    # 90 of 100 covered and 1 of 9: weighted 91/109 = 83.486 %, not the mean of 90 % and 11 %.
    day_row(acme_account, day, covered_spend=90, on_demand_spend=10, used_commitment=90,
            unused_commitment=0)  # fmt: skip
    day_row(second, day, covered_spend=1, on_demand_spend=8, used_commitment=1,
            unused_commitment=9)  # fmt: skip
    # Another organisation's figures never count.
    day_row(globex_account, day, covered_spend=0, on_demand_spend=1000)
    # A day whose utilization AWS did not report: coverage only, utilization None.
    day_row(acme_account, day + timedelta(days=1), covered_spend=5, on_demand_spend=5)

    body = api.get(
        f"{URL}coverage/",
        {"start": str(day - timedelta(days=1)), "end": str(day + timedelta(days=2))},
    ).json()

    days = body["days"]
    assert [d["day"] for d in days] == [str(day), str(day + timedelta(days=1))]
    assert days[0]["coverage_percent"] == "83.486"
    assert days[0]["utilization_percent"] == "91.000"  # 91 / (91 + 9)
    assert days[0]["on_demand_spend"] == "18.000000"
    assert days[1]["coverage_percent"] == "50.000" and days[1]["utilization_percent"] is None
    only_reservations = api.get(f"{URL}coverage/", {"kind": "reservation"}).json()
    assert only_reservations["days"] == []


def test_coverage_bad_parameters_are_400(api):
    assert api.get(f"{URL}coverage/", {"start": "yesterday"}).status_code == 400
    assert api.get(f"{URL}coverage/", {"kind": "spot"}).status_code == 400
    reversed_window = api.get(f"{URL}coverage/", {"start": "2026-11-10", "end": "2026-11-01"})
    assert reversed_window.status_code == 400


def test_what_to_buy_on_enough_days(api, acme_account):
    yesterday = timezone.localdate() - timedelta(days=1)
    for n in range(30):
        cost(acme_account, yesterday - timedelta(days=n), 240)  # $10 an hour
        cost(acme_account, yesterday - timedelta(days=n), 50, service="Amazon S3")

    response = api.get(f"{URL}what-to-buy/", {"account": "111111111111"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["days_with_data"] == 30 and body["eligible_spend"] == 7200.0  # S3 not eligible
    assert "24 hours" in body["basis"] and "90%" in body["basis"]
    chosen = [plan for plan in body["plans"] if plan["chosen"]]
    assert len(chosen) == 1 and chosen[0]["plan"] == body["best"]
    assert len(body["plans"]) == 12
    # A flat $10/h at a 45 % discount: commit $5.50/h, save $4.50 an hour, 730 h a month.
    three_year = next(
        p for p in body["plans"] if p["plan"] == "Compute Savings Plan, 3 years, no upfront"
    )
    assert three_year["hourly_commitment"] == 5.5
    assert three_year["monthly_net_savings"] == pytest.approx(3285.0)
    assert "x 0.55" in three_year["how"]["hourly_commitment"]
    assert [r["usage_drop"] for r in three_year["risk"]] == [0.1, 0.25]
    assert three_year["break_even_month"] == 1


def test_what_to_buy_refuses_too_few_days_clearly(api, acme_account):
    yesterday = timezone.localdate() - timedelta(days=1)
    for n in range(6):
        cost(acme_account, yesterday - timedelta(days=n), 240)

    response = api.get(f"{URL}what-to-buy/", {"account": "111111111111"})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_enough_data"
    assert "needs at least 7 days of cost data" in error["message"]
    assert "111111111111 has 6" in error["message"]


def test_what_to_buy_without_an_account_sums_the_callers_accounts(api, acme_account):
    yesterday = timezone.localdate() - timedelta(days=1)
    for n in range(8):
        cost(acme_account, yesterday - timedelta(days=n), 24)

    body = api.get(f"{URL}what-to-buy/").json()

    assert body["accounts"] == ["111111111111"] and body["days_with_data"] == 8


def test_what_to_buy_counts_days_without_cost_data_as_missing_not_zero(api, acme_account):
    yesterday = timezone.localdate() - timedelta(days=1)
    # Seven days in a 30-day window: judged on those seven only (a day of only S3 counts, as
    # a day of zero eligible spend); the 23 days without any cost data are left out.
    for n in range(6):
        cost(acme_account, yesterday - timedelta(days=n * 4), 240)
    cost(acme_account, yesterday - timedelta(days=25), 5, service="Amazon S3")

    body = api.get(f"{URL}what-to-buy/", {"account": "111111111111"}).json()

    assert body["days_with_data"] == 7
    assert body["eligible_spend"] == 6 * 240.0


@pytest.mark.parametrize(
    "params",
    [{"account": "abc"}, {"account": "111111111111", "days": 3},
     {"account": "111111111111", "days": "many"}, {"account": "111111111111", "days": 1000}],
)  # fmt: skip
def test_what_to_buy_bad_parameters_are_400(api, acme_account, params):
    response = api.get(f"{URL}what-to-buy/", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_malformed_account_is_answered_like_another_organisations(api, globex_account):
    malformed = api.get(f"{URL}what-to-buy/", {"account": "abc"}).json()["error"]
    others = api.get(f"{URL}what-to-buy/", {"account": "999999999999"}).json()["error"]
    assert malformed == others
    assert others["fields"] == {"account": ["No such account of yours."]}


def test_another_organisations_account_gets_nothing(client, charlie, acme_account):
    yesterday = timezone.localdate() - timedelta(days=1)
    for n in range(10):
        cost(acme_account, yesterday - timedelta(days=n), 240)
    commitment(acme_account, "sp-acme", plan_type="Compute")
    day_row(acme_account, yesterday, covered_spend=1, on_demand_spend=1)
    api = APIClient()
    api.force_login(charlie)

    buying = api.get(f"{URL}what-to-buy/", {"account": "111111111111"})
    assert buying.status_code == 400
    assert buying.json()["error"]["fields"] == {"account": ["No such account of yours."]}
    assert api.get(URL).json()["results"] == []
    assert api.get(f"{URL}coverage/").json()["days"] == []


def test_anonymous_is_refused(acme_account):
    assert APIClient().get(f"{URL}coverage/").status_code in (401, 403)
