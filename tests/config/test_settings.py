"""Settings fail at start with a message naming the bad variable (run in a fresh process)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.marks import postgresql_only

ROOT = Path(__file__).resolve().parents[2]


ISOLATED = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_URL",
    "SECURE_SSL_REDIRECT",
    "DB_JIT",
}


def run_check(extra_env, *args):
    return run_manage(extra_env, "check", *args)


def run_manage(extra_env, *args):
    env = {key: value for key, value in os.environ.items() if key not in ISOLATED}
    env.update(extra_env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"DEBUG": "1", "Q_TIMEOUT": "ten"}, "Q_TIMEOUT has an invalid value"),
        ({"DEBUG": "1", "Q_TIMEOUT": "1500", "Q_RETRY": "1200"}, "must be lower than Q_RETRY"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must point at"),
        ({"DEBUG": "1", "REDIS_URL": "localhost:6379"}, "REDIS_URL must be a redis:// URL"),
        ({"DEBUG": "1", "CSRF_TRUSTED_ORIGINS": "example.com"}, "CSRF_TRUSTED_ORIGINS"),
        ({"DEBUG": "1", "Q_BROKER": "bogus"}, "Q_BROKER must be one of orm, redis, sqs"),
        ({"DEBUG": "1", "Q_BROKER": "redis"}, "Q_BROKER=redis needs REDIS_URL"),
        (
            {"DEBUG": "1", "Q_BROKER": "sqs", "Q_SQS_QUEUE": "jobs.fifo"},
            "Q_SQS_QUEUE must be a standard SQS queue name",
        ),
        (
            {"DEBUG": "1", "Q_BROKER": "sqs", "Q_RETRY": "50000"},
            "Q_RETRY (50000) is the SQS visibility timeout",
        ),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "1", "GRAFANA_URL": "grafana.internal"}, "GRAFANA_URL must be an http(s) URL"),
        ({"DEBUG": "1", "METRICS_TOKEN": "UNSET"}, "METRICS_TOKEN must be at least 16"),
        ({"DEBUG": "1", "LOG_FORMAT": "xml"}, "LOG_FORMAT must be json or plain"),
        ({"DEBUG": "1", "COST_RETENTION_MONTHS": "a year"}, "COST_RETENTION_MONTHS has an invalid"),
        ({"DEBUG": "1", "COST_RETENTION_MONTHS": "-1"}, "COST_RETENTION_MONTHS must be 0"),
        ({"DEBUG": "1", "COST_RETENTION_MONTHS": "2"}, "between CE_BACKFILL_MONTHS (3) and 1200"),
        ({"DEBUG": "1", "COST_RETENTION_MONTHS": "99999"}, "COST_RETENTION_MONTHS must be 0"),
        ({"DEBUG": "1", "COST_PARTITIONS_AHEAD_MONTHS": "0"}, "COST_PARTITIONS_AHEAD_MONTHS must"),
    ],
)
def test_misconfiguration_stops_start_naming_the_variable(env, message):
    result = run_check(env)

    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_pass_check_deploy():
    result = run_check(
        {
            "DEBUG": "0",
            "SECRET_KEY": "x" * 20 + "-production-like-secret-key-for-the-check",
            "ALLOWED_HOSTS": "spendlens.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://spendlens.example.com",
        },
        "--deploy",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_postgres_url_selects_psycopg3(settings):
    import environ

    config = environ.Env.db_url_config("postgres://u:p@db.internal:5432/spendlens")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    import psycopg

    assert psycopg.__version__.startswith("3.")


def test_broker_defaults_to_the_database_then_redis():
    from config.broker import q_cluster

    orm = q_cluster({})
    redis = q_cluster({"REDIS_URL": "redis://cache.internal:6379/0"})
    explicit_orm = q_cluster({"REDIS_URL": "redis://cache.internal:6379/0", "Q_BROKER": "orm"})

    assert (orm["name"], orm["orm"], "redis" in orm, "sqs" in orm) == (
        "spendlens",
        "default",
        False,
        False,
    )
    assert (redis["redis"], "orm" in redis) == ("redis://cache.internal:6379/0", False)
    assert (explicit_orm["orm"], "redis" in explicit_orm) == ("default", False)


def database_options(extra_env):
    script = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = run_manage({"DEBUG": "1", **extra_env}, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # after the shell's auto-import line


def test_postgres_jit_is_off_unless_asked_and_url_options_are_kept():
    url = "postgres://u@db.internal:5432/spendlens?options=-c%20statement_timeout%3D5000"

    assert database_options({"DATABASE_URL": url}) == (
        "{'options': '-c statement_timeout=5000 -c jit=off'}"
    )
    assert database_options({"DATABASE_URL": url, "DB_JIT": "1"}) == (
        "{'options': '-c statement_timeout=5000'}"
    )
    assert "jit" not in database_options({"DATABASE_URL": "sqlite:///spendlens-test.sqlite3"})


@postgresql_only("JIT")
@pytest.mark.django_db
def test_postgres_connections_run_without_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
