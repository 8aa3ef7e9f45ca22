"""The REST API: tokens, tenant scoping, the cost summary, bad input as 400s, actions."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import yaml
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from alerts.models import Budget
from costs import rollup
from costs.models import CostRecord
from findings.models import Recommendation

TODAY = date(2026, 11, 23)


def token_for(username: str, capsys) -> str:
    call_command("create_api_token", username)
    return capsys.readouterr().out.strip()


@pytest.fixture
def api(alice, capsys):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for('alice', capsys)}")
    return client


def spend(account, day, amount, service="Amazon EC2", region="us-east-1", source="explorer"):
    CostRecord.objects.create(
        organization=account.organization,
        account=account,
        source=source,
        metric="unblended" if source == "explorer" else "billed",
        sub_account_id=account.account_id,
        usage_date=day,
        service=service,
        region=region,
        amount=Decimal(amount),
    )


def rec(account, resource="i-0idle", kind="idle_instance"):
    return Recommendation.objects.create(
        account=account,
        kind=kind,
        resource_id=resource,
        region="us-east-1",
        summary="idle",
        action="stop",
        monthly_saving=Decimal("60.74"),
        saving_basis="price_table",
    )


class TestAuth:
    def test_without_credentials_the_error_is_json(self, db):
        response = APIClient().get("/api/v1/accounts/")

        assert response.status_code in (401, 403)
        assert response.json()["error"]["code"] in ("not_authenticated", "authentication_failed")

    def test_a_wrong_token_is_refused(self, db):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token nope")

        assert client.get("/api/v1/accounts/").status_code == 401

    def test_create_api_token_for_an_unknown_user(self, db):
        with pytest.raises(CommandError, match="No user named"):
            call_command("create_api_token", "nobody")

    def test_the_token_is_stored_hashed(self, alice, capsys):
        from knox.models import AuthToken

        key = token_for("alice", capsys)

        stored = AuthToken.objects.get(user=alice)
        assert key not in (stored.digest, stored.token_key) and len(stored.digest) == 128


class TestScoping:
    def test_lists_show_only_the_callers_organisations(self, api, acme_account, globex_account):
        theirs = globex_account
        rec(theirs, "i-0theirs")
        mine = rec(acme_account)

        accounts = api.get("/api/v1/accounts/").json()["results"]
        recs = api.get("/api/v1/recommendations/").json()["results"]

        assert [a["account_id"] for a in accounts] == ["111111111111"]
        assert [r["id"] for r in recs] == [mine.pk]

    def test_another_organisations_object_is_a_404(self, api, globex_account):
        theirs = globex_account
        other = rec(theirs)

        for url in (
            f"/api/v1/accounts/{theirs.pk}/",
            f"/api/v1/recommendations/{other.pk}/",
        ):
            response = api.get(url)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
        assert (
            api.post(f"/api/v1/recommendations/{other.pk}/dismiss/", {"reason": "x"}).status_code
            == 404
        )


class TestSummary:
    @pytest.mark.parametrize(
        "filters",
        [{}, {"account": "111111111111"}],
        ids=["from the rollups", "from the records (filtered)"],
    )
    def test_group_by_service_with_the_previous_window(self, api, acme, acme_account, filters):
        spend(acme_account, TODAY, "10", service="Amazon EC2")
        spend(acme_account, TODAY - timedelta(days=1), "5", service="Amazon S3")
        spend(acme_account, TODAY - timedelta(days=30), "4", service="Amazon EC2")
        # The export covers this day: Cost Explorer's row for it is not added.
        spend(acme_account, TODAY - timedelta(days=2), "7", service="Amazon EC2")
        spend(acme_account, TODAY - timedelta(days=2), "8", service="Amazon EC2", source="focus")
        rollup.rebuild(acme)  # syncs and imports refresh them; these rows were written directly

        body = api.get(
            "/api/v1/costs/summary/", {"start": "2026-10-25", "end": "2026-11-23", **filters}
        ).json()

        assert body["total"] == "23.00"
        assert body["groups"] == [
            {
                "key": "Amazon EC2",
                "amount": "18.00",
                "previous_amount": "4.00",
                "change_percent": 350.0,
            },
            {"key": "Amazon S3", "amount": "5.00", "previous_amount": None, "change_percent": None},
        ]
        assert body["previous"] == {"start": "2026-09-25", "end": "2026-10-24", "total": "4.00"}

    @pytest.mark.parametrize("group_by", ["region", "account", "day", "month"])
    def test_every_grouping_agrees_with_the_records(self, api, acme, acme_account, group_by):
        for n in range(40):
            spend(
                acme_account,
                TODAY - timedelta(days=n),
                str(n + 1),
                region=("us-east-1", "eu-west-1")[n % 2],
            )
        rollup.rebuild(acme)
        window = {"start": "2026-10-25", "end": "2026-11-23", "group_by": group_by}

        fast = api.get("/api/v1/costs/summary/", window).json()
        slow = api.get("/api/v1/costs/summary/", {**window, "account": "111111111111"}).json()

        assert fast == slow
        assert fast["total"] == f"{sum(range(1, 31))}.00"

    @pytest.mark.parametrize(
        "filters",
        [{}, {"account": "111111111111"}],
        ids=["from the rollups", "from the records (filtered)"],
    )
    def test_a_month_in_both_windows_is_split_between_them(self, api, acme, acme_account, filters):
        # Current window 2026-10-25..11-23, previous 2026-09-25..10-24: October is in both.
        spend(acme_account, date(2026, 10, 26), "2")
        spend(acme_account, date(2026, 11, 2), "0")
        spend(acme_account, date(2026, 10, 20), "3")
        spend(acme_account, date(2026, 9, 26), "1")
        rollup.rebuild(acme)

        body = api.get(
            "/api/v1/costs/summary/",
            {"start": "2026-10-25", "end": "2026-11-23", "group_by": "month", **filters},
        ).json()

        assert body["groups"] == [
            {
                "key": "2026-10-01",
                "amount": "2.00",
                "previous_amount": "3.00",
                "change_percent": -33.33,
            },
            # A zero total is a total; September, only in the previous window, is no group.
            {
                "key": "2026-11-01",
                "amount": "0.00",
                "previous_amount": None,
                "change_percent": None,
            },
        ]
        assert (body["total"], body["previous"]["total"]) == ("2.00", "4.00")

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"group_by": "colour"}, "group_by"),
            ({"start": "2026-11-23", "end": "2026-11-01"}, "end"),
            ({"start": "2024-01-01", "end": "2026-11-23"}, "start"),
            ({"start": "yesterday"}, "start"),
            ({"account": "12"}, "account"),
        ],
    )
    def test_bad_parameters_are_400_with_a_message(self, api, params, field):
        response = api.get("/api/v1/costs/summary/", params)

        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid" and field in error["fields"]

    def test_a_huge_page_size_is_400(self, api):
        response = api.get("/api/v1/costs/", {"page_size": 10**9})

        assert response.status_code == 400
        assert "page_size" in response.json()["error"]["fields"]

    def test_cost_list_filters(self, api, acme_account):
        spend(acme_account, TODAY, "1", region="eu-west-1")
        spend(acme_account, TODAY, "2", region="us-east-1")

        results = api.get(
            "/api/v1/costs/", {"region": "eu-west-1", "start": "2026-11-01", "end": "2026-11-30"}
        ).json()["results"]

        assert [r["region"] for r in results] == ["eu-west-1"]


class TestRecommendations:
    def test_a_viewer_cannot_dismiss(self, bob, acme_account, capsys):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for('bob', capsys)}")
        target = rec(acme_account)

        response = client.post(f"/api/v1/recommendations/{target.pk}/dismiss/", {"reason": "no"})

        assert response.status_code == 403

    def test_snooze_needs_a_future_date(self, api, acme_account):
        target = rec(acme_account)

        past = api.post(
            f"/api/v1/recommendations/{target.pk}/snooze/",
            {"reason": "later", "until": "2020-01-01"},
        )
        ok = api.post(
            f"/api/v1/recommendations/{target.pk}/snooze/",
            {"reason": "later", "until": "2099-01-01"},
        )

        assert past.status_code == 400
        assert ok.status_code == 200 and ok.json()["status"] == "dismissed"
        assert ok.json()["snoozed_until"] == "2099-01-01"

    def test_filter_by_kind(self, api, acme_account):
        rec(acme_account, "vol-1", kind="gp2_volume")
        rec(acme_account, "i-1")

        results = api.get("/api/v1/recommendations/", {"kind": "gp2_volume"}).json()["results"]

        assert [r["resource_id"] for r in results] == ["vol-1"]


class TestBudgets:
    def test_create_with_default_thresholds(self, api, acme):
        response = api.post(
            "/api/v1/budgets/",
            {"organization": "acme", "name": "Total", "monthly_amount": "1000.00"},
            format="json",
        )

        assert response.status_code == 201, response.json()
        assert response.json()["thresholds"] == [
            {"percent": 50, "basis": "actual"},
            {"percent": 80, "basis": "actual"},
            {"percent": 100, "basis": "actual"},
            {"percent": 100, "basis": "forecast"},
        ]
        assert Budget.objects.get().thresholds.count() == 4

    def test_a_viewer_cannot_create(self, bob, acme, capsys):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for('bob', capsys)}")

        response = client.post(
            "/api/v1/budgets/",
            {"organization": "acme", "name": "Total", "monthly_amount": "10"},
            format="json",
        )

        assert response.status_code == 403

    def test_another_organisation_is_not_a_choice(self, api, globex):
        response = api.post(
            "/api/v1/budgets/",
            {"organization": "globex", "name": "x", "monthly_amount": "10"},
            format="json",
        )

        assert response.status_code == 400
        assert "organization" in response.json()["error"]["fields"]

    @pytest.mark.parametrize("field", ["organization", "account"])
    def test_a_nul_character_in_a_slug_is_400(self, api, acme, field):
        # Found by the schemathesis sweep: PostgreSQL cannot compare a NUL (it was a 500).
        body = {"organization": "acme", "name": "x", "monthly_amount": "10", field: "ac\x00me"}

        response = api.post("/api/v1/budgets/", body, format="json")

        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]

    def test_a_second_budget_with_the_same_name_is_400(self, api, acme):
        body = {"organization": "acme", "name": "Total", "monthly_amount": "10"}
        assert api.post("/api/v1/budgets/", body, format="json").status_code == 201

        response = api.post("/api/v1/budgets/", body, format="json")

        assert response.status_code == 400
        assert Budget.objects.count() == 1

    @pytest.mark.parametrize("amount", ["-5", "0", "abc", "1e400"])
    def test_bad_amounts_are_400(self, api, acme, amount):
        response = api.post(
            "/api/v1/budgets/",
            {"organization": "acme", "name": "x", "monthly_amount": amount},
            format="json",
        )

        assert response.status_code == 400


def test_schema_and_docs_are_served(client, db):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200 and b"/api/v1/costs/summary/" in schema.content
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_the_schema_describes_the_role_arn_in_plain_text(client, db):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    role_arn = schema["components"]["schemas"]["CloudAccount"]["properties"]["role_arn"]
    assert role_arn["description"].startswith("arn:aws:iam::<account ID>:role/<name> ")


class TestProfileTokens:
    def test_create_shows_the_key_once_and_it_works(self, client, alice):
        client.force_login(alice)

        response = client.post("/profile/tokens/", follow=True)

        page = response.content.decode()
        key = page.split("it is not shown again): ")[1].split("<")[0].strip()
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert api.get("/api/v1/accounts/").status_code == 200
        assert client.get("/profile/").content.decode().count(key) == 0

    def test_revoke_stops_it_and_only_for_its_owner(self, client, alice, charlie, capsys):
        from knox.models import AuthToken

        key = token_for("alice", capsys)
        token = AuthToken.objects.get(user=alice)
        client.force_login(charlie)
        assert client.post(f"/profile/tokens/{token.token_key}/revoke/").status_code == 404

        client.force_login(alice)
        client.post(f"/profile/tokens/{token.token_key}/revoke/")

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert api.get("/api/v1/accounts/").status_code == 401

    def test_revoke_needs_post(self, client, alice, capsys):
        from knox.models import AuthToken

        token_for("alice", capsys)
        client.force_login(alice)
        token = AuthToken.objects.get(user=alice)

        assert client.get(f"/profile/tokens/{token.token_key}/revoke/").status_code == 405
