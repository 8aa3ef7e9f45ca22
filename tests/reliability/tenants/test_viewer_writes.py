"""bob, acme's viewer: every API write is a 403, and the dashboard and admin writes change
nothing but the audit log's refused attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from actions.models import InstanceAction
from tests.admin.conftest import make_staff
from tests.reliability.tenants.api_operations import (
    SAFE,
    api_methods,
    api_model,
    body_for,
    call,
    request_serializer,
)
from tests.reliability.tenants.checks import COVERAGE, Findings, changes, snapshot
from tests.reliability.tenants.routes import (
    CONFIRM,
    OURS,
    admin_models,
    api_routes,
    site_routes,
    site_values,
    staff_request,
)

pytestmark = pytest.mark.django_db


def test_a_viewer_can_read_but_every_api_write_is_a_403(world, aws_calls):
    """bob (acme's viewer) on his own organisation's rows: GET works, every write is a 403 and
    changes nothing but the audit log's record of a refused stop/start."""
    client = APIClient()
    client.force_authenticate(world.bob)
    found = Findings()
    before = snapshot()
    writes = 0
    for route in api_routes():
        if "format" in route.params:
            continue
        model = api_model(route)
        for method in api_methods(route):
            if method in SAFE:
                continue
            body, _ = body_for(request_serializer(route, method), world.ref)
            pks = world.pks(model) if "pk" in route.params else [None]
            for pk in pks:
                url = route.url(pk=pk) if pk is not None else route.url()
                response = call(client, method, url, body)
                writes += 1
                found.check(response.status_code == 403, f"{method} {url}: {response.status_code}")
        if "pk" in route.params and "GET" in api_methods(route) and model is not None:
            response = client.get(route.url(pk=world.pks(model)[0]))
            found.check(response.status_code == 200, f"bob cannot read {route.name}")
    found.assert_none()
    COVERAGE["viewer api writes"] += writes
    diff = changes(before, snapshot())
    refused = diff.pop("actions.InstanceAction", {})
    assert not diff, f"bob's writes changed {diff}"
    assert set(refused) == {"added"}, refused
    result = [f.attname for f in InstanceAction._meta.concrete_fields].index("result")
    assert {row[result] for row in refused["added"]} == {"refused"}
    assert not aws_calls and not mail.outbox
    assert writes >= 20  # stop/start on 3 instances, dismiss/snooze on 7, the budget's writes


def test_a_viewer_changes_nothing_from_the_dashboard_or_the_admin(world, client, aws_calls):
    """bob, acme's viewer (and staff with every permission of our apps): stop/start and test
    connection from the dashboard, and every admin action on acme's rows, confirmed: nothing
    changes but the audit log's refused attempts, and AWS is never asked."""
    make_staff(world.bob)
    client.force_login(world.bob)
    before = snapshot()
    for route in site_routes():
        if route.module.startswith(OURS) and "pk" in route.params:
            for values in site_values(route, world):
                client.post(route.url(**values))
    future = str(timezone.localdate() + timedelta(days=30))
    for model in admin_models():
        opts, pks = model._meta, [str(pk) for pk in world.pks(model)]
        for name in admin.site._registry[model].get_actions(staff_request(world.bob)):
            if name == "delete_selected" or not pks:
                continue  # deleting is a Django permission, not a role (not a tenant matter)
            data = {"action": name, "index": 0, "_selected_action": pks, "snooze_until": future}
            client.post(f"/admin/{opts.app_label}/{opts.model_name}/", {**data, **CONFIRM})
    diff = changes(before, snapshot())
    refused = diff.pop("actions.InstanceAction", {"added": []})
    assert not diff, f"bob changed {diff}"
    result = [f.attname for f in InstanceAction._meta.concrete_fields].index("result")
    assert refused["added"] and {row[result] for row in refused["added"]} == {"refused"}
    assert not aws_calls and not mail.outbox
