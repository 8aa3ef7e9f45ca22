"""The tenant sweep's fixtures: its surroundings (no throttling, no AWS, fast passwords), the
world with both organisations, and the guard that nothing changed."""

from __future__ import annotations

import pytest
from botocore.client import BaseClient
from django.core import mail
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import Membership, Profile, Role
from tests.reliability.tenants.checks import COVERAGE, changes, snapshot
from tests.reliability.tenants.world import (
    ACME,
    GLOBEX,
    TAG,
    World,
    _rows_of,
    _seed,
    _seed_channels,
    _seed_commitments,
    _seed_scoped_budget,
)

# --- The sweep's surroundings: no throttling, no AWS, fast passwords --------------------------


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, monkeypatch):
    # Argon2 costs ~0.1 s a user; the personas are created for every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The sweep sends far more than API_THROTTLE_USER requests a minute; throttling is not
    # what it tests (and a 429 would hide what the endpoint would have answered).
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)


@pytest.fixture(autouse=True)
def aws_calls(monkeypatch):
    """Every AWS API call, refused: nothing charlie or bob does here may reach AWS."""
    calls = []

    def refuse(client, operation_name, api_params):
        calls.append(operation_name)
        raise AssertionError(f"AWS {operation_name} was called during the tenant sweep")

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)
    return calls


# --- The world: acme with a row of everything, globex with the same, GHOST for neither ---------


@pytest.fixture
def world(django_user_model, acme, globex, alice, bob, charlie):
    today = timezone.localdate()
    acme.name = f"Acme {TAG}-org"
    acme.save()
    operator = django_user_model.objects.create_user(
        f"{TAG}-operator", email=f"operator@{TAG}.example", first_name=f"{TAG}-first-name"
    )
    Membership.objects.create(user=operator, organization=acme, role=Role.OPERATOR)
    for user in (alice, bob, operator, charlie):
        Profile.objects.create(user=user, alert_email=f"{user.username}-alerts@example.com")
    Profile.objects.filter(user=operator).update(alert_email=f"alerts@{TAG}.example")
    _seed(acme, operator, today, **ACME)
    _seed(globex, charlie, today, **GLOBEX)
    _seed_scoped_budget(acme, **ACME)
    _seed_scoped_budget(globex, **GLOBEX)
    _seed_commitments(acme, **ACME)
    _seed_commitments(globex, **GLOBEX)
    _seed_channels(acme, **ACME)
    _seed_channels(globex, **GLOBEX)
    AuthToken.objects.create(user=alice)
    _, charlie_token = AuthToken.objects.create(user=charlie)
    acme_users = [alice, bob, operator]
    return World(
        acme=acme,
        globex=globex,
        alice=alice,
        bob=bob,
        charlie=charlie,
        charlie_token=charlie_token,
        acme_users=acme_users,
        acme_rows=_rows_of(acme, acme_users),
        globex_rows=_rows_of(globex, [charlie]),
    )


# --- What the sweeps check -------------------------------------------------------------------


# Package-scoped: the sweep, now several modules, still reports its coverage once.
@pytest.fixture(autouse=True, scope="package")
def _report_coverage():
    yield
    print(f"\ntenant sweep coverage: {dict(COVERAGE)}")  # shown with -s


@pytest.fixture
def unchanged(aws_calls):
    """Asserts, at the end of the test, that the database is as it was when first called."""
    state = {}

    def start():
        state["before"] = snapshot()

    yield start
    if "before" in state:
        diff = changes(state["before"], snapshot())
        assert not diff, f"the sweep changed the database: {diff}"
    assert not aws_calls, f"AWS was called: {aws_calls}"
    assert not mail.outbox, f"mail was sent: {[m.subject for m in mail.outbox]}"
