"""CACHE_URL: one cache for every process, so the API throttles count once per deployment."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.cache import cache_setting
from tests.config.test_settings import run_manage

# Two requests of user 7 against a limit of 3 a minute: what the process's throttle allowed.
THROTTLE = """
from types import SimpleNamespace
from django.test import RequestFactory
from rest_framework.throttling import UserRateThrottle

class ThreeAMinute(UserRateThrottle):
    rate = "3/minute"

request = RequestFactory().get("/api/v1/costs/summary/")
request.user = SimpleNamespace(is_authenticated=True, pk=7)
print([ThreeAMinute().allow_request(request, None) for _ in range(2)])
"""


@pytest.mark.parametrize(
    ("url", "backend", "location"),
    [
        ("locmemcache://", "django.core.cache.backends.locmem.LocMemCache", ""),
        (
            "redis://cache.internal:6379/1",
            "django.core.cache.backends.redis.RedisCache",
            "redis://cache.internal:6379/1",
        ),
        (
            "dbcache://spendlens_cache",
            "django.core.cache.backends.db.DatabaseCache",
            "spendlens_cache",
        ),
    ],
)
def test_cache_url_picks_the_backend(url, backend, location):
    assert cache_setting(url) == {"BACKEND": backend, "LOCATION": location}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcache://cache.internal:11211", "CACHE_URL must start with locmemcache://, redis://"),
        ("cache.internal:6379", "CACHE_URL must start with"),
        ("dbcache://", "needs a table name"),
        ("dbcache://cache;drop", "needs a table name"),
    ],
)
def test_a_bad_cache_url_is_refused_naming_the_variable(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        cache_setting(url)


def test_a_bad_cache_url_stops_the_start():
    result = run_manage({"DEBUG": "1", "CACHE_URL": "memcached://x"}, "check")

    assert result.returncode != 0
    assert "CACHE_URL must start with" in result.stderr


def test_processes_sharing_a_database_cache_count_one_throttle_history(tmp_path):
    """migrate creates the dbcache:// table (as the deploy's migrate task does); then two
    processes allow 3 requests of one user between them, not 3 each."""
    env = {
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        "CACHE_URL": "dbcache://spendlens_cache",
    }
    migrated = run_manage(env, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr

    first = run_manage(env, "shell", "-c", THROTTLE)
    second = run_manage(env, "shell", "-c", THROTTLE)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.strip().splitlines()[-1] == "[True, True]"
    assert second.stdout.strip().splitlines()[-1] == "[True, False]"


def test_processes_with_their_own_memory_count_apart(tmp_path):
    """The default, for contrast: each process counts alone (README: per gunicorn worker)."""
    env = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}

    runs = [run_manage(env, "shell", "-c", THROTTLE) for _ in range(2)]

    assert [r.stdout.strip().splitlines()[-1] for r in runs] == ["[True, True]"] * 2, runs
