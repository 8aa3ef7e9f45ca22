"""Dashboard Stop/Start: a confirmation page first, a CSRF-protected POST, the shared path."""

from decimal import Decimal

import pytest
from django.test import Client

from actions.models import InstanceAction
from findings.models import Recommendation
from tests.fleet.emulator import ec2_client, launch, state_in_aws, synced


@pytest.fixture
def ec2(aws_faults, acme_account):
    return ec2_client(acme_account)


@pytest.fixture
def box(ec2, acme_account):
    instance = synced(acme_account, launch(ec2, "dev-box"))
    Recommendation.objects.create(
        account=acme_account,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        resource_id=instance.instance_id,
        region=instance.region,
        instance=instance,
        summary="idle",
        action="Stop it",
        monthly_saving=Decimal("61.32"),
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )
    return instance


def test_the_list_shows_a_stop_button_and_the_saving(client, alice, box):
    client.force_login(alice)

    page = client.get("/instances/").content.decode()

    assert box.instance_id in page and "$61.32/month" in page
    assert f"/instances/{box.pk}/stop/" in page


def test_the_confirmation_page_changes_nothing(client, alice, box, ec2):
    client.force_login(alice)

    page = client.get(f"/instances/{box.pk}/stop/").content.decode()

    assert "$61.32" in page and box.instance_id in page and "csrfmiddlewaretoken" in page
    assert state_in_aws(ec2, box.instance_id) == "running"
    assert not InstanceAction.objects.exists()


def test_confirming_stops_it_and_starting_brings_it_back(client, alice, box, ec2):
    client.force_login(alice)

    stopped = client.post(f"/instances/{box.pk}/stop/", follow=True).content.decode()
    assert state_in_aws(ec2, box.instance_id) == "stopped"
    assert "stopped" in stopped
    client.post(f"/instances/{box.pk}/start/")

    assert state_in_aws(ec2, box.instance_id) == "running"
    assert list(InstanceAction.objects.order_by("id").values_list("action", "result")) == [
        ("stop", "succeeded"),
        ("start", "succeeded"),
    ]
    assert InstanceAction.objects.get(action="stop").recommendation.resource_id == box.instance_id


def test_a_post_without_the_csrf_token_is_refused(alice, box, ec2):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(f"/instances/{box.pk}/stop/")

    assert response.status_code == 403
    assert state_in_aws(ec2, box.instance_id) == "running"


def test_a_viewer_sees_why_and_is_refused(client, bob, box, ec2):
    client.force_login(bob)

    assert "Only an operator or admin" in client.get(f"/instances/{box.pk}/stop/").content.decode()
    client.post(f"/instances/{box.pk}/stop/")

    assert state_in_aws(ec2, box.instance_id) == "running"
    assert InstanceAction.objects.get().result == "refused"


def test_another_organisation_gets_404(client, charlie, box):
    client.force_login(charlie)

    assert client.get(f"/instances/{box.pk}/stop/").status_code == 404
    assert client.post(f"/instances/{box.pk}/stop/").status_code == 404
    assert box.instance_id not in client.get("/instances/").content.decode()


def test_an_unknown_action_is_404(client, alice, box):
    client.force_login(alice)

    assert client.post(f"/instances/{box.pk}/terminate/").status_code == 404


def test_the_outcome_names_the_instance_once(client, alice, box):
    client.force_login(alice)

    response = client.post(f"/instances/{box.pk}/stop/", follow=True)

    (message,) = [str(m) for m in response.context["messages"]]
    assert message.count(box.instance_id) == 1, message
    assert message.startswith("Stopped dev-box (")


@pytest.mark.parametrize(
    ("launch_extra", "warning"),
    [
        ({"tags": {"spendlens:protect": "true"}}, "carries the protect tag spendlens:protect=true"),
        ({"asg": "web-asg"}, "belongs to Auto Scaling group web-asg"),
    ],
    ids=["protected", "auto-scaling-member"],
)
def test_no_stop_button_for_what_spendlens_would_refuse(
    client, alice, ec2, acme_account, launch_extra, warning
):
    tags = dict(launch_extra.get("tags", {}))
    if "asg" in launch_extra:
        tags["aws:autoscaling:groupName"] = launch_extra["asg"]
    instance = synced(acme_account, launch(ec2, "keeper", tags=tags))
    client.force_login(alice)

    listing = client.get("/instances/").content.decode()
    confirm = client.get(f"/instances/{instance.pk}/stop/").content.decode()

    assert f"/instances/{instance.pk}/stop/" not in listing
    assert f"not stoppable: {warning}" in listing
    assert f"Spendlens will not stop it: it {warning}." in confirm
    assert '<form method="post">' not in confirm  # nothing to confirm


def test_a_viewer_is_offered_no_buttons(client, bob, box):
    client.force_login(bob)

    listing = client.get("/instances/").content.decode()

    assert f"/instances/{box.pk}/stop/" not in listing
    assert "Only operators and admins can stop or start instances" in listing
