"""Discovery of an AWS Organization's accounts from its management account (the emulator)."""

import csv
import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from accounts import aws as aws_module
from accounts.discovery import DiscoveryError, discover
from accounts.models import CloudAccount
from tests.marks import postgresql_only
from tests.organizations import MANAGEMENT_ID


def test_discovery_adds_the_active_linked_accounts_inactive_with_their_own_external_ids(
    aws_organization, payer
):
    result = discover(payer)

    added = {a.account_id: a for a in result.added}
    wanted = {aws_organization["payments-prod"], aws_organization["search-prod"]}
    assert set(added) == wanted
    for account_id, account in added.items():
        stored = CloudAccount.objects.get(organization=payer.organization, account_id=account_id)
        assert stored.is_active is False  # until its role exists
        assert stored.role_arn == f"arn:aws:iam::{account_id}:role/platform/SpendlensAccess"
        assert stored.regions == ["us-east-1", "eu-west-1"]
        assert stored.external_id == account.external_id
    assert {added[i].name for i in wanted} == {"payments-prod", "search-prod"}
    assert len({a.external_id for a in result.added} | {payer.external_id}) == 3
    assert [a.account_id for a in result.known] == [MANAGEMENT_ID]
    assert [(a.account_id, a.status) for a in result.closed] == [
        (aws_organization["old-sandbox"], "SUSPENDED")
    ]
    assert len(result.linked) == 4


def test_discovering_again_adds_nothing_twice_and_keeps_what_people_changed(
    aws_organization, payer
):
    first = discover(payer)
    renamed = first.added[0]
    CloudAccount.objects.filter(pk=renamed.pk).update(name="Payments", is_active=True)

    again = discover(payer)

    assert again.added == []
    assert len(again.known) == 3
    assert CloudAccount.objects.filter(organization=payer.organization).count() == 3
    renamed.refresh_from_db()
    assert (renamed.name, renamed.is_active) == ("Payments", True)


def test_a_dry_run_adds_nothing_and_says_what_it_would(aws_organization, payer, capsys):
    call_command("discover_accounts", "--org", "acme", "--dry-run")

    out = capsys.readouterr().out
    assert "4 accounts in the AWS Organization; 1 already in acme, would add 2" in out
    assert "1 closed in AWS and not added" in out
    assert f"not added {aws_organization['old-sandbox']} 'old-sandbox': SUSPENDED" in out
    assert CloudAccount.objects.count() == 1


def test_the_csv_lists_every_account_with_the_external_id_its_role_needs(
    aws_organization, payer, capsys
):
    call_command("discover_accounts", "--org", "acme", "--csv")

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_id = {row["account_id"]: row for row in rows}
    assert set(by_id) == {MANAGEMENT_ID, *aws_organization.values()}
    for account in CloudAccount.objects.all():
        row = by_id[account.account_id]
        assert (row["role_arn"], row["external_id"]) == (account.role_arn, account.external_id)
    assert by_id[MANAGEMENT_ID]["spendlens"] == "active"
    assert by_id[aws_organization["search-prod"]]["spendlens"] == "added"
    assert by_id[aws_organization["old-sandbox"]]["spendlens"] == "suspended"
    assert by_id[aws_organization["old-sandbox"]]["external_id"] == ""


def test_accounts_outside_the_aws_organization_are_reported_not_touched(
    aws_organization, payer, capsys
):
    stray = CloudAccount.objects.create(
        organization=payer.organization,
        account_id="333333333333",
        role_arn="arn:aws:iam::333333333333:role/SpendlensAccess",
        regions=["us-east-1"],
    )

    call_command("discover_accounts", "--org", "acme")

    out = capsys.readouterr().out
    assert "333333333333 '' is in acme but not in this AWS Organization" in out
    assert "added 2 (inactive)" in out
    stray.refresh_from_db()
    assert stray.is_active


def test_another_organisations_accounts_are_neither_known_nor_touched(
    aws_organization, payer, globex
):
    theirs = CloudAccount.objects.create(
        organization=globex,
        account_id=aws_organization["payments-prod"],
        role_arn=f"arn:aws:iam::{aws_organization['payments-prod']}:role/Theirs",
        regions=["us-east-1"],
    )

    result = discover(payer)

    assert aws_organization["payments-prod"] in {a.account_id for a in result.added}
    assert theirs not in result.known and theirs not in result.outside
    theirs.refresh_from_db()
    assert (theirs.organization, theirs.role_arn) == (
        globex,
        f"arn:aws:iam::{aws_organization['payments-prod']}:role/Theirs",
    )


def test_an_account_aws_does_not_list_as_management_is_a_clear_error(aws, payer):
    aws_module.clear_credential_cache()

    with pytest.raises(CommandError, match="not that organisation's management account"):
        call_command("discover_accounts", "--org", "acme")

    assert CloudAccount.objects.count() == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AWSOrganizationsNotInUseException", "not in an AWS Organization"),
        ("AccessDeniedException", "may not call organizations:ListAccounts"),
        ("TooManyRequestsException", "Rate exceeded"),
    ],
)
def test_aws_refusing_the_list_is_a_clear_error_and_adds_nothing(aws_faults, payer, code, message):
    aws_faults.fail("ListAccounts", code, "Rate exceeded", times=6)  # retries included

    with pytest.raises(CommandError, match=message):
        call_command("discover_accounts", "--org", "acme")

    assert CloudAccount.objects.count() == 1


def test_only_a_management_account_discovers(aws_organization, acme_account):
    with pytest.raises(DiscoveryError, match="not marked as a management account"):
        discover(acme_account)


def test_the_command_needs_one_management_account(acme_account, payer):
    with pytest.raises(CommandError, match="No organisation with slug 'nobody'"):
        call_command("discover_accounts", "--org", "nobody")
    with pytest.raises(CommandError, match="no management account with ID 222222222222"):
        call_command("discover_accounts", "--org", "acme", "--management", "222222222222")
    acme_account.is_management = True
    acme_account.account_id = "444444444444"
    acme_account.role_arn = "arn:aws:iam::444444444444:role/SpendlensAccess"
    acme_account.save()
    with pytest.raises(CommandError, match="several management accounts: name one"):
        call_command("discover_accounts", "--org", "acme")


# --- Two discoveries at once ---------------------------------------------------------------


@pytest.fixture
def gate(aws, settings, monkeypatch):
    from tests.reliability.gate import gated

    yield from gated(aws, settings, monkeypatch)


@postgresql_only("concurrent writers on real connections")
@pytest.mark.django_db(transaction=True)
def test_two_discoveries_at_once_add_each_account_once(aws_organization, payer, gate):
    gate.hold("ListAccounts")
    results, errors = [None, None], []

    def run(i):
        try:
            results[i] = discover(CloudAccount.objects.get(pk=payer.pk))
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    # Both have read the stored accounts and wait on AWS's list: neither has written yet.
    assert gate.wait_for("ListAccounts", 2, 30)
    gate.release()
    for thread in threads:
        thread.join(30)

    assert errors == []
    added = sorted(a.account_id for r in results for a in r.added)
    assert added == sorted([aws_organization["payments-prod"], aws_organization["search-prod"]])
    assert sorted(len(r.known) for r in results) == [1, 3]  # the loser reports the winner's
    assert CloudAccount.objects.filter(organization=payer.organization).count() == 3
