"""Shared fixtures: the local AWS emulator and the personas used across the suite."""

import pytest
import requests
from django.conf import settings as django_settings
from moto.server import ThreadedMotoServer


def pytest_configure(config):
    # Argon2 costs ~0.15 s a hash by design; the suite creates hundreds of users. The production
    # hashers are tested on their own (tests/config/test_security.py).
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The shared AWS rate limits (accounts/ratelimit.py) take a database row per call: tests that
    # call the emulator without the database would fail on it. Their own tests turn them on.
    django_settings.AWS_API_RATE_LIMITS = {}
    # Tests render templates without running collectstatic first.
    django_settings.STORAGES = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_caches():
    """Each test starts with empty caches. The API's per-user throttle counts live in the cache,
    keyed by user id; SQLite reuses ids after a rollback, so one test's requests would otherwise
    count against the next test's user (and its 429s would look like the code's)."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(scope="session")
def moto_server():
    """A real moto server on 127.0.0.1 (random port), shared by the whole run."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server, settings, monkeypatch):
    """Point every boto3 client at a freshly reset emulator for this test."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    settings.AWS_ENDPOINT_URL = moto_server
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


# --- Personas: alice owns acme, bob is a viewer in acme, charlie runs another organisation ---


@pytest.fixture
def acme(db):
    from accounts.models import Organization

    return Organization.objects.create(name="Acme", slug="acme")


@pytest.fixture
def globex(db):
    from accounts.models import Organization

    return Organization.objects.create(name="Globex", slug="globex")


def _member(django_user_model, username, organization, role, **extra):
    from accounts.models import Membership

    user = django_user_model.objects.create_user(
        username, email=f"{username}@example.com", password=f"pw-{username}-Secret1", **extra
    )
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


@pytest.fixture
def alice(django_user_model, acme):
    return _member(django_user_model, "alice", acme, "admin")


@pytest.fixture
def bob(django_user_model, acme):
    return _member(django_user_model, "bob", acme, "viewer")


@pytest.fixture
def charlie(django_user_model, globex):
    return _member(django_user_model, "charlie", globex, "admin")


@pytest.fixture
def acme_account(acme):
    from accounts.models import CloudAccount

    return CloudAccount.objects.create(
        organization=acme,
        name="Acme production",
        account_id="111111111111",
        role_arn="arn:aws:iam::111111111111:role/SpendlensAccess",
        regions=["us-east-1"],
    )


@pytest.fixture
def globex_account(globex):
    """An AWS account of the other organisation."""
    from accounts.models import CloudAccount

    return CloudAccount.objects.create(
        organization=globex,
        name="Globex production",
        account_id="999999999999",
        role_arn="arn:aws:iam::999999999999:role/SpendlensAccess",
        regions=["us-east-1"],
    )


@pytest.fixture
def aws_organization(aws):
    """An AWS Organization in the emulator (tests/organizations.py): {member name: account ID}."""
    from tests import organizations

    return organizations.aws_organization(aws)


@pytest.fixture
def payer(acme):
    """Acme's management account of that AWS Organization."""
    from tests import organizations

    return organizations.payer(acme)


@pytest.fixture
def aws_faults(aws, settings, monkeypatch):
    """The emulator behind a proxy that injects scripted AWS errors (see tests/aws_faults.py)."""
    from accounts import aws as aws_module
    from tests.aws_faults import FaultProxy

    proxy = FaultProxy(aws).start()
    settings.AWS_ENDPOINT_URL = proxy.url
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    aws_module.clear_credential_cache()
    yield proxy
    proxy.stop()
    aws_module.clear_credential_cache()


def queue_cost_explorer(endpoint, account_id, results):
    """Queue canned GetCostAndUsage answers in the emulator for ACCOUNT_ID."""
    response = requests.post(
        f"{endpoint}/moto-api/static/ce/cost-and-usage-results",
        json={"account_id": account_id, "results": results},
        timeout=10,
    )
    response.raise_for_status()


@pytest.fixture
def fresh_credentials():
    """No assumed-role credentials cached from an earlier test's (reset) emulator."""
    from accounts import aws as aws_module

    aws_module.clear_credential_cache()
    yield
    aws_module.clear_credential_cache()


@pytest.fixture
def olivia(django_user_model, acme):
    """An operator of acme."""
    from accounts.models import Membership

    user = django_user_model.objects.create_user("olivia", email="olivia@example.com")
    Membership.objects.create(user=user, organization=acme, role="operator")
    return user


@pytest.fixture
def https_receiver(settings):
    """A local HTTPS receiver the outbound guard is told to trust (tests/support)."""
    from tests.support.https_receiver import HttpsReceiver

    receiver = HttpsReceiver().start()
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_CA_BUNDLE = receiver.ca_path
    yield receiver
    receiver.stop()
