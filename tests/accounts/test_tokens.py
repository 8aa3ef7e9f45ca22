"""API tokens (accounts/tokens.py): expired ones refused at once, deleted by a schedule."""

from datetime import timedelta

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from knox.signals import token_expired
from rest_framework.test import APIClient

from accounts.tasks import delete_expired_api_tokens
from config.schedules import ensure_schedules

pytestmark = pytest.mark.django_db


def token(user, expires_in: timedelta | None = timedelta(days=30)) -> tuple[AuthToken, str]:
    stored, key = AuthToken.objects.create(user=user, expiry=timedelta(days=1))
    # knox always dates the expiry from now: set it (past or none) afterwards.
    stored.expiry = None if expires_in is None else timezone.now() + expires_in
    stored.save(update_fields=["expiry"])
    return stored, key


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_an_expired_token_is_refused_deleted_and_reported(alice):
    stored, key = token(alice, expires_in=timedelta(seconds=-1))
    reported = []

    def receiver(sender, username, source, **_):
        reported.append((username, source))

    token_expired.connect(receiver)
    try:
        response = api(key).get("/api/v1/accounts/")
    finally:
        token_expired.disconnect(receiver)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert not AuthToken.objects.filter(pk=stored.pk).exists()
    assert reported == [("alice", "auth_token")]


def test_a_live_token_costs_one_token_query_and_leaves_the_clean_up_to_the_schedule(alice):
    old, _ = token(alice, expires_in=timedelta(days=-2))
    _, key = token(alice)

    with CaptureQueriesContext(connection) as queries:
        response = api(key).get("/api/v1/accounts/")

    assert response.status_code == 200
    on_tokens = [q["sql"] for q in queries.captured_queries if "knox_authtoken" in q["sql"]]
    assert len(on_tokens) == 1, on_tokens  # the lookup; knox's own class loads them all too
    assert AuthToken.objects.filter(pk=old.pk).exists()


def test_the_schedule_deletes_expired_tokens_of_every_user_and_nothing_else(alice, charlie):
    token(alice, expires_in=timedelta(seconds=-1))
    token(charlie, expires_in=timedelta(days=-400))
    live, live_key = token(alice)
    forever, _ = token(charlie, expires_in=None)

    assert delete_expired_api_tokens() == 2

    assert set(AuthToken.objects.values_list("pk", flat=True)) == {live.pk, forever.pk}
    assert api(live_key).get("/api/v1/accounts/").status_code == 200
    assert delete_expired_api_tokens() == 0


def test_the_clean_up_is_scheduled_daily():
    from django_q.models import Schedule

    assert "expired-api-tokens" in ensure_schedules()
    schedule = Schedule.objects.get(name="expired-api-tokens")
    assert (schedule.func, schedule.minutes) == ("accounts.tasks.delete_expired_api_tokens", 1440)


def test_the_schema_still_documents_the_token_header(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    assert schema["components"]["securitySchemes"]["knoxApiToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    assert {"knoxApiToken": []} in schema["paths"]["/api/v1/costs/summary/"]["get"]["security"]
