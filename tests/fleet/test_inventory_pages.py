"""The inventory beyond EC2 in the API (/api/v1/databases/, ...) and the admin: read-only,
scoped to the caller's organisations, filterable by account and region."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from fleet.models import DatabaseInstance, LoadBalancer, NatGateway, Snapshot

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "databases": "db_instance_id",
    "snapshots": "snapshot_id",
    "nat-gateways": "nat_gateway_id",
    "load-balancers": "dimension",
}


def seed(account, tag: str, region: str = "us-east-1", gone=False):
    common = {"account": account, "region": region, "gone_at": timezone.now() if gone else None}
    DatabaseInstance.objects.create(
        **common, db_instance_id=f"db-{tag}", engine="aurora-mysql", instance_class="db.r6g.large",
        status="available", cluster_id=f"cluster-{tag}",
    )  # fmt: skip
    Snapshot.objects.create(
        **common, snapshot_id=f"snap-{tag}", size_gib=80, state="completed",
        image_ids=[f"ami-{tag}"],
    )  # fmt: skip
    NatGateway.objects.create(**common, nat_gateway_id=f"nat-{tag}", state="available")
    LoadBalancer.objects.create(
        **common, dimension=f"app/{tag}/0123", arn=f"arn:{tag}", name=tag, lb_type="application",
        state="active", registered_targets=2, healthy_targets=1,
    )  # fmt: skip


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def world(acme_account, globex_account, acme):
    from accounts.models import CloudAccount

    second = CloudAccount.objects.create(
        organization=acme,
        name="Acme staging",
        account_id="222222222222",
        role_arn="arn:aws:iam::222222222222:role/SpendlensAccess",
        regions=["eu-west-1"],
    )
    seed(acme_account, "prod")
    seed(acme_account, "old", gone=True)
    seed(second, "staging", region="eu-west-1")
    seed(globex_account, "globex")
    return second


def ids(response, field):
    assert response.status_code == 200, response.content
    return sorted(row[field] for row in response.json()["results"])


@pytest.mark.parametrize(("path", "field"), ENDPOINTS.items())
def test_lists_show_only_the_callers_organisations(api, world, path, field):
    rows = ids(api.get(f"/api/v1/{path}/"), field)

    assert len(rows) == 3
    assert not any("globex" in row for row in rows)


@pytest.mark.parametrize(("path", "field"), ENDPOINTS.items())
def test_filter_by_account_region_and_presence(api, world, path, field):
    by_account = ids(api.get(f"/api/v1/{path}/", {"account": "222222222222"}), field)
    by_region = ids(api.get(f"/api/v1/{path}/", {"region": "us-east-1"}), field)
    present = ids(api.get(f"/api/v1/{path}/", {"present": "true", "region": "us-east-1"}), field)

    assert len(by_account) == 1 and "staging" in by_account[0]
    assert len(by_region) == 2
    assert len(present) == 1 and "prod" in present[0]


def test_another_organisations_row_is_a_404(api, world, globex_account):
    database = DatabaseInstance.objects.get(account=globex_account)

    assert api.get(f"/api/v1/databases/{database.pk}/").status_code == 404


def test_the_lists_are_read_only(api, world):
    database = DatabaseInstance.objects.get(db_instance_id="db-prod")

    assert api.post("/api/v1/databases/", {"db_instance_id": "x"}).status_code == 405
    assert api.delete(f"/api/v1/databases/{database.pk}/").status_code == 405


def test_a_database_shows_what_the_detector_reads(api, world):
    row = api.get("/api/v1/databases/", {"region": "us-east-1", "present": "true"}).json()
    database = row["results"][0]

    assert database["account"] == "111111111111"
    assert database["is_aurora"] is True and database["cluster_id"] == "cluster-prod"
    snapshot = api.get("/api/v1/snapshots/", {"present": "true", "region": "us-east-1"}).json()
    assert snapshot["results"][0]["image_ids"] == ["ami-prod"]


def test_the_schema_documents_the_new_lists(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    for path in ENDPOINTS:
        parameters = {p["name"] for p in schema["paths"][f"/api/v1/{path}/"]["get"]["parameters"]}
        assert {"account", "region", "present"} <= parameters


# --- Admin -------------------------------------------------------------------------------------


@pytest.fixture
def staff(client, django_user_model, acme):
    """An admin of acme, as staff with the fleet's permissions (not a superuser)."""
    from django.contrib.auth.models import Permission

    from accounts.models import Membership

    user = django_user_model.objects.create_user("olga", email="olga@example.com", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="fleet"))
    Membership.objects.create(user=user, organization=acme, role="admin")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        ("databaseinstance", ["db-prod", "Aurora cluster volume", "db.r6g.large"]),
        ("snapshot", ["snap-prod", "ami-prod"]),
        ("natgateway", ["nat-prod"]),
        ("loadbalancer", ["prod", "1 / 2"]),
    ],
)
def test_admin_lists_the_organisations_resources(staff, world, model, shown):
    body = staff.get(reverse(f"admin:fleet_{model}_changelist")).content.decode()

    for text in shown:
        assert text in body
    assert "globex" not in body


def test_admin_gone_filter(staff, world):
    url = reverse("admin:fleet_natgateway_changelist")

    present = staff.get(url, {"in_aws": "yes"}).content.decode()
    gone = staff.get(url, {"in_aws": "no"}).content.decode()

    assert "nat-prod" in present and "nat-old" not in present
    assert "nat-old" in gone and "nat-prod" not in gone


def test_admin_pages_are_read_only(staff, world):
    database = DatabaseInstance.objects.get(db_instance_id="db-prod")

    assert staff.get(reverse("admin:fleet_databaseinstance_add")).status_code == 403
    response = staff.get(reverse("admin:fleet_databaseinstance_change", args=[database.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
