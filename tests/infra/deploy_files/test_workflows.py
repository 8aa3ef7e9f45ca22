"""The GitHub Actions workflows: least privilege, pinned actions, CI runs every check, the
deploy order."""

import re

import pytest

from tests.infra.deploy_files.files import ROOT, load_yaml

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
