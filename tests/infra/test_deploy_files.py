"""The deployment files say what they must: parsed and asserted, no Docker or AWS needed.

Dockerfile, .dockerignore, docker-compose.yml, the Ansible monitoring roles (Prometheus config,
alert rules, Grafana provisioning and dashboard) and the GitHub Actions workflows. The linters
(hadolint, ansible-lint, the JSON schemas, promtool) run in scripts/check_deploy_files.sh; these
tests pin the decisions the linters cannot see: who the container runs as, what it probes,
what runs before what, which metrics the dashboard shows.
"""

import fnmatch
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
ROLES = ANSIBLE / "roles"
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


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


# --- Dockerfile ---------------------------------------------------------------------------------


def parse_dockerfile(path: Path) -> list[dict]:
    """Instructions as {"cmd", "args", "stage"}; continuations joined, comments dropped."""
    instructions, current, stage = [], "", -1
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        cmd, _, args = current.partition(" ")
        cmd = cmd.upper()
        if cmd == "FROM":
            stage += 1
        instructions.append({"cmd": cmd, "args": args.strip(), "stage": stage})
        current = ""
    return instructions


@pytest.fixture(scope="module")
def dockerfile():
    return parse_dockerfile(ROOT / "Dockerfile")


def final_stage(instructions):
    last = max(i["stage"] for i in instructions)
    return [i for i in instructions if i["stage"] == last]


def test_dockerfile_is_multi_stage_on_pinned_slim_python(dockerfile):
    froms = [i["args"] for i in dockerfile if i["cmd"] == "FROM"]
    assert len(froms) >= 2, "build and runtime stages"
    for image in froms:
        # The Debian release is pinned by name: a rebuild never jumps to a new Debian.
        assert re.match(r"python:3\.11(\.\d+)?-slim-(bookworm|trixie)(@sha256:\w+)?\b", image)
    runtime_copies = [i["args"] for i in final_stage(dockerfile) if i["cmd"] == "COPY"]
    assert any("--from=build" in args for args in runtime_copies)


def test_runtime_runs_as_a_non_root_user_before_its_command(dockerfile):
    stage = final_stage(dockerfile)
    cmds = [i["cmd"] for i in stage]
    users = [n for n, i in enumerate(stage) if i["cmd"] == "USER"]
    assert users, "the runtime stage must switch user"
    user = stage[users[-1]]["args"].split(":")[0]
    assert user not in ("root", "0")
    assert users[-1] < cmds.index("CMD")
    assert users[-1] < cmds.index("ENTRYPOINT")


def test_healthcheck_probes_health_on_port_8000(dockerfile):
    checks = [i["args"] for i in final_stage(dockerfile) if i["cmd"] == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "127.0.0.1:8000/health" in checks[0]
    assert "--timeout=" in checks[0]


def test_command_is_exec_form_gunicorn(dockerfile):
    cmd = [i["args"] for i in final_stage(dockerfile) if i["cmd"] == "CMD"][-1]
    argv = json.loads(cmd)  # exec form is a JSON array; shell form would not parse
    assert argv[0] == "gunicorn"
    assert argv[-1] == "config.wsgi"
    assert argv[argv.index("-c") + 1] == "config/gunicorn.py"


def test_entrypoint_prepares_metrics_dir_and_execs_the_command(dockerfile):
    entrypoint = json.loads([i["args"] for i in dockerfile if i["cmd"] == "ENTRYPOINT"][-1])
    assert entrypoint == ["/usr/local/bin/docker-entrypoint.sh"]
    copied = [i["args"] for i in dockerfile if i["cmd"] == "COPY" and entrypoint[0] in i["args"]]
    assert copied and "--chmod=0755" in copied[0]
    source = shlex.split(copied[0])[-2]
    script = (ROOT / source).read_text().strip().splitlines()
    assert script[0] == "#!/bin/sh"
    assert "set -eu" in script
    assert script[-1] == 'exec "$@"', "the command must replace the shell (PID 1, signals)"
    assert any('find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete' in line for line in script)


def test_prometheus_multiproc_dir_exists_and_belongs_to_the_app_user(dockerfile):
    stage = final_stage(dockerfile)
    env = " ".join(i["args"] for i in stage if i["cmd"] == "ENV")
    match = re.search(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", env)
    assert match
    directory = match.group(1)
    assert not directory.startswith("/app"), "the code tree is read-only for the app user"
    runs = " ".join(i["args"] for i in stage if i["cmd"] == "RUN")
    assert re.search(rf"install -d -o spendlens -g spendlens -m 07\d0 {re.escape(directory)}", runs)
    assert "useradd --system --uid 10001" in runs
    user = [i["args"] for i in stage if i["cmd"] == "USER"][-1]
    assert user == "10001:10001"


def test_static_files_collected_at_build_and_pip_keeps_no_cache(dockerfile):
    build_runs = [i["args"] for i in dockerfile if i["cmd"] == "RUN" and i["stage"] == 0]
    assert any("manage.py collectstatic --noinput" in run for run in build_runs)
    pip_installs = [run for run in build_runs if "pip install" in run]
    assert pip_installs
    assert all("--no-cache-dir" in run for run in pip_installs)


def test_apt_packages_are_pinned_if_any(dockerfile):
    for run in (i["args"] for i in dockerfile if i["cmd"] == "RUN"):
        if "apt-get install" not in run:
            continue
        words = run.split("apt-get install", 1)[1].split("&&")[0].split()
        packages = [w for w in words if not w.startswith("-")]
        assert packages and all("=" in p for p in packages), f"unpinned apt packages: {run}"


def test_image_documents_the_worker_and_migrate_commands():
    text = (ROOT / "Dockerfile").read_text()
    assert "python manage.py qcluster" in text
    assert "python manage.py migrate --noinput" in text


# --- .dockerignore ------------------------------------------------------------------------------


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rules, closely enough: last matching pattern wins, `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if pattern.startswith("**/"):
            pattern = pattern[3:]
            candidates = [
                "/".join(parts[i : n + 1]) for n in range(len(parts)) for i in range(n + 1)
            ]
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            ignored = not negate
    return ignored


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        ".venv-infra/bin/hadolint",
        ".env",
        "tests/conftest.py",
        ".pytest_cache/v",
        ".artifacts/screenshots/a.png",
        "bench/out/result.json",
        "terraform/environments/prod/terraform.tfstate",
        "terraform/environments/prod/.terraform/providers",
        "ansible/playbook.yml",
        "db.sqlite3",
        "staticfiles/admin/css/base.css",
        "costs/__pycache__/models.cpython-311.pyc",
        "docker-compose.yml",
    ],
)
def test_dockerignore_keeps_local_state_and_secrets_out(path):
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert dockerignored(path, patterns)


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "requirements.txt",
        "config/settings.py",
        "config/gunicorn.py",
        "costs/data/aws_prices.json",
        "static/js/cost-chart.js",
        "templates/base.html",
        "deploy/docker-entrypoint.sh",
    ],
)
def test_dockerignore_keeps_what_the_image_needs(path):
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not dockerignored(path, patterns)


def test_source_maps_named_by_static_files_exist():
    # CompressedManifestStaticFilesStorage rewrites sourceMappingURL references and aborts
    # collectstatic on a missing target, which would break `docker build`.
    missing = []
    for path in (ROOT / "static").rglob("*.js"):
        for name in re.findall(r"sourceMappingURL=(\S+)", path.read_text(errors="replace")):
            if not name.startswith("data:") and not (path.parent / name).exists():
                missing.append(f"{path.relative_to(ROOT)} -> {name}")
    assert missing == []


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


# --- Prometheus ---------------------------------------------------------------------------------


def render_role_template(role: str, template: str, **overrides) -> str:
    """Render an Ansible template with the role's defaults (Jinja2 plus Ansible's to_json)."""
    jinja2 = pytest.importorskip("jinja2")
    defaults = load_yaml(ROLES / "docker_host" / "defaults" / "main.yml")
    defaults |= load_yaml(ROLES / role / "defaults" / "main.yml")
    defaults |= {"ansible_managed": "Ansible managed"} | overrides
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / role / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["to_json"] = json.dumps
    return environment.get_template(template).render(**defaults)


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


# --- Ansible ------------------------------------------------------------------------------------


def role_tasks(role: str) -> list[dict]:
    tasks = load_yaml(ROLES / role / "tasks" / "main.yml")
    handlers = ROLES / role / "handlers" / "main.yml"
    return tasks + (load_yaml(handlers) if handlers.exists() else [])


def test_playbook_deploys_the_four_roles():
    plays = load_yaml(ANSIBLE / "playbook.yml")
    assert [r["role"] for r in plays[0]["roles"]] == [
        "docker_host",
        "node_exporter",
        "prometheus",
        "grafana",
    ]
    assert plays[0]["hosts"] == "monitoring"


@pytest.mark.parametrize("role", ["node_exporter", "prometheus", "grafana"])
def test_each_service_starts_from_its_templated_compose_file(role):
    tasks = role_tasks(role)
    compose_ups = [t for t in tasks if "community.docker.docker_compose_v2" in t]
    assert any(t["community.docker.docker_compose_v2"]["state"] == "present" for t in compose_ups)
    templates = [t["ansible.builtin.template"] for t in tasks if "ansible.builtin.template" in t]
    assert any(t["src"] == "compose.yml.j2" for t in templates)
    rendered = yaml.safe_load(render_role_template(role, "compose.yml.j2"))
    assert rendered["services"]


@pytest.mark.parametrize("role", ["prometheus", "grafana"])
def test_data_lives_in_a_named_volume(role):
    rendered = yaml.safe_load(render_role_template(role, "compose.yml.j2"))
    service = next(iter(rendered["services"].values()))
    named = [v.split(":")[0] for v in service["volumes"] if not v.startswith(("./", "/"))]
    assert named and set(named) <= set(rendered["volumes"])


def test_grafana_admin_password_is_never_a_plaintext_default():
    defaults = load_yaml(ROLES / "grafana" / "defaults" / "main.yml")
    assert defaults["grafana_admin_password"] == ""
    group_vars = load_yaml(ANSIBLE / "group_vars" / "monitoring" / "main.yml")
    source = group_vars["grafana_admin_password"]
    assert "vault_grafana_admin_password" in source
    assert "lookup('ansible.builtin.env', 'GRAFANA_ADMIN_PASSWORD')" in source
    tasks = role_tasks("grafana")
    assert any(
        "grafana_admin_password | length >= 12" in str(t.get("ansible.builtin.assert"))
        for t in tasks
    )
    # Every task that handles the password hides its output.
    for task in tasks:
        if "grafana_admin_password" in json.dumps(task) and "ansible.builtin.assert" not in task:
            assert task.get("no_log") is True, task["name"]
    rendered = render_role_template("grafana", "compose.yml.j2", grafana_admin_password="x" * 16)
    assert "x" * 16 not in rendered, "the password goes in a secret file, not compose.yml"
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in rendered


def test_ansible_requirements_and_lint_config_stay_offline():
    requirements = load_yaml(ANSIBLE / "requirements.yml")
    assert "community.docker" in [c["name"] for c in requirements["collections"]]
    lint = load_yaml(ANSIBLE / ".ansible-lint")
    assert lint["offline"] is True
    assert lint["profile"] == "production"


# --- GitHub Actions -----------------------------------------------------------------------------


def load_workflow(name: str) -> dict:
    workflow = load_yaml(ROOT / ".github" / "workflows" / name)
    # YAML 1.1 reads the bare key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def all_strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from all_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_strings(value)
    elif node is not None:
        yield str(node)


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_workflows_are_least_privilege_and_pinned(name):
    workflow = load_workflow(name)
    assert workflow["permissions"] == {"contents": "read"}
    assert "concurrency" in workflow
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                ref = step["uses"].rsplit("@", 1)[1]
                assert re.fullmatch(r"v\d+|[0-9a-f]{40}", ref), step["uses"]


def test_ci_runs_every_check():
    workflow = load_workflow("ci.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(workflow["on"])
    text = " ".join(all_strings(workflow))
    for needle in (
        "make lint",
        "make test",
        "scripts/check_deploy_files.sh",
        "checkov --directory terraform",
        "terraform fmt -check",
        "docker build",
    ):
        assert needle in text, needle
    test_job = workflow["jobs"]["test"]
    assert test_job["services"]["postgres"]["image"] == "postgres:16"
    assert test_job["env"]["SPENDLENS_REQUIRE_BROWSER"] == "1"
    urls = [entry["database_url"] for entry in test_job["strategy"]["matrix"]["include"]]
    assert any(url.startswith("postgres://") for url in urls)


@pytest.fixture(scope="module")
def deploy():
    return load_workflow("deploy.yml")


def test_deploy_runs_after_ci_on_main(deploy):
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in deploy["on"]
    assert deploy["jobs"]["ci"]["uses"] == "./.github/workflows/ci.yml"
    assert deploy["jobs"]["deploy"]["needs"] == "ci"
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_deploy_uses_oidc_and_no_long_lived_keys(deploy):
    job = deploy["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert job["permissions"]["id-token"] == "write"
    credentials = next(
        s
        for s in job["steps"]
        if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
    )
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    text = " ".join(all_strings(deploy))
    for forbidden in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-access-key-id"):
        assert forbidden not in text


def test_deploy_tags_the_image_with_the_commit(deploy):
    steps = deploy["jobs"]["deploy"]["steps"]
    build = next(s for s in steps if s.get("id") == "image")
    assert 'image="$REGISTRY/$ECR_REPOSITORY:$GITHUB_SHA"' in build["run"]
    assert "docker push" in build["run"]


def test_deploy_migrates_before_updating_services(deploy):
    steps = deploy["jobs"]["deploy"]["steps"]
    migrate = next(n for n, s in enumerate(steps) if "aws ecs run-task" in s.get("run", ""))
    run = steps[migrate]["run"]
    assert "aws ecs wait tasks-stopped" in run
    assert "exitCode" in run and '[ "$exit_code" != 0 ]' in run
    service_updates = [
        n
        for n, s in enumerate(steps)
        if s.get("uses", "").startswith("aws-actions/amazon-ecs-deploy-task-definition")
        and "service" in s["with"]
    ]
    assert {steps[n]["with"]["service"] for n in service_updates} == {
        "${{ env.ECS_WEB_SERVICE }}",
        "${{ env.ECS_WORKER_SERVICE }}",
    }
    assert all(n > migrate for n in service_updates)
    assert all(steps[n]["with"]["wait-for-service-stability"] is True for n in service_updates)


def test_deploy_then_runs_the_monitoring_playbook(deploy):
    job = deploy["jobs"]["monitoring"]
    assert job["needs"] == "deploy"
    run = " ".join(s.get("run", "") for s in job["steps"])
    assert "ansible-playbook" in run and "playbook.yml" in run
    env = next(s["env"] for s in job["steps"] if "ansible-playbook" in s.get("run", ""))
    assert env["GRAFANA_ADMIN_PASSWORD"] == "${{ secrets.GRAFANA_ADMIN_PASSWORD }}"
