"""Cost Explorer faults: the cost store, the SyncRun, the account's error, the next run."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from costs.ingest import explorer
from costs.models import CostRecord, CostRollup, SyncRun
from fleet import inventory
from tests.conftest import queue_cost_explorer
from tests.reliability.aws_faults.faults import (
    ASSUME_ROLE_DENIED,
    DENIED,
    MAX_ATTEMPTS,
    REFUSED,
    Fault,
    assert_one_clean_line,
    calls,
    measured,
)

ACCOUNT = "111111111111"
TODAY = date(2026, 11, 23)


# --- Cost Explorer -----------------------------------------------------------------------------


def ce_day(when: date, groups: dict, estimated=False) -> dict:
    return {
        "TimePeriod": {"Start": when.isoformat(), "End": (when + timedelta(days=1)).isoformat()},
        "Total": {},
        "Groups": [
            {
                "Keys": list(keys),
                "Metrics": {
                    "UnblendedCost": {"Amount": str(amount), "Unit": "USD"},
                    "AmortizedCost": {"Amount": str(amount * 2), "Unit": "USD"},
                },
            }
            for keys, amount in groups.items()
        ],
        "Estimated": estimated,
    }


def ce_page(days: list, token: str | None = None) -> dict:
    page = {"ResultsByTime": days, "DimensionValueAttributes": [], "GroupDefinitions": []}
    if token:
        page["NextPageToken"] = token
    return page


EC2 = ("Amazon Elastic Compute Cloud - Compute", "us-east-1")
S3 = ("Amazon Simple Storage Service", "NoRegion")
LAMBDA = ("AWS Lambda", "eu-west-1")


def first_answer() -> list[dict]:
    """Run 1 (since TODAY-5): six days on two pages, the last two estimated."""
    days = [
        ce_day(TODAY - timedelta(days=n), {EC2: Decimal(10 + n), S3: Decimal("1.25")}, n < 2)
        for n in range(5, -1, -1)
    ]
    return [ce_page(days[:3], token="run1-page2"), ce_page(days[3:])]


def second_answer() -> list[dict]:
    """Run 2 (since TODAY-3): final figures for the formerly estimated days, S3 gone from one
    day, Lambda new on another; two pages."""
    days = [
        ce_day(TODAY - timedelta(days=3), {EC2: Decimal(13), S3: Decimal("1.25")}),
        ce_day(TODAY - timedelta(days=2), {EC2: Decimal("12.5")}),
        ce_day(TODAY - timedelta(days=1), {EC2: Decimal(11), S3: Decimal(1), LAMBDA: 3}),
        ce_day(TODAY, {EC2: Decimal(7), S3: Decimal("0.5")}, estimated=True),
    ]
    return [ce_page(days[:2], token="run2-page2"), ce_page(days[2:])]


def cost_rows(account) -> list[tuple]:
    """Every stored cost record of ACCOUNT with its primary key: identity and value."""
    return list(
        CostRecord.objects.filter(account=account)
        .order_by("pk")
        .values_list("pk", "metric", "usage_date", "service", "region", "amount", "estimated")
    )


def cost_store(account) -> set[tuple]:
    """The store as a user sees it, comparable across accounts: records and rollups."""
    records = CostRecord.objects.filter(account=account).values_list(
        "source", "metric", "provider", "sub_account_id", "usage_date", "service", "region",
        "resource_id", "usage_type", "charge_category", "amount", "currency", "estimated",
    )  # fmt: skip
    rollups = CostRollup.objects.filter(organization=account.organization).values_list(
        "dimension", "usage_date", "key", "amount"
    )
    return {("record", *r) for r in records} | {("rollup", *r) for r in rollups}


def sync(account, since_days: int) -> SyncRun:
    return explorer.sync_account(account, since=TODAY - timedelta(days=since_days), today=TODAY)


@pytest.fixture
def cost_explorer_answers(aws):
    # moto answers each distinct request with the next queued page (and the same request with
    # the same page again): run 1's two pages, then run 2's two pages.
    queue_cost_explorer(aws, ACCOUNT, [*first_answer(), *second_answer()])


CE = "GetCostAndUsage"
CE_FAULTS = [
    Fault(
        "throttled on page 2, persistently",
        CE,
        "ThrottlingException",
        "Rate exceeded",
        times=MAX_ATTEMPTS,
        skip=1,
        expect="Cost Explorer: ThrottlingException: Rate exceeded",
    ),
    Fault(
        "throttled on page 2, twice",
        CE,
        "ThrottlingException",
        "Rate exceeded",
        times=2,
        skip=1,
        recovers_in_run=True,
    ),
    Fault(
        "GetCostAndUsage denied",
        CE,
        "AccessDeniedException",
        DENIED.format(action="ce:GetCostAndUsage"),
        expect="Cost Explorer: AccessDeniedException: is not authorized to perform: ce:",
    ),
    Fault(
        "credentials expired on page 2",
        CE,
        "ExpiredTokenException",
        "The security token included in the request is expired",
        skip=1,
        recovers_in_run=True,
    ),
    Fault(
        "credentials expired on page 2, and again after renewal",
        CE,
        "ExpiredTokenException",
        "The security token included in the request is expired",
        times=2,
        skip=1,
        expect="Cost Explorer: ExpiredTokenException: The security token included",
    ),
    Fault(
        "read timeout on page 2",
        CE,
        hang=True,
        times=MAX_ATTEMPTS,
        skip=1,
        expect="Cost Explorer: Read timeout on endpoint URL",
    ),
    REFUSED,
    ASSUME_ROLE_DENIED,
]


@pytest.mark.django_db
@pytest.mark.parametrize("fault", CE_FAULTS, ids=str)
def test_cost_explorer_fault(
    fault, injector, aws_faults, acme_account, twin, cost_explorer_answers
):
    first = sync(acme_account, since_days=5)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error
    before = cost_rows(acme_account)
    aws_faults.requests.clear()

    injector.apply(fault)
    started = time.monotonic()
    run = sync(acme_account, since_days=3)
    elapsed = time.monotonic() - started
    attempts = calls(aws_faults, CE)
    renewals = calls(aws_faults, "AssumeRole")
    injector.remove()
    acme_account.refresh_from_db()

    # Every request that reached Cost Explorer is counted ($0.01 each), timed-out ones too.
    assert run.requests_made == attempts
    if fault.recovers_in_run:
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert acme_account.last_error == ""
        next_run = run
    else:
        assert run.status == SyncRun.Status.FAILED
        assert_one_clean_line(run.error, fault.expect)
        assert run.finished_at is not None
        assert acme_account.last_error == run.error
        assert acme_account.last_error_at is not None
        assert cost_rows(acme_account) == before, "a failed sync changed the store"
        next_run = sync(acme_account, since_days=3)
        assert next_run.status == SyncRun.Status.SUCCEEDED, next_run.error
        acme_account.refresh_from_db()
        assert (acme_account.last_error, acme_account.last_error_at) == ("", None)
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()

    for since_days in (5, 3):
        assert sync(twin, since_days).status == SyncRun.Status.SUCCEEDED
    assert cost_store(acme_account) == cost_store(twin)
    measured(
        "Cost Explorer sync",
        fault,
        f"{attempts} GetCostAndUsage attempts, {renewals} AssumeRole, "
        f"run.requests_made={run.requests_made}",
        f"{elapsed:.1f} s",
        f"{run.status}: {run.error or '-'}",
        f"records {len(before)} before, {len(cost_rows(acme_account))} after the next run "
        f"(+{next_run.rows_inserted} ~{next_run.rows_updated} -{next_run.rows_deleted})",
    )


@pytest.mark.django_db
def test_expired_credentials_are_renewed_and_the_fetch_restarts(
    aws_faults, acme_account, cost_explorer_answers
):
    sync(acme_account, since_days=5)
    aws_faults.requests.clear()
    aws_faults.fail(CE, "ExpiredTokenException", "The security token is expired", skip=1)

    run = sync(acme_account, since_days=3)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    wire = [(r.operation, r.access_key) for r in aws_faults.requests]
    old_key = wire[0][1]
    # Page 1, page 2 refused; the role assumed again; both pages fetched with the new key.
    assert [op for op, _ in wire] == [CE, CE, "AssumeRole", CE, CE]
    assert wire[1][1] == old_key
    assert wire[3][1] == wire[4][1] != old_key
    assert run.requests_made == 4
    # The dead credentials are gone from the cache: the next sync uses the renewed ones.
    aws_faults.requests.clear()
    sync(acme_account, since_days=3)
    assert [(r.operation, r.access_key) for r in aws_faults.requests] == [(CE, wire[3][1])] * 2


@pytest.mark.django_db
def test_a_successful_cost_sync_does_not_clear_an_inventory_failure(
    aws_faults, acme_account, cost_explorer_answers
):
    aws_faults.fail("DescribeInstances", "UnauthorizedOperation", "not authorized", status=403)
    assert not inventory.sync_inventory(acme_account).ok
    acme_account.refresh_from_db()
    inventory_error = acme_account.last_error
    assert inventory_error.startswith("Inventory: us-east-1: UnauthorizedOperation")

    assert sync(acme_account, since_days=5).status == SyncRun.Status.SUCCEEDED

    acme_account.refresh_from_db()
    assert acme_account.last_error == inventory_error
    assert acme_account.last_synced_at is not None
    # ...and the inventory clears its own error once it works again.
    assert inventory.sync_inventory(acme_account).ok
    acme_account.refresh_from_db()
    assert acme_account.last_error == ""
