"""Tag keys in the admin: added per organisation, scoped, and the split Cost Explorer reported."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from costs.models import TagKey, TagSpend

pytestmark = pytest.mark.django_db
ADD = "/admin/costs/tagkey/add/"


def test_an_operator_adds_a_tag_key_and_is_told_the_next_sync_pulls_it(client, olivia_staff, acme):
    client.force_login(olivia_staff)
    assert "The next Cost Explorer sync pulls this key" in client.get(ADD).content.decode()

    response = client.post(ADD, {"organization": acme.pk, "key": "user:équipe"})

    assert response.status_code == 302, response.content.decode()
    assert list(TagKey.objects.values_list("organization", "key")) == [(acme.pk, "user:équipe")]
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Tag key “user:équipe” saved. The next Cost Explorer sync pulls" in said


def test_a_key_twice_in_one_organisation_is_a_form_error(client, olivia_staff, acme):
    TagKey.objects.create(organization=acme, key="Team")
    client.force_login(olivia_staff)

    response = client.post(ADD, {"organization": acme.pk, "key": "Team"})

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert TagKey.objects.count() == 1


def test_another_organisations_keys_and_spend_are_neither_listed_nor_choosable(
    client, olivia_staff, acme, globex, globex_account
):
    TagKey.objects.create(organization=globex, key="globex-secret-key")
    TagSpend.objects.create(
        organization=globex,
        account=globex_account,
        sub_account_id=globex_account.account_id,
        usage_date=date(2026, 11, 1),
        service="globex-secret-service",
        tag_key="globex-secret-key",
        tag_value="v",
        amount=Decimal(1),
    )
    client.force_login(olivia_staff)

    for url in ("/admin/costs/tagkey/", "/admin/costs/tagspend/"):
        page = client.get(url)
        assert page.status_code == 200
        assert "globex-secret" not in page.content.decode()
    response = client.post(ADD, {"organization": globex.pk, "key": "Team"})
    assert response.status_code == 200  # "not one of the available choices"
    assert not TagKey.objects.filter(key="Team").exists()


def test_tag_spend_is_read_only_and_shows_untagged_spend(client, olivia_staff, acme_account):
    spend = TagSpend.objects.create(
        organization=acme_account.organization,
        account=acme_account,
        sub_account_id=acme_account.account_id,
        usage_date=date(2026, 11, 1),
        service="AWS Lambda",
        tag_key="Team",
        tag_value="",
        amount=Decimal("12.5"),
    )
    client.force_login(olivia_staff)

    page = client.get("/admin/costs/tagspend/").content.decode()

    assert "(untagged)" in page and "$12.50" in page
    assert client.get("/admin/costs/tagspend/add/").status_code == 403
    client.post(f"/admin/costs/tagspend/{spend.pk}/change/", {"amount": "99"})
    spend.refresh_from_db()
    assert spend.amount == Decimal("12.5")
