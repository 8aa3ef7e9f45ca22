"""docker-compose.yml: the full stack, one image, start order, volumes, settings, no
plaintext secrets, loopback-only ports."""

import pytest

from tests.infra.deploy_files.files import ROLES, ROOT, load_yaml

# --- docker-compose.yml -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return load_yaml(ROOT / "docker-compose.yml")


def test_compose_has_the_full_stack(compose):
    assert {"web", "worker", "migrate", "db", "prometheus", "grafana"} <= set(compose["services"])


def test_compose_app_services_share_one_image_and_differ_by_command(compose):
    services = compose["services"]
    images = {services[name]["image"] for name in ("web", "worker", "migrate")}
    assert len(images) == 1
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"] == ["python", "manage.py", "qcluster"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    # The worker has no HTTP server: the image's /health check must not mark it unhealthy.
    assert services["worker"]["healthcheck"] == {"disable": True}


@pytest.mark.parametrize("service", ["web", "worker"])
def test_compose_app_waits_for_migrations_and_a_healthy_database(compose, service):
    depends = compose["services"][service]["depends_on"]
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert depends["db"] == {"condition": "service_healthy"}


def test_compose_migrate_waits_for_a_healthy_database(compose):
    assert compose["services"]["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}


def mount_source(service: dict, target: str) -> str:
    """The source mounted at TARGET (short syntax source:target[:mode])."""
    return next(v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == target)


def test_compose_database_is_postgres_16_with_healthcheck_and_named_volume(compose):
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = mount_source(db, "/var/lib/postgresql/data")
    assert volume in compose["volumes"], "a named volume, not a bind mount"


@pytest.mark.parametrize(
    ("service", "target"), [("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana")]
)
def test_compose_monitoring_keeps_data_in_named_volumes(compose, service, target):
    assert mount_source(compose["services"][service], target) in compose["volumes"]


def test_compose_app_settings_point_at_the_stack(compose):
    env = compose["services"]["web"]["environment"]
    assert "@db:5432/" in env["DATABASE_URL"]
    assert env["DEBUG"] == "0"
    assert "web" in env["ALLOWED_HOSTS"].split(","), "Prometheus scrapes web:8000 by that name"
    # Prometheus sends no token locally, so /metrics must be open on this loopback-only stack.
    assert env["METRICS_PUBLIC"] == "1"
    assert compose["services"]["worker"]["environment"]["DATABASE_URL"] == env["DATABASE_URL"]


def test_compose_has_no_plaintext_secrets(compose):
    env = compose["services"]["web"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    grafana_env = compose["services"]["grafana"]["environment"]
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_compose_publishes_ports_on_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_compose_bind_mounts_exist_and_reuse_the_ansible_files(compose):
    sources = []
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                sources.append(source)
                assert (ROOT / source).exists(), source
    # One dashboard and one set of alert rules for both stacks.
    assert "./ansible/roles/grafana/files/dashboards" in sources
    assert "./ansible/roles/prometheus/files/spendlens-rules.yml" in sources
    assert "./deploy/prometheus.yml" in sources


@pytest.mark.parametrize("service", ["prometheus", "grafana"])
def test_compose_runs_the_image_versions_ansible_deploys(compose, service):
    defaults = load_yaml(ROLES / service / "defaults" / "main.yml")
    assert compose["services"][service]["image"] == defaults[f"{service}_image"]
