"""The commitments' admin pages: read-only, scoped, with days to expiry and utilization."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from commitments.models import Commitment, CommitmentDay
from tests.admin.conftest import make_staff

pytestmark = pytest.mark.django_db


def commitment(account, commitment_id, kind="savings_plan", days_left=45, **fields):
    now = timezone.now()
    return Commitment.objects.create(
        account=account,
        kind=kind,
        commitment_id=commitment_id,
        term_years=1,
        payment_option="no_upfront",
        start=now - timedelta(days=300),
        end=now + timedelta(days=days_left, hours=1),
        state="active",
        **fields,
    )


def test_the_list_shows_days_to_expiry_utilization_and_the_currency(
    client, alice, acme_account, globex_account
):
    commitment(acme_account, "sp-usd", plan_type="Compute", hourly_commitment=Decimal("2.5"))
    commitment(
        acme_account, "sp-eur", plan_type="Compute", hourly_commitment=Decimal(3), currency="EUR"
    )
    commitment(
        acme_account,
        "ri-old",
        kind="ec2_reserved",
        days_left=-3,
        instance_count=2,
        instance_type="m5.large",
        recurring_hourly=Decimal("0.05"),
    )
    commitment(globex_account, "sp-globex", plan_type="Compute", hourly_commitment=Decimal(9))
    yesterday = timezone.localdate() - timedelta(days=1)
    for percent in ("90", "100"):
        CommitmentDay.objects.create(
            account=acme_account,
            kind="savings_plan",
            source="explorer",
            day=yesterday - timedelta(days=int(percent) // 100),
            utilization_percent=Decimal(percent),
        )
    client.force_login(make_staff(alice))

    page = client.get(reverse("admin:commitments_commitment_changelist")).content.decode()

    assert "sp-usd" in page and "sp-eur" in page and "ri-old" in page
    assert "sp-globex" not in page  # another organisation's
    assert '<td class="field-days_to_expiry_shown">45</td>' in page
    assert '<td class="field-days_to_expiry_shown">expired</td>' in page
    assert "95.0%" in page  # the Savings Plans' utilization over the last 7 days
    assert "$2.50/h" in page and "3.00 EUR/h" in page  # never converted, never summed
    assert "2 x m5.large" in page


def test_the_pages_are_read_only(client, alice, acme_account):
    row = commitment(acme_account, "sp-1", plan_type="Compute")
    client.force_login(make_staff(alice))

    add = client.get(reverse("admin:commitments_commitment_add"))
    change = client.post(
        reverse("admin:commitments_commitment_change", args=[row.pk]), {"state": "retired"}
    )

    assert add.status_code == 403
    row.refresh_from_db()
    assert row.state == "active" and change.status_code in (200, 403)
