"""The ECS task definitions and services (secrets only as ECS `secrets`, read-only root,
private, rollback) and the ECR repository (immutable tags, scanned)."""

import re
import textwrap

from tests.infra.terraform.checkers import container_definitions, task_definition_problems
from tests.infra.terraform.hcl import modules, resolve_map, resolve_value, validation_conditions


def test_secrets_reach_containers_only_through_ecs_secrets():
    ecs = modules()["ecs"]
    definitions = ecs.of_type("aws_ecs_task_definition")
    assert set(definitions) == {"web", "worker", "migrate", "dbinit"}
    assert task_definition_problems(ecs) == []
    # The map of secret ARNs must carry ARNs, and the environment wires the SSM parameters in.
    assert "ssm|secretsmanager" in validation_conditions(ecs, "secret_arns")
    wiring = modules()["prod"].calls["ecs"]["secret_arns"]
    assert set(wiring) == {"SECRET_KEY", "DATABASE_URL", "METRICS_TOKEN"}
    for name, value in wiring.items():
        assert value == f'${{module.secrets.parameter_arns["{name}"]}}'
    # The operator's settings, plus the broker's (Q_BROKER, Q_SQS_QUEUE: not secrets).
    prod = modules()["prod"]
    assert prod.calls["ecs"]["extra_environment"] == (
        "${merge(var.extra_environment, local.queue_environment)}"
    )
    assert "Q_BROKER = var.queue_broker" in prod.locals["queue_environment"]
    assert "Q_SQS_QUEUE = module.queue[0].name" in prod.locals["queue_environment"]


def test_containers_run_the_right_commands_read_only():
    ecs = modules()["ecs"]
    definitions = ecs.of_type("aws_ecs_task_definition")
    containers = {n: container_definitions(b, ecs)[0] for n, b in definitions.items()}
    assert "command" not in containers["web"]  # gunicorn: the image's CMD
    assert containers["web"]["portMappings"][0]["containerPort"] == "${var.container_port}"
    assert ecs.default("container_port") == 8000
    assert containers["worker"]["command"] == ["python", "manage.py", "qcluster"]
    assert containers["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name, container in containers.items():
        assert resolve_value(container["readonlyRootFilesystem"], ecs) is True, name
        assert container["privileged"] is False
        assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
        assert {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False} in container[
            "mountPoints"
        ]
        assert container["logConfiguration"]["logDriver"] == "awslogs"
    for name, body in definitions.items():
        assert body["volume"] == [{"name": "tmp"}], name
        assert body["requires_compatibilities"] == ["FARGATE"]
        assert body["network_mode"] == "awsvpc"
    # The non-secret settings the product reads in production.
    environment, variables = resolve_map(ecs.locals["environment"], ecs)
    assert variables == ["extra_environment"]
    assert environment["EMAIL_BACKEND"] == "anymail.backends.amazon_ses.EmailBackend"
    assert {
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DEFAULT_FROM_EMAIL",
        "PLATFORM_ROLE_ARN",
        "SITE_URL",
        "AWS_DEFAULT_REGION",
    } <= set(environment)
    assert environment["PLATFORM_ROLE_ARN"] == "${var.task_role_arn}"


def test_dbinit_script_is_valid_python():
    raw = modules()["ecs"].locals["dbinit_script"]
    m = re.fullmatch(r"<<-(\w+)\n(.*)\n\s*\1\s*", raw, re.S)
    assert m, raw[:40]
    compile(textwrap.dedent(m[2]), "dbinit", "exec")


def test_services_are_private_with_rollback_and_autoscaling():
    ecs = modules()["ecs"]
    services = ecs.of_type("aws_ecs_service")
    for name, service in services.items():
        (network,) = service["network_configuration"]
        assert network["assign_public_ip"] is False, name
        assert network["subnets"] == "${var.private_subnet_ids}"
        (breaker,) = service["deployment_circuit_breaker"]
        assert breaker == {"enable": True, "rollback": True}, name
        assert service["launch_type"] == "FARGATE"
    assert (
        modules()["prod"].calls["ecs"]["private_subnet_ids"]
        == "${module.network.private_subnet_ids}"
    )
    web = services["web"]
    assert web["load_balancer"][0]["container_port"] == "${var.container_port}"
    policies = ecs.of_type("aws_appautoscaling_policy")
    metrics = {
        p["target_tracking_scaling_policy_configuration"][0]["predefined_metric_specification"][0][
            "predefined_metric_type"
        ]
        for name, p in policies.items()
        if name.startswith("web_")
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    # The worker's policy (queue depth): tests/infra/terraform/test_queue.py.
    assert set(policies) == {"web_cpu", "web_requests", "worker_backlog"}
    (cluster,) = ecs.of_type("aws_ecs_cluster").values()
    assert {"name": "containerInsights", "value": "enabled"} in cluster["setting"]


def test_ecr_tags_are_immutable_and_scanned():
    ecr = modules()["ecr"]
    (repository,) = ecr.of_type("aws_ecr_repository").values()
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == [{"scan_on_push": True}]
    assert repository["encryption_configuration"][0]["encryption_type"] == "KMS"
    assert ecr.of_type("aws_ecr_lifecycle_policy")
