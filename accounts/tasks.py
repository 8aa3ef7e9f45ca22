"""What every stage's django-q2 tasks share: look an account up, fan out one task per account.

Scheduled tasks fan out one task per active account, so one slow or failing account delays
no other and a retry repeats only that account's work.
"""

from django_q.tasks import async_task

from accounts.models import CloudAccount


def account(pk: int) -> CloudAccount:
    return CloudAccount.objects.select_related("organization").get(pk=pk)


def fan_out(func: str, group: str, pks=None) -> int:
    """Queue FUNC (a dotted path) once per account of PKS (default: every active account)."""
    if pks is None:
        pks = CloudAccount.objects.filter(is_active=True).values_list("pk", flat=True)
    pks = list(pks)
    for pk in pks:
        async_task(func, pk, group=group)
    return len(pks)
