"""The waste kinds beyond idle and oversized EC2 (issue 20) where members see recommendations:
dashboard list and detail, the API's kind filter (the admin's: tests/admin/test_new_kinds.py).
Rows are created directly: the detectors have their own tests."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from findings.display import price_line, readable_evidence
from findings.models import Recommendation
from fleet.models import Instance
from tests.api.test_api import token_for

Kind = Recommendation.Kind
pytestmark = pytest.mark.django_db

NEW_KINDS = {
    # kind: (resource_id, what the pages call the resource)
    Kind.OLD_GENERATION: ("i-0old", "EC2 instance"),
    Kind.GRAVITON: ("i-0arm", "EC2 instance"),
    Kind.OLD_SNAPSHOT: ("snap-0old", "EBS snapshot"),
    Kind.IDLE_DATABASE: ("legacy-reports-db", "RDS instance"),
    Kind.IDLE_NAT_GATEWAY: ("nat-0idle", "NAT gateway"),
    Kind.IDLE_LOAD_BALANCER: ("app/retired-alb/50dc6c495c0c9188", "Load balancer"),
}
LIST_PRICE = {
    "nat_hourly_price": "0.0480",
    "nat_hourly_unit": "hour",
    "nat_hourly_price_source": "price_list",
    "nat_hourly_price_region": "eu-west-1",
    "nat_hourly_price_as_of": "2026-12-01",
}
TABLE_PRICE = {
    "snapshot_price": "0.05",
    "snapshot_unit": "GB-month",
    "snapshot_price_source": "price_table",
    "snapshot_price_region": "us-east-1",
    "snapshot_price_as_of": "2025-01-01",
}


@pytest.fixture
def recs(acme_account):
    # A running instance with the new EC2 kinds' IDs: still no Stop button for them.
    for instance_id in ("i-0old", "i-0arm"):
        Instance.objects.create(
            account=acme_account,
            region="eu-west-1",
            instance_id=instance_id,
            instance_type="m4.large",
            state="running",
        )
    made = {}
    for n, (kind, (resource_id, _)) in enumerate(NEW_KINDS.items()):
        made[kind] = Recommendation.objects.create(
            account=acme_account,
            kind=kind,
            resource_id=resource_id,
            region="eu-west-1",
            summary=f"{resource_id} costs for nothing",
            action=f"Do the {kind} thing",
            target_type="m7g.large" if kind == Kind.GRAVITON else "",
            monthly_saving=Decimal("35.04") + n,
            saving_basis=Recommendation.SavingBasis.PRICE_LIST,
            evidence={"days": 14, **LIST_PRICE, **TABLE_PRICE},
        )
    return made


def test_a_price_reads_as_one_line_with_its_source_region_and_date():
    assert price_line(LIST_PRICE, "nat_hourly") == (
        "$0.048/hour, AWS Price List eu-west-1, 2026-12-01"
    )
    assert price_line(TABLE_PRICE, "snapshot") == (
        "$0.05/GB-month, price table (us-east-1), 2025-01-01"
    )
    shown = readable_evidence({"days": 14, **LIST_PRICE, "target_type": "m5.large"})
    assert shown == {
        "days": 14,
        "nat_hourly price": "$0.048/hour, AWS Price List eu-west-1, 2026-12-01",
        "target_type": "m5.large",
    }
    # A figure that merely ends in _price, with no provenance, is left alone.
    assert readable_evidence({"spot_price": "0.01"}) == {"spot_price": "0.01"}
    # Detectors keep their saving's figures under "saving": read the same way.
    assert readable_evidence({"saving": {**LIST_PRICE, "monthly_saving": "35.04"}}) == {
        "saving": {
            "nat_hourly price": "$0.048/hour, AWS Price List eu-west-1, 2026-12-01",
            "monthly_saving": "35.04",
        }
    }


def test_the_dashboard_list_labels_each_new_kind_without_instance_buttons(client, alice, recs):
    client.force_login(alice)

    body = client.get(reverse("recommendation-list")).content.decode()

    for kind, (resource_id, resource_type) in NEW_KINDS.items():
        rec = recs[kind]
        assert f"{resource_type} <code>{resource_id}</code> · {rec.get_kind_display()}" in body
        assert f"${rec.monthly_saving}/month" in body
    assert ">Stop</a>" not in body
    assert "Schedule…" not in body


@pytest.mark.parametrize("kind", list(NEW_KINDS))
def test_the_dashboard_detail_shows_the_saving_and_the_prices_it_used(client, alice, recs, kind):
    client.force_login(alice)
    rec = recs[kind]
    resource_id, resource_type = NEW_KINDS[kind]

    body = client.get(reverse("recommendation-detail", args=[rec.pk])).content.decode()

    assert f"<dd>{rec.get_kind_display()}</dd>" in body
    assert f"{resource_type} <code>{resource_id}</code> in eu-west-1" in body
    assert f"${rec.monthly_saving}/month (the AWS Price List API (cached))" in body
    assert "$0.048/hour, AWS Price List eu-west-1, 2026-12-01" in body
    assert "$0.05/GB-month, price table (us-east-1), 2025-01-01" in body
    assert "price source" not in body
    assert ">Stop</a>" not in body and "Run this schedule" not in body


def test_the_api_filters_by_each_new_kind(alice, recs, capsys):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for('alice', capsys)}")

    for kind, (resource_id, _) in NEW_KINDS.items():
        response = api.get("/api/v1/recommendations/", {"kind": kind})
        assert response.status_code == 200, kind
        (result,) = response.json()["results"]
        assert (result["kind"], result["resource_id"]) == (kind, resource_id)
        assert result["evidence"]["nat_hourly_price_source"] == "price_list"
    assert api.get("/api/v1/recommendations/", {"kind": "idle_lambda"}).status_code == 400
