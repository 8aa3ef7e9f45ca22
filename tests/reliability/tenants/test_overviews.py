"""Same pages, with and without acme: every list, summary, change list and overview charlie
sees is byte for byte the same once acme is gone."""

from __future__ import annotations

import json

import pytest

from tests.admin.conftest import make_staff
from tests.reliability.tenants.api_operations import api_client, api_methods, query_variants
from tests.reliability.tenants.checks import COVERAGE, normalized
from tests.reliability.tenants.routes import admin_models, api_routes, site_routes
from tests.reliability.tenants.world import TAG, World, remove_acme

pytestmark = pytest.mark.django_db


# --- Same pages, with and without acme -----------------------------------------------------------


def overview_urls(world: World) -> list[tuple[str, dict]]:
    """Every page that lists or sums rows: the API's lists and summaries with their query
    variants, every admin change list (searched for acme too), the admin's and the apps'
    indexes, the dashboard's pages without keys."""
    urls = []
    for route in api_routes():
        if "pk" in route.params or "format" in route.params:
            continue
        if "GET" in api_methods(route):
            urls += [(route.url(), params) for params in query_variants(route, world)]
    for model in admin_models():
        opts = model._meta
        changelist = f"/admin/{opts.app_label}/{opts.model_name}/"
        urls += [(changelist, {}), (changelist, {"q": TAG}), (changelist, {"q": "a"})]
    urls.append(("/admin/", {}))
    urls += [(f"/admin/{label}/", {}) for label in {m._meta.app_label for m in admin_models()}]
    for route in site_routes():
        if not route.params and route.pattern.name != "logout":
            urls.append((route.url(), {}))
    return urls


def test_every_list_and_overview_is_the_same_without_acme(world, client, unchanged):
    """Charlie's view of every list, summary, change list and overview page (stat cards, the
    chart's JSON) is byte for byte the same once acme and its people are deleted."""
    make_staff(world.charlie)
    client.force_login(world.charlie)
    api = api_client(world, "token")
    urls = overview_urls(world)

    def look():
        pages = {}
        for url, params in urls:
            reader = api if url.startswith("/api/") else client
            response = reader.get(url, params)
            pages[url, json.dumps(params, sort_keys=True)] = (
                response.status_code,
                normalized(response),
            )
        return pages

    with_acme = look()
    remove_acme(world)
    without_acme = look()
    COVERAGE["overview pages compared without acme"] += len(urls)

    differ = [key for key in with_acme if with_acme[key] != without_acme[key]]
    assert not differ, f"charlie's view depends on acme's rows: {differ}"
    assert len(with_acme) >= 80
