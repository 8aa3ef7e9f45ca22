"""Security settings that a test can prove: CSP, login throttling, Argon2, CSRF, no secrets in
logs."""

import io
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

import config.settings as production
from config.log_redaction import redact

PASSWORD = "pw-alice-Secret1"  # the persona's password (tests/conftest.py)


# --- Content-Security-Policy ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/admin/", "/api/docs/", "/accounts/login/", "/accounts/password_reset/"]
)
def test_every_page_has_a_strict_script_policy(client, alice, path):
    alice.is_staff = True
    alice.save()
    client.force_login(alice)

    response = client.get(path)

    policy = dict(
        part.strip().split(" ", 1)
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    # No inline script on the page either (json_script's data blocks are not code).
    body = response.content.decode()
    assert re.search(r"<script(?![^>]*(src=|application/json))", body) is None


# --- Login throttling (django-axes) ------------------------------------------------------------


def log_in(client, password, address="203.0.113.7"):
    return client.post(
        reverse("login"),
        {"username": "alice", "password": password},
        REMOTE_ADDR="10.0.0.2",  # the load balancer
        HTTP_X_FORWARDED_FOR=address,
    )


@pytest.mark.django_db
def test_five_failures_lock_the_username_from_that_address(alice):
    client = Client()
    for _ in range(4):
        assert log_in(client, "wrong").status_code == 200  # the form again, with an error
    assert log_in(client, "wrong").status_code == 429  # the fifth failure locks

    locked = log_in(client, PASSWORD)

    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out: nobody can lock a colleague out from elsewhere...
    assert log_in(Client(), PASSWORD, address="198.51.100.9").status_code == 302
    # ...and a forged X-Forwarded-For entry does not make the locked address another one:
    # the load balancer's own (rightmost) entry is the one that counts.
    assert log_in(Client(), PASSWORD, address="198.51.100.9, 203.0.113.7").status_code == 429


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(alice):
    client = Client()
    for _ in range(5):
        log_in(client, "wrong")

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert log_in(client, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_success_resets_the_failure_count(alice):
    client = Client()
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        log_in(client, "wrong")

    assert log_in(client, PASSWORD).status_code == 302


# --- Password hashing --------------------------------------------------------------------------


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2id(django_user_model):
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        user = django_user_model.objects.create_user("hashed", password="Correct-horse-1")

        assert user.password.startswith("argon2$argon2id$")
        assert check_password("Correct-horse-1", user.password)


@pytest.mark.django_db
def test_an_older_hash_is_upgraded_at_login(django_user_model):
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS[1:]):
        user = django_user_model.objects.create_user("legacy", password="Correct-horse-1")
    assert user.password.startswith("pbkdf2_sha256$")

    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        response = Client().post(
            reverse("login"), {"username": "legacy", "password": "Correct-horse-1"}
        )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


# --- CSRF on every state-changing form ---------------------------------------------------------


def _site_routes(resolver=None, prefix=""):
    """(route, name) of every dashboard/accounts URL: the pages with forms (API, admin aside)."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(("api/", "admin/")):
            continue
        if isinstance(entry, URLResolver):
            yield from _site_routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name


def _fill(route: str, pk: int, token_key: str) -> str:
    route = re.sub(r"<int:\w+>", str(pk), route)
    route = route.replace("<str:action>", "stop").replace("<str:token_key>", token_key)
    route = re.sub(r"<\w+:\w+>|<\w+>", "x", route)
    return "/" + route.lstrip("^").rstrip("$")


@pytest.mark.django_db
def test_every_form_post_without_a_csrf_token_is_refused(alice, acme_account):
    from knox.models import AuthToken

    token, _ = AuthToken.objects.create(user=alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    refused = []
    for route, name in _site_routes():
        url = _fill(route, acme_account.pk, token.token_key)
        response = client.post(url, {"name": "x"})
        if response.status_code == 405:  # a page that takes no POST at all
            continue
        assert response.status_code == 403, (name, url, response.status_code)
        refused.append(name)

    assert AuthToken.objects.filter(pk=token.pk).exists()  # the revoke POST did nothing
    assert {"profile", "token-create", "token-revoke", "cloud-account-test", "logout"} <= set(
        refused
    )
    # The password reset pages take a POST from people who cannot log in: CSRF still applies.
    assert {"password_reset", "password_reset_confirm"} <= set(refused)


@pytest.mark.django_db
def test_admin_and_session_api_writes_need_the_csrf_token(alice, acme):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    admin = client.post(reverse("admin:alerts_budget_add"), {"name": "x"})
    api = client.post(
        "/api/v1/budgets/",
        {"organization": acme.slug, "name": "x", "monthly_amount": "1"},
        content_type="application/json",
    )

    assert admin.status_code == 403
    assert api.status_code == 403


# --- No secret in the logs ---------------------------------------------------------------------


@pytest.fixture
def all_logs(settings):
    """Everything the configured console handler writes, with every logger at DEBUG."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    levels = {name: logging.getLogger(name).level for name in ("", "botocore", "urllib3")}
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    boto = logging.getLogger("botocore")
    boto.addHandler(handler)  # botocore propagates to root; be sure its DEBUG lines get here
    yield stream
    boto.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    handler.setStream(previous)


@pytest.mark.django_db(transaction=True)
def test_no_secret_reaches_the_logs_even_at_debug(aws, all_logs, alice, acme_account, settings):
    from accounts import aws as aws_module
    from costs.ingest import explorer

    settings.METRICS_TOKEN = "metrics-token-0123456789abcdef"
    aws_module.clear_credential_cache()
    credentials = aws_module.assume_role(acme_account.role_arn, acme_account.external_id)
    explorer.sync_account(acme_account)  # AssumeRole's answer and signed requests, at DEBUG
    client = Client()
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    client.post(reverse("token-create"))
    token_key_shown = [str(m) for m in client.get(reverse("profile")).context["messages"]]
    client.post(reverse("login"), {"username": "alice", "password": "Wrong-but-secret-9"})
    logging.getLogger("spendlens.test").error(
        "connecting to %s", "postgres://app:db-password-123456@db.internal:5432/spendlens"
    )

    logs = all_logs.getvalue()

    assert "Sending http request" in logs  # botocore really logged at DEBUG
    secrets = {
        "role secret key": credentials.secret_access_key,
        "role session token": credentials.session_token,
        "password": PASSWORD,
        "wrong password": "Wrong-but-secret-9",
        "SECRET_KEY": settings.SECRET_KEY,
        "METRICS_TOKEN": settings.METRICS_TOKEN,
        "database password": "db-password-123456",
    }
    if token_key_shown:
        secrets["API token"] = token_key_shown[0].rsplit(" ", 1)[-1]
    leaked = [name for name, value in secrets.items() if value and value in logs]
    assert leaked == []


def test_redaction_keeps_the_message_readable():
    line = "GET /x {'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIA/20261123', 'Host': 'ce'}"

    assert redact(line, []) == "GET /x {'Authorization': b'[redacted]', 'Host': 'ce'}"
    assert redact("postgres://u:p4ss@h/db", []) == "postgres://u:[redacted]@h/db"
    assert redact("sync of 111111111111: 2 requests", []) == "sync of 111111111111: 2 requests"
