"""What every stage's django-q2 tasks share: look an account up, fan out one task per account.

Scheduled tasks fan out one task per active account, so one slow or failing account delays
no other and a retry repeats only that account's work. Each one runs under a claim on its
fan-out's slot (accounts/fanout.py): a redelivered task does its work once.
"""

from django_q.tasks import async_task

from accounts import fanout, tokens
from accounts.models import CloudAccount


def account(pk: int) -> CloudAccount:
    return CloudAccount.objects.select_related("organization").get(pk=pk)


def run_for_account(func: str, pk: int, slot: str):
    """The queued task of a fan-out: FUNC(PK) once for SLOT, however often it is delivered."""
    return fanout.run_once(func, pk, slot)


def fan_out(func: str, group: str, pks=None, slot: str | None = None) -> int:
    """Queue FUNC (a dotted path) once per account of PKS (default: every active account)."""
    if pks is None:
        pks = CloudAccount.objects.filter(is_active=True).values_list("pk", flat=True)
    pks = list(pks)
    slot = slot or fanout.new_slot()
    for pk in pks:
        async_task("accounts.tasks.run_for_account", func, pk, slot, group=group)
    return len(pks)


def delete_expired_api_tokens() -> int:
    return tokens.delete_expired()
