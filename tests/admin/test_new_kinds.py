"""The admin's recommendations pages with the waste kinds beyond idle and oversized EC2: each
labelled by its resource type, with its prices readable, and the kind filter offering it."""

import pytest
from django.urls import reverse

from tests.dashboard import test_new_kinds as dashboard

NEW_KINDS = dashboard.NEW_KINDS
pytestmark = pytest.mark.django_db
recs = dashboard.recs  # the same rows, made directly


def test_the_admin_lists_and_shows_each_new_kind(client, olivia_staff, recs):
    client.force_login(olivia_staff)

    listing = client.get(reverse("admin:findings_recommendation_changelist")).content.decode()

    for kind, (resource_id, resource_type) in NEW_KINDS.items():
        assert f"{resource_id} ({resource_type})" in listing
        assert recs[kind].get_kind_display() in listing
    assert '<td class="field-basis">Price List</td>' in listing
    for kind in NEW_KINDS:
        page = client.get(reverse("admin:findings_recommendation_change", args=[recs[kind].pk]))
        body = page.content.decode()
        assert page.status_code == 200
        assert (
            '<th scope="row">nat hourly price</th>'
            "<td>$0.048/hour, AWS Price List eu-west-1, 2026-12-01</td>"
        ) in body


def test_the_admin_kind_filter_offers_each_new_kind(client, olivia_staff, recs):
    client.force_login(olivia_staff)
    page = reverse("admin:findings_recommendation_changelist")

    for kind, (resource_id, _) in NEW_KINDS.items():
        body = client.get(page, {"kind__exact": kind}).content.decode()
        assert f"{resource_id} (" in body
        others = [rid for k, (rid, _) in NEW_KINDS.items() if k != kind]
        assert not any(f"{rid} (" in body for rid in others), kind
