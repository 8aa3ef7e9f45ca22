"""Organisation-wide cost sync: the management account asks Cost Explorer for everyone."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_q.conf import Conf

from accounts.models import CloudAccount, FanOutRun
from costs import spend
from costs.models import CostRecord, SyncRun
from costs.tasks import sync_all_account_costs
from tests.conftest import queue_cost_explorer

PAYER = "100000000000"
TODAY = date.today()


def linked_id(n: int) -> str:
    return f"{200000000000 + n:012d}"


def organisation(org, linked: int) -> list[CloudAccount]:
    CloudAccount.objects.create(
        organization=org,
        name="payer",
        account_id=PAYER,
        role_arn=f"arn:aws:iam::{PAYER}:role/SpendlensAccess",
        regions=["us-east-1"],
        is_management=True,
    )
    return CloudAccount.objects.bulk_create(
        CloudAccount(
            organization=org,
            account_id=linked_id(n),
            role_arn=f"arn:aws:iam::{linked_id(n)}:role/SpendlensAccess",
            regions=["us-east-1"],
        )
        for n in range(linked)
    )


def payer_answer(endpoint, linked: int):
    """One day, every linked account's Lambda costing 1 + its number (the payer's own too)."""
    groups = [
        {
            "Keys": [linked_id(n), "AWS Lambda"],
            "Metrics": {"UnblendedCost": {"Amount": str(1 + n), "Unit": "USD"}},
        }
        for n in range(linked)
    ]
    groups.append(
        {
            "Keys": [PAYER, "AWS Lambda"],
            "Metrics": {"UnblendedCost": {"Amount": "9", "Unit": "USD"}},
        }
    )
    day = {
        "TimePeriod": {"Start": TODAY.isoformat(), "End": (TODAY + timedelta(1)).isoformat()},
        "Groups": groups,
        "Estimated": True,
    }
    queue_cost_explorer(endpoint, PAYER, [{"ResultsByTime": [day]}])


@pytest.mark.django_db
@pytest.mark.parametrize("linked", [3, 300])
def test_cost_explorer_requests_do_not_grow_with_the_linked_accounts(
    linked, aws_faults, aws, acme, monkeypatch, fresh_credentials
):
    accounts = organisation(acme, linked)
    payer_answer(aws, linked)
    monkeypatch.setattr(Conf, "SYNC", True)

    queued = sync_all_account_costs()

    ce_requests = [r for r in aws_faults.requests if r.operation == "GetCostAndUsage"]
    assert len(ce_requests) == 1  # 1 for 3 accounts and for 300
    assert queued == 1
    assert SyncRun.objects.get().account.account_id == PAYER
    assert FanOutRun.objects.get().account.account_id == PAYER
    # Every linked account's cost reaches it (per-account views filter on its ID), once.
    for n in (0, linked - 1):
        totals = spend.daily_totals(acme, TODAY, TODAY + timedelta(1), account=accounts[n])
        assert totals == {TODAY: Decimal(1 + n)}
    assert CostRecord.objects.filter(metric="unblended").count() == linked + 1


@pytest.mark.django_db
def test_organisations_without_a_management_account_sync_every_account(
    aws, acme, acme_account, globex, monkeypatch, fresh_credentials
):
    organisation(globex, 2)
    monkeypatch.setattr(Conf, "SYNC", True)
    payer_answer(aws, 2)

    sync_all_account_costs()

    synced = set(SyncRun.objects.values_list("account__account_id", flat=True))
    assert synced == {"111111111111", PAYER}  # acme's own account, globex's payer


@pytest.mark.django_db
def test_an_inactive_management_account_covers_nobody(aws, acme, monkeypatch, fresh_credentials):
    accounts = organisation(acme, 2)
    CloudAccount.objects.filter(account_id=PAYER).update(is_active=False)
    monkeypatch.setattr(Conf, "SYNC", True)

    sync_all_account_costs()

    synced = set(SyncRun.objects.values_list("account__account_id", flat=True))
    assert synced == {a.account_id for a in accounts}


@pytest.mark.django_db
def test_sync_costs_says_which_accounts_the_management_account_covers(
    aws, acme, capsys, fresh_credentials
):
    organisation(acme, 2)
    payer_answer(aws, 2)

    call_command("sync_costs", "--account", linked_id(1))
    assert f"covered by management account {PAYER}" in capsys.readouterr().out
    assert not SyncRun.objects.exists()

    call_command("sync_costs")
    out = capsys.readouterr().out
    assert out.count("covered by management account") == 2
    assert list(SyncRun.objects.values_list("account__account_id", flat=True)) == [PAYER]


@pytest.mark.django_db
def test_rows_linked_accounts_synced_themselves_are_replaced_not_counted_twice(
    aws, acme, monkeypatch, fresh_credentials
):
    accounts = organisation(acme, 2)
    outside = CloudAccount.objects.create(
        organization=acme,
        account_id="300000000000",
        role_arn="arn:aws:iam::300000000000:role/SpendlensAccess",
        regions=["us-east-1"],
    )
    earlier, before = TODAY - timedelta(1), TODAY - timedelta(2)
    # What the linked accounts and an account outside the AWS Organization stored themselves,
    # by region, before the management account was connected.
    for account, day in ((accounts[0], TODAY), (accounts[0], before), (outside, TODAY)):
        CostRecord.objects.create(
            organization=acme,
            account=account,
            source="explorer",
            metric="unblended",
            sub_account_id=account.account_id,
            usage_date=day,
            service="AWS Lambda",
            region="us-east-1",
            amount=Decimal("50"),
        )
    payer_answer(aws, 2)
    monkeypatch.setattr(Conf, "SYNC", True)

    sync_all_account_costs()

    def total(account, day):
        return spend.daily_totals(acme, day, day + timedelta(1), account=account).get(day)

    assert total(accounts[0], TODAY) == Decimal(1)  # the payer's figure, not 1 + 50
    assert total(accounts[0], before) == Decimal(50)  # a day the payer did not report
    assert total(outside, TODAY) == Decimal(50)  # the payer does not report it
    assert earlier not in spend.daily_totals(acme, earlier, TODAY, account=accounts[0])
    run = SyncRun.objects.get()
    assert run.rows_deleted == 1
