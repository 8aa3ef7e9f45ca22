import pytest
from django.db import OperationalError

from config import health


@pytest.mark.django_db
def test_health_answers_a_load_balancer_probe_by_private_ip(client, settings):
    settings.ALLOWED_HOSTS = ["spendlens.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/health", HTTP_HOST="10.0.3.17:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_other_paths_still_reject_unknown_hosts(client, settings):
    settings.ALLOWED_HOSTS = ["spendlens.example.com"]

    response = client.get("/admin/login/", HTTP_HOST="10.0.3.17:8000")

    assert response.status_code == 400


@pytest.mark.django_db
def test_ready_reports_database_and_broker(client):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": ["database", "broker"]}


@pytest.mark.django_db
def test_ready_is_503_naming_the_failed_dependency(client, monkeypatch):
    def broken_database():
        raise OperationalError("connection refused")

    # The probe registry is the seam: the database itself is not ours to break in a test.
    monkeypatch.setitem(health.READINESS_CHECKS, "database", broken_database)

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "failed": {"database": "OperationalError"},
    }


def test_ready_is_503_when_redis_broker_is_unreachable(client, db):
    # A real Redis client pointed at a closed port: the broker check must fail, not hang.
    # django-q2 reads its configuration once into Conf, so the test switches it there.
    from django_q.conf import Conf

    original = (Conf.ORM, Conf.REDIS)
    Conf.ORM, Conf.REDIS = None, "redis://127.0.0.1:1/0"
    try:
        response = client.get("/ready")
    finally:
        Conf.ORM, Conf.REDIS = original

    assert response.status_code == 503
    assert "broker" in response.json()["failed"]


@pytest.mark.django_db
def test_root_redirects_anonymous_users_to_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_dashboard_renders_for_a_logged_in_user(client, django_user_model):
    user = django_user_model.objects.create_user("alice", password="pw-alice-123")
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 200
    assert b"Dashboard" in response.content


@pytest.mark.django_db
def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
