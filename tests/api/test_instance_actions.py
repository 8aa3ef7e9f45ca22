"""POST /api/v1/instances/{id}/stop/ and /start/, and the actions/ audit log, end to end."""

import pytest
from rest_framework.test import APIClient

from actions.models import InstanceAction
from tests.fleet.emulator import PROTECT, ec2_client, launch, state_in_aws, synced


@pytest.fixture
def ec2(aws_faults, acme_account):
    return ec2_client(acme_account)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_admin_stops_and_starts_through_the_api(alice, acme_account, ec2):
    box = synced(acme_account, launch(ec2, "api-box"))
    api = client_for(alice)

    stopped = api.post(f"/api/v1/instances/{box.pk}/stop/", {"reason": "idle"}, format="json")
    again = api.post(f"/api/v1/instances/{box.pk}/stop/", {}, format="json")
    started = api.post(f"/api/v1/instances/{box.pk}/start/", {}, format="json")

    assert stopped.status_code == 200 and stopped.json()["result"] == "succeeded"
    assert again.json()["result"] == "no_op"
    assert started.json()["state"] == "running"
    assert state_in_aws(ec2, box.instance_id) == "running"
    log = api.get("/api/v1/actions/").json()["results"]
    assert [(row["action"], row["result"], row["actor"]) for row in log] == [
        ("start", "succeeded", "alice"),
        ("stop", "no_op", "alice"),
        ("stop", "succeeded", "alice"),
    ]


def test_a_viewer_gets_403_and_the_attempt_is_logged(bob, acme_account, ec2):
    box = synced(acme_account, launch(ec2, "api-box"))

    response = client_for(bob).post(f"/api/v1/instances/{box.pk}/stop/", {}, format="json")

    assert response.status_code == 403
    assert state_in_aws(ec2, box.instance_id) == "running"
    assert InstanceAction.objects.get().result == "refused"


def test_a_protected_instance_is_409_with_the_reason(alice, acme_account, ec2):
    box = synced(acme_account, launch(ec2, "keep-me", tags=PROTECT))

    response = client_for(alice).post(f"/api/v1/instances/{box.pk}/stop/", {}, format="json")

    assert response.status_code == 409
    assert "protect" in response.json()["message"].lower()


def test_another_organisations_instance_is_404(charlie, acme_account, ec2):
    box = synced(acme_account, launch(ec2, "api-box"))

    response = client_for(charlie).post(f"/api/v1/instances/{box.pk}/stop/", {}, format="json")

    assert response.status_code == 404
    assert not InstanceAction.objects.exists()
    assert state_in_aws(ec2, box.instance_id) == "running"


def test_a_recommendation_of_another_account_is_400(alice, acme_account, ec2):
    box = synced(acme_account, launch(ec2, "api-box"))

    response = client_for(alice).post(
        f"/api/v1/instances/{box.pk}/stop/", {"recommendation": 999999}, format="json"
    )

    assert response.status_code == 400
    assert "recommendation" in response.json()["error"]["fields"]
