"""django-q2 entry points of the commitments: thin wrappers that look rows up by primary key."""

from accounts.tasks import account, fan_out
from commitments import sync


def sync_account_commitments(account_pk: int) -> str:
    run = sync.sync_account(account(account_pk))
    return f"{run.account.account_id}: {run.status}"


def sync_all_commitments() -> int:
    return fan_out("commitments.tasks.sync_account_commitments", "commitments")
