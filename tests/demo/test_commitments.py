"""The demo's commitments story through the demo's AWS front (demo/aws_front.py): recorded
answers for the commitment APIs moto does not serve, per account, the rest from moto; synced by
the real commitments sync over HTTP."""

from __future__ import annotations

import threading
from decimal import Decimal
from io import StringIO
from statistics import median

import pytest
from django.core.management import call_command
from werkzeug.serving import make_server

from accounts import aws as aws_module
from accounts.models import CloudAccount
from commitments import report
from commitments.models import AwsPurchaseRecommendation, Commitment, CommitmentDay, CommitmentSync
from demo import seed as demo
from demo.aws_front import DemoFront
from demo.commitments import PLAN_DAYS_LEFT, RECORDED_OPERATIONS, recorded_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def front(aws, settings, monkeypatch):
    server = make_server(
        "127.0.0.1", 0, DemoFront(aws, recorded_answer, RECORDED_OPERATIONS), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.AWS_ENDPOINT_URL = url
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    aws_module.clear_credential_cache()
    yield url
    server.shutdown()
    thread.join()
    aws_module.clear_credential_cache()


def test_the_demo_shows_commitments_with_a_coverage_gap(front):
    call_command("seed_demo", stdout=StringIO())
    call_command("sync_costs", stdout=StringIO())
    call_command("sync_commitments", stdout=StringIO())

    production = CloudAccount.objects.get(account_id=demo.PRODUCTION.account_id)
    staging = CloudAccount.objects.get(account_id=demo.STAGING.account_id)
    runs = CommitmentSync.objects.all()
    assert {r.status for r in runs} == {CommitmentSync.Status.SUCCEEDED}, [
        (r.account_id, r.problems, r.error) for r in runs
    ]

    plan = Commitment.objects.get(account=production, kind=Commitment.Kind.SAVINGS_PLAN)
    assert plan.hourly_commitment == Decimal("0.75")
    assert PLAN_DAYS_LEFT - 1 <= plan.days_to_expiry() <= PLAN_DAYS_LEFT
    assert Commitment.objects.filter(account=production, kind="rds_reserved").count() == 1
    assert not Commitment.objects.filter(account=staging).exists()

    plans = CommitmentDay.objects.filter(account=production, kind="savings_plan")
    assert plans.count() >= 28
    # Well used, but covering only part of the eligible compute: the gap to close.
    assert all(d.utilization_percent == Decimal(98) for d in plans)
    # (The demo's cost spike day, all on demand, drops lower still.)
    coverages = [d.coverage_percent for d in plans]
    assert Decimal(20) < median(coverages) < Decimal(60) and max(coverages) < 60, coverages
    staged = CommitmentDay.objects.filter(account=staging, kind="savings_plan")
    assert staged.exists() and all(d.coverage_percent == 0 for d in staged)
    assert all(d.utilization_percent is None for d in staged)  # no plan: no utilization

    # AWS's own advice for Production only; nothing to buy elsewhere.
    advised = AwsPurchaseRecommendation.objects.all()
    assert {a.account_id for a in advised} == {production.pk}

    found = report.what_to_buy([production], days=30)
    assert found.recommendation.best is not None
    assert found.recommendation.best.hourly_commitment > 0
