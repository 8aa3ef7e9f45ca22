"""One commitments sync of one account: the inventory, Cost Explorer's daily figures, then
AWS's own purchase recommendation, recorded on a CommitmentSync run with every problem (keyed
by the permission to fix) and note.

A part that fails leaves the other parts syncing: the run is then "partial"; "failed" only when
nothing could be read at all (AssumeRole refused, or every part refused).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import aws
from accounts.connection import describe
from commitments import aws_recommendation, explorer, inventory
from commitments.models import CommitmentSync

logger = logging.getLogger(__name__)

# Every error a commitments sync records on the account starts with this.
ERROR_PREFIX = "Commitments"
Status = CommitmentSync.Status


def claim(account) -> CommitmentSync | None:
    """Record a running sync, or return None when another one holds the account."""
    stale_before = timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    # A worker killed mid-sync never finishes its run; after the task timeout it is dead.
    CommitmentSync.objects.filter(
        account=account, status=Status.RUNNING, started_at__lt=stale_before
    ).update(
        status=Status.FAILED,
        finished_at=timezone.now(),
        error="Abandoned: the worker stopped before finishing.",
    )
    try:
        with transaction.atomic():
            return CommitmentSync.objects.create(account=account, status=Status.RUNNING)
    except IntegrityError:
        return None


def _finish(run: CommitmentSync, status: str, error: str = "") -> CommitmentSync:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.save()
    return run


def sync_account(account, *, today: date | None = None, days: int | None = None):
    """Sync one account's commitments; always returns the recorded CommitmentSync."""
    run = claim(account)
    if run is None:
        return CommitmentSync.objects.create(
            account=account,
            status=Status.SKIPPED,
            finished_at=timezone.now(),
            error="Another commitments sync of this account is running.",
        )
    today = today or timezone.now().date()
    try:
        run.window_start, run.window_end = explorer.sync_window(account, today, days)
        try:
            role = aws.RoleSession(account.role_arn, account.external_id, label="commitments")
        except (ClientError, BotoCoreError) as exc:
            message = f"{ERROR_PREFIX}: AssumeRole failed: {describe(exc)}"
            account.record_error(message, timezone.now())
            return _finish(run, Status.FAILED, message)
        stock = inventory.sync_inventory(account, role)
        figures = explorer.sync_explorer(account, role, run.window_start, run.window_end)
        advice = aws_recommendation.sync_recommendations(account, role)
    except Exception as exc:
        # A bug must not leave the account locked until the stale timeout.
        _finish(run, Status.FAILED, f"Internal error: {exc.__class__.__name__}")
        raise
    run.requests_made = stock.requests + figures.requests + advice.requests
    run.commitments, run.days_stored = stock.stored, figures.stored
    run.problems = {**stock.problems, **figures.problems, **advice.problems}
    run.notes = stock.notes + figures.notes + advice.notes
    if not run.problems and not figures.days_skipped:
        account.clear_error(ERROR_PREFIX)
        return _finish(run, Status.SUCCEEDED)
    error = f"{ERROR_PREFIX}: " + " ".join(run.problems.values() or run.notes)
    account.record_error(error, timezone.now())
    logger.warning("commitments sync of %s: %s", account.account_id, error)
    if stock.parts_ok + figures.parts_ok + advice.parts_ok == 0:
        return _finish(run, Status.FAILED, error)
    return _finish(run, Status.PARTIAL, error)
