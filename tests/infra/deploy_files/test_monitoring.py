"""Monitoring in both stacks: what Prometheus scrapes and alerts on, and the Grafana
dashboard and datasource."""

import json
import re

import pytest
import yaml

from tests.infra.deploy_files.files import ROLES, ROOT, load_yaml, render_role_template

DASHBOARD = ROLES / "grafana" / "files" / "dashboards" / "spendlens.json"
DATASOURCE_UID = "spendlens-prometheus"

# The business metrics the app exposes (config: django-prometheus plus Spendlens' own).
BUSINESS_METRICS = [
    "spendlens_sync_duration_seconds",
    "spendlens_sync_failures_total",
    "spendlens_cost_explorer_requests_total",
    "spendlens_month_to_date_cost_usd",
    "spendlens_open_recommendations",
    "spendlens_open_recommendations_savings_usd",
    "spendlens_alerts_total",
    "spendlens_instance_actions_total",
]
HTTP_LATENCY = "django_http_requests_latency_seconds_by_view_method_bucket"
HTTP_REQUESTS = "django_http_requests_total_by_view_transport_method_total"
HTTP_RESPONSES = "django_http_responses_total_by_status_total"


# --- Prometheus ---------------------------------------------------------------------------------


def jobs_by_name(config) -> dict:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_compose_prometheus_scrapes_the_web_service_metrics():
    jobs = jobs_by_name(load_yaml(ROOT / "deploy" / "prometheus.yml"))
    app = jobs["spendlens"]
    assert app.get("metrics_path", "/metrics") == "/metrics"
    assert app["static_configs"][0]["targets"] == ["web:8000"]


def test_ansible_prometheus_scrapes_the_inventory_targets_and_node_exporter():
    config = yaml.safe_load(
        render_role_template(
            "prometheus",
            "prometheus.yml.j2",
            prometheus_spendlens_targets=["spendlens.example.com:443"],
        )
    )
    jobs = jobs_by_name(config)
    app = jobs["spendlens"]
    assert app["metrics_path"] == "/metrics"
    assert app["scheme"] == "https"
    assert app["static_configs"][0]["targets"] == ["spendlens.example.com:443"]
    assert "authorization" not in app, "no token configured, no header"
    assert "spendlens-tasks" not in jobs
    assert jobs["node"]["static_configs"][0]["targets"] == ["127.0.0.1:9100"]
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_ansible_prometheus_token_and_service_discovery_options():
    config = yaml.safe_load(
        render_role_template(
            "prometheus",
            "prometheus.yml.j2",
            prometheus_spendlens_targets=[],
            prometheus_spendlens_dns_sd_names=["web.spendlens.local"],
            prometheus_spendlens_bearer_token="secret-token",
        )
    )
    jobs = jobs_by_name(config)
    assert "spendlens" not in jobs
    tasks = jobs["spendlens-tasks"]
    assert tasks["dns_sd_configs"][0] == {
        "names": ["web.spendlens.local"],
        "type": "A",
        "port": 8000,
    }
    # The token is read from a file, never written into the configuration.
    assert tasks["authorization"]["credentials_file"] == "/etc/prometheus/secrets/spendlens-token"
    assert "secret-token" not in json.dumps(config)


def test_alert_rules_cover_the_app_and_its_pipeline():
    groups = load_yaml(ROLES / "prometheus" / "files" / "spendlens-rules.yml")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert all({"alert", "expr", "labels", "annotations"} <= set(rule) for rule in rules)
    exprs = " ".join(rule["expr"] for rule in rules)
    for metric in ("up{", "spendlens_sync_failures_total", HTTP_RESPONSES, HTTP_LATENCY):
        assert metric in exprs


# --- Grafana ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(DASHBOARD.read_text())


def dashboard_exprs(dashboard) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_dashboard_is_provisionable(dashboard):
    assert dashboard["uid"] == "spendlens-overview"
    assert dashboard["id"] is None, "provisioned dashboards carry no database id"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == DATASOURCE_UID
            assert panel["targets"]


@pytest.mark.parametrize("metric", [*BUSINESS_METRICS, HTTP_LATENCY, HTTP_REQUESTS, HTTP_RESPONSES])
def test_dashboard_shows_metric(dashboard, metric):
    assert any(
        re.search(rf"\b{metric}(_bucket|_sum|_count)?\b", e) for e in dashboard_exprs(dashboard)
    )


def test_dashboard_has_cost_per_account_and_latency_p95(dashboard):
    exprs = dashboard_exprs(dashboard)
    assert any(
        "spendlens_month_to_date_cost_usd" in e and re.search(r"by \([^)]*\baccount\b", e)
        for e in exprs
    )
    assert any(e.startswith("histogram_quantile(0.95") and HTTP_LATENCY in e for e in exprs)


def test_both_stacks_provision_the_datasource_the_dashboard_uses():
    compose_side = load_yaml(ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml")
    assert compose_side["datasources"][0]["uid"] == DATASOURCE_UID
    ansible_side = yaml.safe_load(render_role_template("grafana", "datasource.yml.j2"))
    assert ansible_side["datasources"][0]["uid"] == DATASOURCE_UID
    assert ansible_side["datasources"][0]["url"] == "http://127.0.0.1:9090"
    # Both dashboard providers read the folder where the dashboard file is mounted/copied.
    provider = load_yaml(ROOT / "deploy/grafana/provisioning/dashboards/spendlens.yml")
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    role_provider = yaml.safe_load(render_role_template("grafana", "dashboards.yml.j2"))
    assert role_provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
