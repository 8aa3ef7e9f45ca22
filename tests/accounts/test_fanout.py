"""Fanned-out account tasks: delivered at least once, their work done once per slot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Success

from accounts import fanout
from accounts.models import CloudAccount, FanOutRun
from accounts.tasks import fan_out, run_for_account
from costs.models import SyncRun
from tests.conftest import queue_cost_explorer

TASK = "costs.tasks.sync_account_costs"
TODAY = date.today()


def cost_answer(endpoint, account_id="111111111111"):
    day = {
        "TimePeriod": {"Start": TODAY.isoformat(), "End": (TODAY + timedelta(1)).isoformat()},
        "Groups": [
            {
                "Keys": ["AWS Lambda", "us-east-1"],
                "Metrics": {"UnblendedCost": {"Amount": "2", "Unit": "USD"}},
            }
        ],
        "Estimated": True,
    }
    queue_cost_explorer(endpoint, account_id, [{"ResultsByTime": [day]}])


@pytest.fixture
def slot():
    return fanout.new_slot()


@pytest.mark.django_db
class TestDeliveries:
    def test_a_duplicate_delivery_of_a_finished_run_does_nothing(
        self, aws, acme_account, slot, fresh_credentials
    ):
        cost_answer(aws)

        first = run_for_account(TASK, acme_account.pk, slot)
        again = run_for_account(TASK, acme_account.pk, slot)

        assert first == "111111111111: succeeded"
        assert "done or under way elsewhere" in again
        assert SyncRun.objects.filter(account=acme_account).count() == 1
        run = FanOutRun.objects.get()
        assert (run.status, run.attempts, run.result) == ("succeeded", 1, first)

    def test_a_run_under_a_live_lease_is_left_to_its_worker(self, aws, acme_account, slot):
        assert fanout.claim(acme_account.pk, TASK, slot) is not None

        answer = run_for_account(TASK, acme_account.pk, slot)

        assert "done or under way elsewhere" in answer
        assert not SyncRun.objects.exists()  # the work did not run a second time

    def test_a_run_left_running_by_a_killed_worker_is_taken_over_after_its_lease(
        self, aws, acme_account, slot, fresh_credentials
    ):
        dead = fanout.claim(acme_account.pk, TASK, slot)
        FanOutRun.objects.filter(pk=dead.pk).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        cost_answer(aws)

        answer = run_for_account(TASK, acme_account.pk, slot)

        assert answer == "111111111111: succeeded"
        run = FanOutRun.objects.get()
        assert (run.status, run.attempts) == ("succeeded", 2)
        # The dead worker, should it come back, cannot overwrite the outcome.
        assert fanout._finish(dead, FanOutRun.Status.FAILED, error="late") is False
        run.refresh_from_db()
        assert run.status == "succeeded"

    def test_a_failed_run_is_tried_again_by_the_next_delivery(
        self, aws, acme_account, slot, fresh_credentials
    ):
        missing = "costs.tasks.no_such_function"
        with pytest.raises(ImportError):
            run_for_account(missing, acme_account.pk, slot)
        failed = FanOutRun.objects.get()
        assert failed.status == "failed" and "ImportError" in failed.error

        FanOutRun.objects.filter(pk=failed.pk).update(task=TASK)
        cost_answer(aws)
        assert run_for_account(TASK, acme_account.pk, slot) == "111111111111: succeeded"
        assert FanOutRun.objects.get().attempts == 2

    def test_each_fan_out_is_a_slot_of_its_own(self, aws, acme_account, fresh_credentials):
        cost_answer(aws)
        run_for_account(TASK, acme_account.pk, fanout.new_slot())
        cost_answer(aws)
        run_for_account(TASK, acme_account.pk, fanout.new_slot())

        assert FanOutRun.objects.filter(status="succeeded").count() == 2
        assert SyncRun.objects.filter(status="succeeded").count() == 2


@pytest.mark.django_db
def test_fan_out_queues_every_active_account_under_one_slot(
    aws, acme, acme_account, monkeypatch, fresh_credentials
):
    CloudAccount.objects.create(
        organization=acme,
        account_id="222222222222",
        role_arn="arn:aws:iam::222222222222:role/SpendlensAccess",
        regions=["us-east-1"],
        is_active=False,
    )
    monkeypatch.setattr(Conf, "SYNC", True)
    cost_answer(aws)

    assert fan_out(TASK, "sync-costs") == 1

    run = FanOutRun.objects.get()
    assert (run.account, run.task, run.status) == (acme_account, TASK, "succeeded")
    assert Success.objects.filter(func="accounts.tasks.run_for_account").count() == 1
