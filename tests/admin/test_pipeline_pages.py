"""Every costs admin page answers for an operator and shows nothing of other organisations."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from actions.models import AutoStopNotice, AutoStopPolicy, InstanceAction
from costs.models import CostRecord, SyncRun
from findings.models import DetectionSettings, Recommendation
from fleet.models import Instance

PAGES = [
    "admin:costs_costrecord_changelist",
    "admin:costs_syncrun_changelist",
    "admin:costs_billingimport_changelist",
    "admin:fleet_instance_changelist",
    "admin:fleet_volume_changelist",
    "admin:fleet_elasticip_changelist",
    "admin:findings_recommendation_changelist",
    "admin:findings_detectionsettings_changelist",
    "admin:actions_instanceaction_changelist",
    "admin:actions_autostoppolicy_changelist",
    "admin:actions_autostopnotice_changelist",
]


@pytest.fixture
def acme_rows(acme, acme_account):
    instance = Instance.objects.create(
        account=acme_account,
        region="us-east-1",
        instance_id="i-0acme000000000001",
        name="acme-secret-box",
        instance_type="m5.large",
        state="running",
    )
    rec = Recommendation.objects.create(
        account=acme_account,
        kind=Recommendation.Kind.IDLE_INSTANCE,
        resource_id=instance.instance_id,
        region="us-east-1",
        summary="acme-secret-box is idle",
        action="Stop it",
        saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
    )
    InstanceAction.objects.create(
        organization=acme,
        account=acme_account,
        instance=instance,
        aws_instance_id=instance.instance_id,
        region="us-east-1",
        action="stop",
        actor_label="acme-secret-operator",
        result=InstanceAction.Result.SUCCEEDED,
    )
    AutoStopPolicy.objects.create(account=acme_account, enabled=True)
    AutoStopNotice.objects.create(
        account=acme_account,
        recommendation=rec,
        instance=instance,
        dry_run=True,
        stop_after="2026-11-02T00:00:00Z",
    )
    CostRecord.objects.create(
        organization=acme,
        account=acme_account,
        source="explorer",
        metric="unblended",
        sub_account_id=acme_account.account_id,
        usage_date="2026-11-01",
        service="acme-secret-service",
        amount=5,
    )
    SyncRun.objects.create(account=acme_account, status=SyncRun.Status.SUCCEEDED, requests_made=2)
    DetectionSettings.for_organization(acme)


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_pages_render_for_the_owner(client, alice, acme_rows, page):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)

    response = client.get(reverse(page))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_another_organisation_sees_nothing(client, charlie, acme_rows, page):
    charlie.is_staff = True
    charlie.save()
    charlie.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["costs", "fleet", "findings", "actions"]
        )
    )
    client.force_login(charlie)

    body = client.get(reverse(page)).content.decode()

    for secret in ("acme-secret", "i-0acme000000000001", "Acme"):
        assert secret not in body
