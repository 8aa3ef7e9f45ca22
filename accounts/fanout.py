"""At-least-once delivery, work done once: the claim every fanned-out account task runs under.

Every broker may hand a task out twice: the ORM and Redis brokers redeliver a task nobody
acknowledged within Q_RETRY seconds, SQS after its visibility timeout, so a worker killed
mid-task (or after its work but before its acknowledgement) has its task run again. A fan-out
therefore names its slot (when it was queued) and each account's task first claims
(account, task, slot) in FanOutRun, whose unique constraint admits one row:

- no row: the claim is created, the work runs;
- a row that succeeded: a duplicate delivery, nothing to do;
- a row still running under a live lease: another worker is on it, nothing to do (the broker
  redelivers again later if that worker dies);
- a row running past its lease (its worker died: Q_TIMEOUT would have killed the task by
  then) or failed: taken over by one conditional UPDATE, which one process wins.

Finishing is conditional on the attempt still being ours, so a worker that outlived its lease
cannot overwrite the outcome of the one that took over.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import FanOutRun

ERROR_MAX = 2000


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def new_slot(now: datetime | None = None) -> str:
    return (now or timezone.now()).isoformat(timespec="microseconds")


def lease() -> timedelta:
    # The broker redelivers after Q_RETRY and kills a task after Q_TIMEOUT (< Q_RETRY): a claim
    # older than Q_TIMEOUT has no live worker any more.
    return timedelta(seconds=settings.Q_CLUSTER["timeout"])


def claim(account_pk: int, task: str, slot: str) -> FanOutRun | None:
    """The claim on (ACCOUNT_PK, TASK, SLOT), or None when the work is done or under way."""
    now = timezone.now()
    fields = {"status": FanOutRun.Status.RUNNING, "worker": worker_name(), "started_at": now}
    try:
        with transaction.atomic():
            return FanOutRun.objects.create(
                account_id=account_pk, task=task, slot=slot, lease_until=now + lease(), **fields
            )
    except IntegrityError:
        pass
    run = FanOutRun.objects.get(account_id=account_pk, task=task, slot=slot)
    taken = FanOutRun.objects.filter(
        Q(status=FanOutRun.Status.FAILED) | Q(status=FanOutRun.Status.RUNNING, lease_until__lt=now),
        pk=run.pk,
        attempts=run.attempts,
    ).update(
        attempts=F("attempts") + 1,
        lease_until=now + lease(),
        finished_at=None,
        error="",
        **fields,
    )
    if not taken:
        return None
    run.refresh_from_db()
    return run


def _finish(run: FanOutRun, status: str, **values) -> bool:
    """Record the outcome if RUN's attempt is still the latest; was it?"""
    return bool(
        FanOutRun.objects.filter(pk=run.pk, attempts=run.attempts).update(
            status=status, finished_at=timezone.now(), **values
        )
    )


def run_once(task: str, account_pk: int, slot: str):
    """TASK(ACCOUNT_PK) under the slot's claim (its result), once per slot whatever the
    deliveries."""
    run = claim(account_pk, task, slot)
    if run is None:
        return f"{task} of account {account_pk} in slot {slot}: done or under way elsewhere"
    try:
        result = import_string(task)(account_pk)
    except Exception as exc:
        _finish(run, FanOutRun.Status.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:ERROR_MAX])
        raise
    _finish(run, FanOutRun.Status.SUCCEEDED, result=str(result)[:ERROR_MAX])
    return result
