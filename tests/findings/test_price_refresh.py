"""Which prices the fleet needs, and the refresh over HTTP: the command and the weekly task
against the demo's AWS front, which answers GetProducts like the Price List does."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from accounts import aws as aws_module
from costs import prices
from costs.models import PriceQuote
from demo import pricing as demo_pricing
from demo.aws_front import DemoFront
from demo.commitments import RECORDED_OPERATIONS, recorded_answer
from findings.models import Recommendation
from findings.price_refresh import price_needs, refresh_fleet_prices
from fleet.models import (
    DatabaseInstance,
    ElasticIP,
    Instance,
    LoadBalancer,
    NatGateway,
    Snapshot,
    Volume,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(acme_account):
    inventory = {"account": acme_account, "region": "eu-west-1"}
    Instance.objects.create(
        **inventory, instance_id="i-1", instance_type="m5.large", state="running"
    )
    Instance.objects.create(
        **{**inventory, "region": "ap-south-1"},
        instance_id="i-2",
        instance_type="c5.large",
        state="running",
        gone_at=timezone.now(),  # gone: needs no price
    )
    Volume.objects.create(
        **inventory, volume_id="vol-1", volume_type="gp2", size_gib=10, state="in-use"
    )
    ElasticIP.objects.create(**inventory, allocation_id="eipalloc-1", public_ip="203.0.113.1")
    Snapshot.objects.create(
        **inventory, snapshot_id="snap-1", size_gib=8, storage_tier="archive", state="completed"
    )
    DatabaseInstance.objects.create(
        **inventory,
        db_instance_id="db-1",
        engine="aurora-postgresql",
        instance_class="db.r6g.large",
        status="available",
        storage_type="aurora",
    )
    NatGateway.objects.create(**inventory, nat_gateway_id="nat-1", state="available")
    LoadBalancer.objects.create(
        **inventory,
        dimension="net/edge/1",
        arn="arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/net/edge/1",
        name="edge",
        lb_type="network",
        state="active",
    )


def test_the_fleet_needs_the_prices_its_savings_may_look_up(fleet):
    needs = price_needs()

    assert {
        ("ec2:m5.large", "eu-west-1"),
        ("ec2:m5.xlarge", "eu-west-1"),  # a rightsizing sibling
        ("ebs:gp2", "eu-west-1"),
        ("ebs:gp3", "eu-west-1"),  # what gp2 would become
        ("ipv4:hour", "eu-west-1"),
        ("snapshot:archive", "eu-west-1"),
        ("rds:aurora-postgresql:db.r6g.large", "eu-west-1"),
        ("rds-storage:aurora", "eu-west-1"),
        ("nat:hour", "eu-west-1"),
        ("nat:gb", "eu-west-1"),
        ("lb:network:hour", "eu-west-1"),
        ("lb:network:lcu", "eu-west-1"),
    } <= needs
    assert {region for _, region in needs} == {"eu-west-1"}
    assert not any(key.startswith("ec2:c5") for key, _ in needs)


def _serve(app, aws, settings, monkeypatch):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.AWS_ENDPOINT_URL = url
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    aws_module.clear_credential_cache()
    return server, thread


@pytest.fixture
def front(aws, settings, monkeypatch):
    app = DemoFront(
        aws, recorded_answer, RECORDED_OPERATIONS, public_answers=demo_pricing.recorded_answer
    )
    server, thread = _serve(app, aws, settings, monkeypatch)
    yield
    server.shutdown()
    thread.join()


def test_the_command_fills_the_cache_over_http_and_savings_use_it(fleet, front, acme_account):
    out = StringIO()

    call_command("refresh_prices", "--region", "eu-west-1", stdout=out)

    assert "ec2:m5.large" in out.getvalue() and "0 errors" in out.getvalue()
    quote = PriceQuote.objects.get(key="ec2:m5.large", region="eu-west-1")
    assert quote.amount == Decimal("0.107")  # 0.096 x eu-west-1's premium (1.115), to 4 places
    assert PriceQuote.objects.get(key="lb:network:lcu").amount == Decimal("0.0067")
    assert prices.rds_storage_gb_month("aurora", "eu-west-1").source == "price_list"

    from findings import savings

    box = Instance.objects.get(instance_id="i-1")
    _, basis, evidence = savings.instance_stop_saving(acme_account, box, timezone.localdate())
    assert basis == Recommendation.SavingBasis.PRICE_LIST
    assert evidence["basis"].startswith("AWS Price List (eu-west-1, fetched ")


def test_a_dry_run_stores_nothing(fleet, front):
    out = StringIO()

    call_command("refresh_prices", "--dry-run", stdout=out)

    assert "dry run, nothing stored" in out.getvalue()
    assert not PriceQuote.objects.exists()


def test_the_weekly_task_reports_what_it_did(fleet, front):
    summary = refresh_fleet_prices()

    assert summary.startswith(f"{PriceQuote.objects.count()} prices stored")
    assert PriceQuote.objects.filter(status="ok").count() >= 12


@pytest.fixture
def refusing_front(aws, settings, monkeypatch):
    def refuse(operation, body):
        error = {"__type": "AccessDeniedException", "Message": "not authorized"}
        return Response(json.dumps(error), status=400, content_type="application/x-amz-json-1.1")

    app = DemoFront(aws, recorded_answer, RECORDED_OPERATIONS, public_answers=refuse)
    server, thread = _serve(app, aws, settings, monkeypatch)
    yield
    server.shutdown()
    thread.join()


def test_a_refused_api_fails_the_command_with_a_clear_message(fleet, refusing_front):
    with pytest.raises(CommandError, match="Price List API not allowed: the shipped table"):
        call_command("refresh_prices", stdout=StringIO())

    assert not PriceQuote.objects.exists()


def test_an_empty_inventory_needs_no_call(db):
    out = StringIO()

    call_command("refresh_prices", stdout=out)

    assert "nothing to fetch" in out.getvalue()
