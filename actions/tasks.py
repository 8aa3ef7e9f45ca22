"""django-q2 entry points of the actions: the auto-stop policy, per account that opted in."""

from accounts.tasks import account, fan_out
from actions import autostop
from actions.models import AutoStopPolicy


def run_auto_stop(account_pk: int) -> str:
    return autostop.run(account(account_pk)).summary()


def run_auto_stop_all() -> int:
    """Fan out to the accounts that opted in; every other account is left alone."""
    pks = AutoStopPolicy.objects.filter(enabled=True, account__is_active=True).values_list(
        "account_id", flat=True
    )
    return fan_out("actions.tasks.run_auto_stop", "auto-stop", pks)


def run_schedules() -> str:
    """The instance schedules' boundaries due now (every few minutes)."""
    from actions import schedules

    return schedules.run().summary()
