"""A worker killed mid-task: the task comes back and its work is done exactly once in effect.

A real `manage.py qcluster` (django-q2, the ORM broker, this test's PostgreSQL database) runs
our real cost sync against the emulator. The test stops the sync at a known point, SIGKILLs the
whole cluster (no clean-up code runs: a lost ECS task, an OOM kill), starts a new cluster, and
waits for django-q2 to hand the task out again once Q_RETRY has passed since it was taken.
The redelivered sync then finds the killed run's claim on the account, older than Q_TIMEOUT,
marks it abandoned and does the work; the store must end up as one clean run leaves it.

Two kill points, alternating:
- the sync's Cost Explorer call is held at the AWS gate (only the claim is written);
- the sync's write transaction is blocked on the organisation's rollup turn, which the test
  holds (every cost record of the run is written but not committed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections, transaction
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task
from django_q.tasks import async_task

from accounts.models import Organization
from costs import tasks as cost_tasks
from costs.models import CostRecord, CostRollup, SyncRun
from tests.marks import postgresql_only
from tests.reliability.gate import (
    CE_CALL,
    cost_page,
    gated,
    reset_emulator,
    stored_costs,
    stored_rollups,
)

pytestmark = [
    postgresql_only("a second process shares the test database"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 4
Q_TIMEOUT, Q_RETRY = 3, 6  # seconds; production keeps the same order (timeout < retry)
WAIT = 60  # seconds: only a broken run ever waits this long


@pytest.fixture
def gate(aws, settings, monkeypatch):
    yield from gated(aws, settings, monkeypatch)


def database_url() -> str:
    """This test's database (pytest-django's test_<name>, not the configured one) as a URL."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = quote(db["HOST"] or "127.0.0.1", safe="")  # a socket directory is percent-encoded
    return f"postgres://{user}{password}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


class Cluster:
    """`manage.py qcluster` in its own process group, so a kill takes every process of it."""

    def __init__(self, endpoint: str, log: Path):
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DB_CONN_MAX_AGE": "0",
            "Q_WORKERS": "1",
            "Q_TIMEOUT": str(Q_TIMEOUT),
            "Q_RETRY": str(Q_RETRY),
            "AWS_ENDPOINT_URL": endpoint,
            "LOG_FORMAT": "plain",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(WAIT)
        self.log.close()


def eventually(check, what: str):
    """Wait for another process's result, polling the database (there is nothing to join)."""
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class RollupTurn:
    """Hold ORGANIZATION's rollup turn (costs/rollup.py) in a connection of its own."""

    def __init__(self, organization):
        self.organization = organization
        self.taken, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self):
        try:
            with transaction.atomic():
                Organization.objects.select_for_update(no_key=True).get(pk=self.organization.pk)
                self.taken.set()
                self.done.wait(WAIT)
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        assert self.taken.wait(WAIT)
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(WAIT)


def other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def waiting_on_a_lock() -> bool:
    """Is another session blocked on a lock (the held rollup turn) in a transaction that has
    written (it has a transaction id: the sync's cost records, not yet committed)?"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
            "AND backend_xid IS NOT NULL"
        )
        return cursor.fetchone()[0] > 0


def test_a_sync_killed_mid_task_is_redelivered_and_done_once(
    gate, aws, acme, acme_account, tmp_path
):
    if "orm" not in django_settings.Q_CLUSTER:
        pytest.skip("the test drives the ORM broker (REDIS_URL is set)")
    # Only this test's task runs: the recurring schedules (created by migrate) would add theirs.
    Schedule.objects.all().delete()
    # Queued once: the emulator answers every later sync from an empty store with the same
    # page. (Resetting it between rounds would orphan the credentials a cluster has cached.)
    reset_emulator(aws, {acme_account.account_id: cost_page(timezone.now().date())})
    cost_tasks.sync_account_costs(acme_account.pk)
    single_costs, single_rollups = stored_costs(acme), stored_rollups(acme)

    log = tmp_path / "qcluster.log"
    cluster = Cluster(gate.url, log)
    delays = []
    try:
        for n in range(ROUNDS):
            CostRecord.objects.all().delete()
            CostRollup.objects.all().delete()
            SyncRun.objects.all().delete()
            calls = gate.count(CE_CALL)
            in_transaction = n % 2 == 1

            if in_transaction:
                # Hold the organisation's rollup turn: the sync writes its records, then waits.
                with RollupTurn(acme):
                    task_id = async_task("costs.tasks.sync_account_costs", acme_account.pk)
                    eventually(waiting_on_a_lock, "the sync to block inside its transaction")
                    assert gate.count(CE_CALL) == calls + 1
                    killed_at = time.monotonic()
                    cluster.kill()
            else:
                gate.hold(CE_CALL)
                task_id = async_task("costs.tasks.sync_account_costs", acme_account.pk)
                assert gate.wait_for(CE_CALL, calls + 1, WAIT), f"round {n}: not picked up"
                killed_at = time.monotonic()
                cluster.kill()
                gate.drop()  # the caller is dead: the held call never reaches the emulator
            taken_at = gate.arrival_times[CE_CALL][calls]

            # Killed: a claim with nobody behind it, nothing else, the task still queued.
            (run,) = SyncRun.objects.all()
            assert run.status == SyncRun.Status.RUNNING, f"round {n}"
            assert not CostRecord.objects.exists(), f"round {n}: a half-written sync"
            assert not Task.objects.filter(id=task_id).exists(), f"round {n}"
            assert OrmQ.objects.count() == 1, f"round {n}"

            cluster = Cluster(gate.url, log)
            assert gate.wait_for(CE_CALL, calls + 2, WAIT), f"round {n}: never redelivered"
            redelivered_at = gate.arrival_times[CE_CALL][calls + 1]
            finished = Task.objects.filter(id=task_id)
            # Its result saved, then acknowledged: off the queue, never delivered a third time.
            eventually(
                lambda: finished.exists() and not OrmQ.objects.exists(),  # noqa: B023 (called now)
                "the task's result and acknowledgement",
            )

            task = finished.get()
            assert task.success and task.result.endswith(": succeeded"), f"round {n}: {task.result}"
            killed, redone = SyncRun.objects.order_by("started_at")
            assert killed.status == SyncRun.Status.FAILED, f"round {n}"
            assert "Abandoned" in killed.error, f"round {n}"
            assert redone.status == SyncRun.Status.SUCCEEDED, f"round {n}"
            assert stored_costs(acme) == single_costs, f"round {n}"
            assert stored_rollups(acme) == single_rollups, f"round {n}"
            delays.append((redelivered_at - killed_at, redelivered_at - taken_at))
    finally:
        cluster.kill()
        gate.drop()
    # Nothing of the killed clusters lingers: no session, so no lock and no open transaction.
    eventually(lambda: other_sessions() == 0, "the clusters' database sessions to end")

    assert gate.count(CE_CALL) == 1 + 2 * ROUNDS
    # The task comes back Q_RETRY seconds after it was taken, however soon the kill came.
    for after_kill, after_taken in delays:
        assert Q_RETRY - 1 < after_taken < Q_RETRY + 5, delays
        assert after_kill <= after_taken
    print(
        "redelivery (s after kill / after the task was taken): "
        + ", ".join(f"{k:.1f}/{t:.1f}" for k, t in delays)
    )
