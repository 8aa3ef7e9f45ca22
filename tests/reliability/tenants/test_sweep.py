"""The sweep itself: the AWS guard it relies on works, and it knows every URL."""

from __future__ import annotations

import pytest
from django.apps import apps

from actions import stop_start
from fleet.models import Instance
from tests.reliability.tenants.api_operations import (
    API_NAMES,
    _spectacular,
    api_formats,
    api_methods,
)
from tests.reliability.tenants.routes import (
    KNOWN_PARAMS,
    admin_models,
    admin_routes,
    all_routes,
    api_routes,
    model_routes,
    site_routes,
)

pytestmark = pytest.mark.django_db


# --- The sweep itself -----------------------------------------------------------------------------


def test_the_aws_guard_catches_a_stop_that_reaches_for_aws(world, aws_calls):
    """What the sweeps rely on: an instance stop that does get as far as AWS is caught."""
    instance = Instance.objects.get(pk=world.pks(Instance)[0])

    with pytest.raises(AssertionError, match="called during the tenant sweep"):
        stop_start.stop_instance(instance, actor=world.alice)

    assert aws_calls


def test_the_sweep_knows_every_url(world):
    """Every route is one the sweeps reach, with parameters they know how to fill; the counts
    below are what they cover (printed with -s)."""
    unknown = {(r.route, p) for r in all_routes() for p in r.params if p not in KNOWN_PARAMS}
    assert not unknown, f"routes with parameters the tenant sweep cannot fill: {unknown}"
    # Every API route the resolver has is also in the schema the bodies and parameters come from.
    _, views = _spectacular()
    undocumented = {r.name for r in api_routes() if r.callback not in views and r.params != ()}
    assert not undocumented - {"api:api-root"}, undocumented
    # Every model of our apps with a tenant has an admin page and acme has a row of it.
    ours = [m for m in apps.get_models() if hasattr(m, "tenant_path")]
    assert all(world.pks(model) for model in ours), [m for m in ours if not world.pks(m)]

    operations = sum(
        len(api_formats(r)) * len(api_methods(r)) for r in api_routes() if r.name in API_NAMES
    )
    admin_pages = sum(len(model_routes(m)) for m in admin_models())
    print(
        f"\nAPI: {len(api_routes())} routes, {operations} route x format x method operations; "
        f"admin: {len(admin_models())} ModelAdmins, {admin_pages} model URLs, "
        f"{len(admin_routes()) - admin_pages} site URLs; "
        f"dashboard and auth: {len(site_routes())} routes"
    )
    assert len(API_NAMES) >= 20 and len(admin_models()) >= 20
