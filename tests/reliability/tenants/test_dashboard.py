"""charlie on the dashboard and the auth pages: acme's keys answer like GHOST, and forms
naming acme's rows change nothing of acme's."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.utils.http import urlsafe_base64_encode

from tests.reliability.tenants.api_operations import tenant_models_by_name
from tests.reliability.tenants.checks import Findings, _request, changes, leaks, outcome, snapshot
from tests.reliability.tenants.routes import OURS, site_routes, site_values
from tests.reliability.tenants.world import GHOST, _rows_of

pytestmark = pytest.mark.django_db


# --- The dashboard --------------------------------------------------------------------------------


def ghost_values(values: dict) -> dict:
    ghosts = {"pk": GHOST, "token_key": "ghost987", "uidb64": urlsafe_base64_encode(b"987654321")}
    return {k: ghosts.get(k, v) for k, v in values.items()}


def test_charlie_finds_nothing_of_acme_on_the_dashboard(world, client, unchanged):
    """/instances/<pk>/stop|start/, /aws-accounts/<pk>/ and /test/, token revocation and the
    auth pages with acme's keys: what GHOST gets, GET and POST (so a 404, and no stop reaches
    AWS); the pages without keys show nothing of acme's."""
    client.force_login(world.charlie)
    found = Findings()
    insider = Client()
    insider.force_login(world.alice)
    for route in site_routes():
        if route.params and route.module.startswith(OURS):
            # Not vacuous: alice opens what charlie must not (POST-only routes: GET is a 405).
            statuses = {insider.get(route.url(**v)).status_code for v in site_values(route, world)}
            found.check(200 in statuses or statuses == {405}, f"{route.route}: alice {statuses}")
    unchanged()
    ghosts = {}
    for route in site_routes():
        if route.pattern.name == "logout":
            continue
        methods = ("GET", "POST") if route.module.startswith(OURS) else ("GET",)
        if not route.params:
            response = client.get(route.url())
            found.checked["dashboard urls"] += 1
            found.check(not leaks(response), f"GET {route.url()} shows {leaks(response)}")
            continue
        for values in site_values(route, world):
            keys = [v for k, v in values.items() if k != "action"]
            masked = [*keys, *(v for k, v in ghost_values(values).items() if k != "action")]
            ghost_url = route.url(**ghost_values(values))
            for method in methods:
                if (method, ghost_url) not in ghosts:
                    ghost = _request(client, method, ghost_url)
                    ghosts[method, ghost_url] = (ghost, outcome(ghost, masked))
                ghost, expected = ghosts[method, ghost_url]
                url = route.url(**values)
                response = _request(client, method, url)
                found.checked["dashboard urls"] += 1
                found.check(
                    outcome(response, masked) == expected,
                    f"{method} {url}: {response.status_code} {response.get('Location')}, "
                    f"GHOST: {ghost.status_code} {ghost.get('Location')}",
                )
                found.check(not leaks(response, keys), f"{method} {url} shows {leaks(response)}")
    found.assert_none()


def test_dashboard_forms_naming_acme_rows_change_nothing_of_acme(world, client, aws_calls):
    """POSTing every form page of ours (no key in the URL) with every reference set to one of
    acme's rows: nothing of acme's changes, nothing is created for acme."""
    client.force_login(world.charlie)
    found = Findings()
    hostile = {name: world.ref(model) for name, model in tenant_models_by_name().items()}
    hostile.update(
        {  # what would make the forms valid but for the reference
            "name": "tenant-sweep",
            "account_id": "123456789012",
            "role_arn": "arn:aws:iam::123456789012:role/Sweep",
            "regions": "us-east-1",
            "alert_email": "sweep@example.com",
            "cooldown_minutes": "60",
        }
    )
    hostile = {k: v for k, v in hostile.items() if v is not None}
    before = snapshot()
    for route in site_routes():
        if route.params or not route.module.startswith(OURS) or route.pattern.name == "signup":
            continue
        response = client.post(route.url(), hostile)
        found.checked["dashboard urls"] += 1
        found.check(response.status_code < 500, f"POST {route.url()}: {response.status_code}")
        found.check(not leaks(response, hostile.values()), f"POST {route.url()} shows data")
    found.assert_none()
    after = snapshot()
    diff = changes(before, after)
    for model, pks in world.acme_rows.items():
        label = model._meta.label
        if label in before:
            altered = [pk for pk in pks if before[label][pk] != after[label].get(pk)]
            assert not altered, f"acme's {label} {altered} changed: {diff.get(label)}"
    touched = {
        model: set(pks) - set(world.acme_rows.get(model, []))
        for model, pks in _rows_of(world.acme, world.acme_users).items()
    }
    assert not any(touched.values()), f"new rows for acme: {touched}"
    assert not {label for label in diff if label.startswith("accounts.CloudAccount")}, diff
    assert not aws_calls and not mail.outbox
