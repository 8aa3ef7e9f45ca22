"""The accounts admin: discover an AWS Organization's accounts, then activate them."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import CloudAccount

CHANGELIST = "admin:accounts_cloudaccount_changelist"


def act(client, action, accounts):
    response = client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(a.pk) for a in accounts]},
    )
    assert response.status_code == 302
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_an_operator_discovers_then_activates_the_linked_accounts(
    client, olivia_staff, aws_organization, payer
):
    client.force_login(olivia_staff)

    said = act(client, "discover_linked_accounts", [payer])

    assert said == [
        f"{payer}: 4 accounts in the AWS Organization; added 2 (inactive: create their roles "
        "with their ExternalIds, then activate them), 1 closed in AWS and not added, "
        "0 here but not in that AWS Organization."
    ]
    added = CloudAccount.objects.filter(is_active=False)
    assert added.count() == 2

    said = act(client, "activate", list(added))

    assert said[-1].startswith("Activated 2 account(s)")
    assert CloudAccount.objects.filter(is_active=False).count() == 0


@pytest.mark.django_db
def test_a_viewer_neither_discovers_nor_activates(
    client, bob_staff, aws_organization, payer, acme_account
):
    CloudAccount.objects.filter(pk=acme_account.pk).update(is_active=False)
    client.force_login(bob_staff)

    said = act(client, "discover_linked_accounts", [payer])

    assert said == [f"{payer}: only operators can add accounts."]
    assert CloudAccount.objects.count() == 2

    said = act(client, "activate", [acme_account])

    assert said[-1] == "Only operators can activate accounts; others were left."
    acme_account.refresh_from_db()
    assert acme_account.is_active is False


@pytest.mark.django_db
def test_discovering_from_a_member_account_says_to_pick_the_management_one(
    client, olivia_staff, acme_account
):
    client.force_login(olivia_staff)

    said = act(client, "discover_linked_accounts", [acme_account])

    assert said == [
        "Select a management account: only it can list its AWS Organization's accounts."
    ]


@pytest.mark.django_db
def test_an_aws_refusal_is_a_message_not_an_error_page(client, olivia_staff, aws_faults, payer):
    aws_faults.fail("ListAccounts", "AccessDeniedException", "denied", times=6)
    client.force_login(olivia_staff)

    said = act(client, "discover_linked_accounts", [payer])

    assert len(said) == 1 and "may not call organizations:ListAccounts" in said[0]
    assert CloudAccount.objects.count() == 1


@pytest.mark.django_db
def test_staff_who_may_only_view_accounts_are_not_offered_the_actions(client, olivia_staff, payer):
    from django.contrib.auth.models import Permission

    olivia_staff.user_permissions.set(Permission.objects.filter(codename="view_cloudaccount"))
    client.force_login(olivia_staff)

    page = client.get(reverse(CHANGELIST))

    assert page.status_code == 200
    actions = dict(page.context["action_form"].fields["action"].choices)
    assert "discover_linked_accounts" not in actions and "activate" not in actions
    assert "test_connection" in actions
