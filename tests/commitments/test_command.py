"""sync_commitments, the task and the schedule: thin callers of commitments.sync."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from commitments import tasks
from commitments.models import Commitment, CommitmentSync
from config.schedules import ensure_schedules
from tests.commitments.recorded import answer_explorer, answer_inventory, savings_plan, window

pytestmark = pytest.mark.django_db


def test_the_command_syncs_one_account_and_prints_what_it_found(
    aws_faults, acme_account, globex_account, capsys
):
    answer_inventory(aws_faults, plans=[savings_plan("sp-eur", currency="EUR")])
    answer_explorer(aws_faults, days=window(timezone.now().date()))

    call_command("sync_commitments", "--account", acme_account.account_id)

    out = capsys.readouterr().out
    assert f"{acme_account}: Succeeded, 1 commitments, 60 days, 11 requests" in out
    assert "sp-eur is billed in EUR" in out
    assert not CommitmentSync.objects.filter(account=globex_account).exists()
    assert Commitment.objects.get().account == acme_account


def test_the_command_fails_when_an_account_could_not_be_read(aws_faults, acme_account, capsys):
    aws_faults.fail("AssumeRole", "AccessDenied", "not trusted", status=403)

    with pytest.raises(CommandError, match="failed for 1 of 1 accounts"):
        call_command("sync_commitments", "--account", acme_account.account_id)

    run = CommitmentSync.objects.get()
    assert run.status == CommitmentSync.Status.FAILED
    assert run.error.startswith("Commitments: AssumeRole failed: AccessDenied")


def test_the_command_refuses_an_unknown_account_and_bad_days(db):
    with pytest.raises(CommandError, match="No active account with ID 000000000000"):
        call_command("sync_commitments", "--account", "000000000000")
    with pytest.raises(CommandError, match="--days must be between 1 and 365"):
        call_command("sync_commitments", "--days", "0")


def test_the_task_syncs_the_account_it_is_given(aws_faults, acme_account):
    answer_inventory(aws_faults, plans=[savings_plan()])
    answer_explorer(aws_faults, days=window(timezone.now().date()))

    assert tasks.sync_account_commitments(acme_account.pk) == "111111111111: succeeded"
    assert Commitment.objects.filter(account=acme_account).count() == 1


def test_the_daily_schedule_is_declared():
    assert "sync-commitments" in ensure_schedules()
    schedule = Schedule.objects.get(name="sync-commitments")
    assert schedule.func == "commitments.tasks.sync_all_commitments"
    assert schedule.minutes == 1440


def test_refresh_runs_the_commitments_sync_and_its_failure_does_not_fail_refresh(
    aws_faults, acme_account, capsys
):
    # Every commitments part refused: the account's commitments run fails.
    for operation in ("DescribeSavingsPlans", "GetSavingsPlansCoverage", "GetReservationCoverage",
                      "GetSavingsPlansPurchaseRecommendation"):  # fmt: skip
        aws_faults.fail(operation, "AccessDeniedException", "denied", status=403)
    aws_faults.fail("DescribeReservedInstances", "UnauthorizedOperation", "denied", status=403)
    aws_faults.fail("DescribeReservedDBInstances", "AccessDenied", "denied", status=403)

    call_command("refresh", "--account", acme_account.account_id)  # no CommandError

    out = capsys.readouterr().out
    assert "== sync_commitments" in out
    assert "sync_commitments: Commitments sync failed for 1 of 1 accounts." in out
    assert CommitmentSync.objects.get(account=acme_account).status == CommitmentSync.Status.FAILED
    # The steps after it still ran.
    assert out.index("== sync_commitments") < out.index("== detect_idle")
