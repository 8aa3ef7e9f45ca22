"""Every change list costs the same number of queries for N rows as for 3N: no query per row.

The main pages also pin the absolute count, so that a new per-page query is a decision made
in this file rather than a regression nobody noticed.
"""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from findings.models import Recommendation
from fleet.models import Instance
from tests.admin.conftest import APPS

N = 3
CHANGELISTS = sorted(
    f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
    for model in admin.site._registry
    if model._meta.app_label in APPS
)
# Every page: session, user, the user's permissions (own, groups'), the rows. Besides:
# costs: accounts, services, regions and organisations for the filters, the count (plus the
#   EXPLAIN before it on PostgreSQL), the date hierarchy's Min/Max and days from the rollups;
# instances: accounts filter, count and full count, open recommendations (one prefetch),
#   the distinct states, verdicts, regions and instance types for the filters;
# recommendations: accounts, regions and organisations filters, count and full count;
# alert history: organisations filter, count, date hierarchy (Min/Max, days);
# action log: accounts and organisations filters, count, date hierarchy (Min/Max, days).
PINNED = {
    "admin:costs_costrecord_changelist": 12,
    "admin:fleet_instance_changelist": 13,
    "admin:findings_recommendation_changelist": 10,
    "admin:alerts_alertevent_changelist": 9,
    "admin:actions_instanceaction_changelist": 10,
}
EXPLAIN_PAGES = {"admin:costs_costrecord_changelist"}


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), response


def test_the_pinned_pages_are_registered():
    assert len(CHANGELISTS) >= 17
    assert set(PINNED) <= set(CHANGELISTS)


@pytest.mark.django_db
@pytest.mark.parametrize("page", CHANGELISTS)
@pytest.mark.parametrize("persona", ["operator", "superuser"])
def test_the_query_count_does_not_grow_with_the_rows(client, olivia_staff, grow, page, persona):
    if persona == "superuser":
        olivia_staff.is_superuser = True
        olivia_staff.save()
    client.force_login(olivia_staff)
    url = reverse(page)
    grow(N)
    client.get(url)  # warm the per-process caches (content types, templates)

    few, _ = queries_for(client, url)
    grow(2 * N)
    many, response = queries_for(client, url)

    assert few == many
    assert len(response.context["cl"].result_list) >= 3 * N


@pytest.mark.django_db
@pytest.mark.parametrize("page", sorted(PINNED))
def test_the_main_pages_keep_their_query_count(
    client, olivia_staff, grow, django_assert_num_queries, page
):
    client.force_login(olivia_staff)
    grow(N)
    client.get(reverse(page))
    expected = PINNED[page] + (page in EXPLAIN_PAGES and connection.vendor == "postgresql")

    with django_assert_num_queries(expected):
        client.get(reverse(page))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "action"),
    [
        (Instance, "stop_selected"),
        (Recommendation, "stop_selected"),
        (Recommendation, "dismiss_selected"),
        (Recommendation, "snooze_selected"),
    ],
)
def test_confirmation_pages_do_not_grow_with_the_selection(
    client, olivia_staff, grow, model, action
):
    client.force_login(olivia_staff)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    def confirm():
        selected = [str(pk) for pk in model.objects.values_list("pk", flat=True)]
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, {"action": action, "_selected_action": selected})
        assert response.status_code == 200
        return len(captured)

    grow(N)
    confirm()  # warm the per-process caches
    few = confirm()
    grow(2 * N)

    assert confirm() == few
