"""The cost records page: no COUNT(*) of a big table, filters and dates that never scan it."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.paginators import Estimate, EstimatedCountPaginator
from costs.models import CostRecord, CostRollup
from tests.marks import postgresql_only

PAGE = "admin:costs_costrecord_changelist"
planner_estimate = postgresql_only("the planner's row estimate")


def cost_table_queries(captured):
    return [q["sql"] for q in captured.captured_queries if '"costs_costrecord"' in q["sql"]]


def render(client, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(PAGE), params)
    assert response.status_code == 200
    return response, cost_table_queries(captured)


@pytest.fixture
def page(client, olivia_staff, grow):
    grow(4)
    client.force_login(olivia_staff)
    return client


@planner_estimate
def test_a_large_estimate_is_shown_without_counting(page, monkeypatch):
    # Stands for a table of millions: any estimate is "large" from here on.
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_below", 1)

    response, queries = render(page)

    assert not [sql for sql in queries if "COUNT(" in sql.upper()]
    assert any(sql.upper().startswith("EXPLAIN (FORMAT JSON)") for sql in queries)
    assert isinstance(response.context["cl"].result_count, Estimate)
    assert "about " in response.content.decode()


@planner_estimate
def test_a_big_analyzed_table_is_estimated_at_the_default_threshold(page, acme, acme_account):
    CostRecord.objects.bulk_create(
        CostRecord(
            organization=acme,
            account=acme_account,
            source="explorer",
            metric="unblended",
            sub_account_id=acme_account.account_id,
            usage_date=date(2026, 9, 1 + n % 30),
            service="Amazon Elastic Compute Cloud - Compute",
            region="us-east-1",
            resource_id=f"i-{n:017x}",
            amount=Decimal("0.5"),
        )
        for n in range(12_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE costs_costrecord")

    response, queries = render(page)

    assert not [sql for sql in queries if "COUNT(" in sql.upper()]
    assert response.context["cl"].result_count >= EstimatedCountPaginator.exact_count_below


@planner_estimate
def test_a_small_estimate_is_counted_exactly(page):
    response, queries = render(page, service="Service 1")

    assert [sql for sql in queries if "COUNT(" in sql.upper()]
    assert response.context["cl"].result_count == 2
    assert not isinstance(response.context["cl"].result_count, Estimate)


def test_filters_and_dates_never_read_the_cost_table(page):
    response, queries = render(page)

    # The rows, and the count (or, on PostgreSQL, its estimate): nothing else.
    kinds = sorted(sql.split()[0] + (" COUNT" if "COUNT(" in sql else "") for sql in queries)
    expected = ["SELECT", "SELECT COUNT"]
    if connection.vendor == "postgresql":
        expected = ["EXPLAIN", "SELECT", "SELECT COUNT"]
    assert kinds == expected
    body = response.content.decode()
    assert "Service 3" in body and "(no region: global services)" in body
    assert "usage_date__day=2" in body  # the date hierarchy, from the rollups


def test_service_region_and_account_filters(page, second_account):
    by_service, _ = render(page, service="Service 2")
    global_only, _ = render(page, region="-")
    staging, _ = render(page, account=str(second_account.pk))

    assert {r.service for r in by_service.context["cl"].result_list} == {"Service 2"}
    assert {r.region for r in global_only.context["cl"].result_list} == {""}
    assert {r.account for r in staging.context["cl"].result_list} == {second_account}


def test_dates_drill_down_to_a_month_and_a_day(page):
    month, _ = render(page, usage_date__year=2026, usage_date__month=10)
    day, _ = render(page, usage_date__year=2026, usage_date__month=10, usage_date__day=3)

    assert "usage_date__day=5" in month.content.decode()
    assert {r.usage_date for r in day.context["cl"].result_list} == {date(2026, 10, 3)}


def test_amounts_read_as_money(page):
    body = render(page)[0].content.decode()

    assert '<td class="field-amount_money">$1,234.57</td>' in body
    assert "&lt;$0.01" in body  # a fraction of a cent is not $0.00
    assert "333333333333" in body  # billed in the export, no connected account


def test_another_organisation_sees_none_of_the_choices(client, charlie_staff, grow):
    grow(2)
    CostRollup.objects.filter(key="Service 1").update(key="acme-secret-service")
    client.force_login(charlie_staff)

    body = client.get(reverse(PAGE)).content.decode()

    assert "acme-secret-service" not in body and "Service 2" not in body
    assert "Acme production" not in body


def test_an_estimate_reads_as_one():
    assert str(Estimate(1234567)) == "about 1,234,567"
    assert Estimate(1234567) == 1234567
