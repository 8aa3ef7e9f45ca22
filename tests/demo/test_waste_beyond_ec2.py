"""The demo's waste beyond EC2 instances through the real pipeline against the emulator behind
the demo's AWS front (as `make demo` runs it): seed_demo -> sync_inventory (RDS, snapshots, NAT
gateways, load balancers) -> utilization and resource metrics collection -> detection, all over
HTTP, and each of the six new kinds found on the resource the demo built for it, with a saving
and the price it used."""

import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from werkzeug.serving import make_server

from accounts import aws as aws_module
from accounts.models import CloudAccount
from demo import backdate
from demo import seed as demo
from demo.aws_front import DemoFront
from demo.commitments import RECORDED_OPERATIONS, recorded_answer
from findings.models import Recommendation

Kind = Recommendation.Kind


def tagged(model, key):
    """The present MODEL row the demo tagged KEY (tags are JSON: SQLite cannot filter on them)."""
    (row,) = [r for r in model.objects.present() if r.tags.get(demo.DEMO_KEY_TAG) == key]
    return row


@pytest.fixture
def front(aws, settings, monkeypatch):
    app = DemoFront(aws, recorded_answer, RECORDED_OPERATIONS, rewrite=backdate.rewrite)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.AWS_ENDPOINT_URL = url
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    server.shutdown()
    thread.join()


@pytest.fixture
def pipeline(front, db):
    from findings import detection
    from fleet import inventory
    from fleet.models import DatabaseInstance, Instance, LoadBalancer, NatGateway, Snapshot

    aws_module.clear_credential_cache()
    call_command("seed_demo", stdout=StringIO())
    accounts = list(CloudAccount.objects.filter(organization__slug=demo.DEMO_ORG_SLUG))
    for account in accounts:
        inventory.sync_inventory(account)
        detection.collect_utilization(account)
        detection.collect_resource_metrics(account)
        detection.detect(account)
    # The front gave them the story's age: the inventory stored it.
    aged = timezone.now() - timedelta(days=backdate.AGE_DAYS - 1)
    for model, field in (
        (Snapshot, "started_at"),
        (DatabaseInstance, "created_at"),
        (NatGateway, "created_at"),
        (LoadBalancer, "created_at"),
    ):
        assert all(getattr(row, field) < aged for row in model.objects.present()), model
    yield {
        "instances": {
            i.tags.get(demo.DEMO_KEY_TAG): i.instance_id for i in Instance.objects.present()
        },
        "recommendations": list(Recommendation.objects.open()),
    }
    aws_module.clear_credential_cache()


def _resource_ids():
    """{kind: the resource_id the demo built for it}, from what the inventory stored."""
    from fleet.models import DatabaseInstance, LoadBalancer, NatGateway, Snapshot

    def by_key(model, field, key):
        return getattr(tagged(model, key), field)

    return {
        Kind.OLD_SNAPSHOT: by_key(Snapshot, "snapshot_id", "old-snapshot"),
        Kind.IDLE_DATABASE: by_key(DatabaseInstance, "db_instance_id", "idle-database"),
        Kind.IDLE_NAT_GATEWAY: by_key(NatGateway, "nat_gateway_id", "idle-nat"),
        Kind.IDLE_LOAD_BALANCER: by_key(LoadBalancer, "dimension", "idle-alb"),
    }


def test_each_new_kind_is_found_on_the_resource_built_for_it(pipeline):
    found = {(r.kind, r.resource_id): r for r in pipeline["recommendations"]}
    expected = {
        **_resource_ids(),
        Kind.OLD_GENERATION: pipeline["instances"]["old-generation"],
        Kind.GRAVITON: pipeline["instances"]["graviton-candidate"],
    }
    missing = {kind: rid for kind, rid in expected.items() if (kind, rid) not in found}
    assert missing == {}
    for kind, resource_id in expected.items():
        recommendation = found[(kind, resource_id)]
        assert recommendation.monthly_saving > Decimal(0), kind
        assert recommendation.summary and recommendation.action, kind
        # Every saving says which price it used and its date.
        saving = recommendation.evidence["saving"]
        sources = {k: v for k, v in saving.items() if k.endswith("_price_source")}
        assert sources, kind
        assert set(sources.values()) <= {"price_list", "price_table"}, kind
        assert any(k.endswith("_price_as_of") for k in saving), kind


def test_the_new_resources_are_inventoried_in_their_accounts_and_regions(pipeline):
    from fleet.models import DatabaseInstance, LoadBalancer, NatGateway, Snapshot

    for model, specs in (
        (Snapshot, demo.DEMO_SNAPSHOTS),
        (DatabaseInstance, demo.DEMO_DATABASES),
        (NatGateway, demo.DEMO_NAT_GATEWAYS),
        (LoadBalancer, demo.DEMO_LOAD_BALANCERS),
    ):
        for spec in specs:
            row = tagged(model, spec.key)
            assert (row.account.account_id, row.region) == (spec.account_id, spec.region)
    balancer = tagged(LoadBalancer, "idle-alb")
    assert (balancer.lb_type, balancer.registered_targets, balancer.healthy_targets) == (
        "application",
        0,
        0,
    )
    database = tagged(DatabaseInstance, "idle-database")
    assert (database.engine, database.instance_class, database.multi_az) == (
        "postgres",
        "db.m5.large",
        False,
    )
