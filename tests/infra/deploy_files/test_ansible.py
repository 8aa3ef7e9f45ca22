"""The Ansible playbook and roles: each service from its templated compose file, data in
named volumes, the Grafana password never a plaintext default."""

import json

import pytest
import yaml

from tests.infra.deploy_files.files import ANSIBLE, ROLES, load_yaml, render_role_template

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
