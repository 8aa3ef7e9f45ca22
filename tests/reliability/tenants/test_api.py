"""charlie (globex) through every API operation: acme's keys answer like GHOST, its rows are
in no list, and bodies naming them are refused like bodies naming nothing."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.reliability.tenants.api_operations import (
    API_NAMES,
    BODY_METHODS,
    SAFE,
    api_client,
    api_formats,
    api_methods,
    api_model,
    body_for,
    call,
    error_fields,
    ghost_ref,
    query_variants,
    request_serializer,
)
from tests.reliability.tenants.checks import Findings, leaks, normalized, outcome, text_of
from tests.reliability.tenants.routes import api_routes
from tests.reliability.tenants.world import GHOST

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("name", API_NAMES)
def test_charlie_finds_nothing_of_acme_through_the_api(name, auth, world, unchanged):
    """Detail and action routes: acme's keys answer like GHOST (a 404); lists and summaries: a
    200 with none of acme's rows; bodies naming acme's rows: refused like bodies naming none."""
    client = api_client(world, auth)
    found = Findings()
    unchanged()
    for route in (r for r in api_routes() if r.name == name):
        if auth == "session" and "format" in route.params:
            continue  # the session repeats the token's sweep on the plain routes only
        model = api_model(route)
        for fmt in api_formats(route):
            values = {"format": fmt} if fmt else {}
            # The suffixed routes only repeat the plain ones: one of acme's keys is enough.
            pks = world.pks(model) if model else []
            pks = pks if fmt is None else pks[:1]
            for method in api_methods(route):
                serializer = request_serializer(route, method) if method not in SAFE else None
                own_body, _ = body_for(serializer, world.own_ref)
                if "pk" in route.params:
                    _detail(found, client, route, values, method, pks, own_body)
                    if fmt is None and method in BODY_METHODS:
                        _hostile_body(found, client, route, world, method, serializer)
                elif method == "GET":
                    _listing(found, client, route, world, values, model)
                elif method in SAFE:
                    response = call(client, method, route.url(**values))
                    found.check(not leaks(response), f"{method} {route.url(**values)} leaks")
                    found.checked["api operations"] += 1
                else:
                    _hostile_body(found, client, route, world, method, serializer, values)
    found.assert_none()


def _detail(found, client, route, values, method, pks, body):
    ghost = call(client, method, route.url(pk=GHOST, **values), body)
    expected = outcome(ghost, [GHOST])
    if method != "OPTIONS" and ghost.status_code < 500:  # crashes: see api_client()
        found.check(ghost.status_code == 404, f"{method} {route.name} GHOST: {ghost.status_code}")
    for pk in pks:
        url = route.url(pk=pk, **values)
        response = call(client, method, url, body)
        found.checked["api operations"] += 1
        found.check(
            outcome(response, [pk]) == expected,
            f"{method} {url}: {response.status_code} {text_of(response)[:200]!r}, but GHOST "
            f"gets {ghost.status_code}",
        )
        found.check(not leaks(response), f"{method} {url} shows {leaks(response)}")


def _listing(found, client, route, world, values, model):
    pks = set(world.pks(model)) if model else set()
    for params in query_variants(route, world):
        response = client.get(route.url(**values), params)
        found.checked["api operations"] += 1
        where = f"GET {route.url(**values)}?{params}"
        # 409: an answer about charlie's own data (too little of it for what-to-buy), checked
        # for acme's rows like a 200.
        ok = response.status_code in (200, 409) or response.status_code >= 500  # crashes: above
        if response.status_code == 400:
            # A value that is no choice of charlie's (acme's dimension as group_by): refused
            # exactly like a made-up value.
            window = ("start", "end", "page_size")
            asked = [v for k, v in params.items() if k not in window]
            made_up = {k: v if k in window else f"ghost-{GHOST}" for k, v in params.items()}
            ghost = client.get(route.url(**values), made_up)
            ok = asked and _said(response, asked) == _said(ghost, [f"ghost-{GHOST}"])
        found.check(ok, f"{where}: {response.status_code}")
        found.check(not leaks(response, params.values()), f"{where} shows {leaks(response)}")
        if response.get("Content-Type", "").startswith("application/json"):
            data = response.json()
            rows = data.get("results", data) if isinstance(data, dict) else data
            ids = {row.get("id") for row in rows if isinstance(row, dict)}
            found.check(not ids & pks, f"{where} lists acme's {sorted(ids & pks)}")


def _said(response, sent) -> tuple:
    """Status and body with the values SENT (echoed anywhere, e.g. in a link) written <v>."""
    body = normalized(response)
    for value in sorted(map(str, sent), key=len, reverse=True):
        for written in (value, quote(value, safe="")):  # as sent, and in a link (tag%3Akey)
            body = body.replace(written, "<v>")
    return response.status_code, body


def _hostile_body(found, client, route, world, method, serializer, values=None):
    """A write naming acme's rows in its body (on charlie's own row, for a detail route) is
    refused exactly like one naming rows that do not exist."""
    values = dict(values or {})
    if "pk" in route.params:
        own = world.globex_rows.get(api_model(route), [])
        if not own:
            return
        values["pk"] = own[0]
    hostile, refs = body_for(serializer, world.ref)
    if not refs:
        return  # nothing in the body points anywhere: it would only change charlie's own row
    ghost, _ = body_for(serializer, ghost_ref)
    url = route.url(**values)
    response = call(client, method, url, hostile)
    expected = call(client, method, url, ghost)
    found.checked["api operations"] += 1
    found.check(
        error_fields(response) == error_fields(expected),
        f"{method} {url} {hostile}: {error_fields(response)}, naming nothing: "
        f"{error_fields(expected)}",
    )
    found.check(not leaks(response, refs), f"{method} {url} {hostile} shows {leaks(response)}")


def test_no_api_operation_crashes(world):
    client = api_client(world, "token")
    crashes = []
    for route in api_routes():
        for fmt in api_formats(route):
            values = {"format": fmt} if fmt else {}
            if "pk" in route.params:
                values["pk"] = GHOST
            for method in api_methods(route):
                response = call(client, method, route.url(**values))
                if response.status_code >= 500:
                    crashes.append(f"{method} {route.url(**values)}")
    assert not crashes, crashes
