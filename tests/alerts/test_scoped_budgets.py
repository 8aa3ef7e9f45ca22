"""Budgets and spike alerts scoped to a dimension value ("Team = payments")."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from alerts import rules
from alerts.models import AlertEvent, AlertKind, Budget
from allocation import engine
from allocation.models import FollowedValue
from tests.allocation.helpers import focus, team, written

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 23)
TAG = {"kind": "tag", "tag_key": "team"}
SUPPORT = {"name": "Support", "services": ["AWS Support"], "method": "proportional"}


@pytest.fixture
def teams(acme):
    """Payments 30/day and search 10/day since 1 November, plus support split between them."""
    dimension = team(acme, TAG, splits=[SUPPORT])
    for n in range(TODAY.day):
        day = TODAY.replace(day=n + 1)
        focus(acme, "30", tags={"team": "payments"}, day=day)
        focus(acme, "10", tags={"team": "search"}, day=day)
        focus(acme, "8", service="AWS Support", day=day)
    written(acme, TODAY.replace(day=1), TODAY)
    return dimension


def scoped(acme, dimension, value="payments", amount=1000):
    budget = Budget.objects.create(
        organization=acme,
        name=f"{value} budget",
        monthly_amount=amount,
        dimension=dimension,
        dimension_value=value,
    )
    budget.ensure_thresholds()
    return budget


def test_scoped_budget_spend_equals_the_rollups_of_its_value(acme, teams):
    budget = scoped(acme, teams)

    outlook = rules.budget_outlook(budget, TODAY)

    month = engine.rollup_totals(teams, TODAY.replace(day=1), TODAY)
    assert outlook.actual == month["payments"]
    assert outlook.actual == Decimal(23 * 36)  # 30 direct + 3/4 of the 8 support a day
    whole = rules.budget_outlook(Budget(organization=acme, monthly_amount=1), TODAY)
    assert whole.actual == Decimal(23 * 48)


def test_a_scoped_budget_alerts_on_its_value_only(alice, acme, teams):
    scoped(acme, teams, "payments", amount=1000)  # 828 spent: past 80%
    scoped(acme, teams, "search", amount=1000)  # 276 spent: nothing

    alerts = rules.budget_alerts(acme, TODAY)

    assert {a.subject.split(":")[3] for a in alerts} == {"50", "80", "100"}
    assert all(a.evidence["budget"] == "payments budget" for a in alerts)
    assert "Team = payments" in alerts[0].title


def test_scoped_budget_validation(acme, globex, acme_account, teams):
    other = team(globex, TAG)
    cases = [
        ({"dimension": other, "dimension_value": "payments"}, "dimension"),
        ({"dimension": teams, "dimension_value": " "}, "dimension_value"),
        ({"dimension_value": "payments"}, "dimension_value"),
        ({"dimension": teams, "dimension_value": "payments", "account": acme_account}, "dimension"),
    ]
    for fields, field in cases:
        budget = Budget(organization=acme, name="x", monthly_amount=10, **fields)
        with pytest.raises(ValidationError) as error:
            budget.full_clean()
        assert field in error.value.message_dict, fields


def test_budget_api_takes_a_dimension_of_the_organisation_only(alice, acme, globex, teams):
    client = APIClient()
    client.force_authenticate(alice)
    body = {
        "organization": "acme",
        "name": "Payments",
        "monthly_amount": "500.00",
        "dimension": teams.pk,
        "dimension_value": "payments",
    }

    response = client.post("/api/v1/budgets/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["dimension"] == teams.pk
    other = team(globex, TAG)
    body = {**body, "name": "Theirs", "dimension": other.pk}
    response = client.post("/api/v1/budgets/", body, format="json")
    assert response.status_code == 400 and "dimension" in response.json()["error"]["fields"]
    assert list(Budget.objects.values_list("name", flat=True)) == ["Payments"]


def test_a_value_spike_alerts_the_members_following_it(alice, bob, acme):
    dimension = team(acme, TAG)
    dimension.spike_alerts = True
    dimension.save()
    yesterday = TODAY - timedelta(days=1)
    for n in range(1, 15):
        focus(acme, "100", tags={"team": "payments"}, day=yesterday - timedelta(days=n))
        focus(acme, "100", tags={"team": "search"}, day=yesterday - timedelta(days=n))
    focus(acme, "300", tags={"team": "payments"}, day=yesterday)
    focus(acme, "100", tags={"team": "search"}, day=yesterday)
    written(acme, yesterday - timedelta(days=14), yesterday)
    FollowedValue.objects.create(user=bob, dimension=dimension, value="payments")
    FollowedValue.objects.create(user=alice, dimension=dimension, value="search")

    rules.check_alerts(acme, TODAY)

    # The service's own spike (Amazon EC2 in the account) goes to every member, as before.
    events = AlertEvent.objects.filter(kind=AlertKind.COST_SPIKE, subject__startswith="spike:team")
    assert [(e.subject, e.recipient) for e in events] == [("spike:team=payments:2026-11-22", bob)]
    assert events.get().evidence["cost"] == "300.00"
    rules.check_alerts(acme, TODAY)
    assert events.count() == 1


def test_no_value_spikes_without_spike_alerts_on_the_dimension(bob, acme):
    dimension = team(acme, TAG)
    yesterday = TODAY - timedelta(days=1)
    for n in range(1, 15):
        focus(acme, "100", tags={"team": "payments"}, day=yesterday - timedelta(days=n))
    focus(acme, "300", tags={"team": "payments"}, day=yesterday)
    written(acme, yesterday - timedelta(days=14), yesterday)
    FollowedValue.objects.create(user=bob, dimension=dimension, value="payments")

    assert rules.value_spike_alerts(acme, yesterday, yesterday) == []
    dimension.spike_alerts = True
    dimension.save()
    assert len(rules.value_spike_alerts(acme, yesterday, yesterday)) == 1
