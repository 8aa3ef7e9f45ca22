"""The database is private, encrypted and admits the tasks only; only the load balancer is
open to the internet, and it drops invalid headers and only redirects on HTTP."""

from tests.infra.terraform.checkers import ingress_problems, rds_problems
from tests.infra.terraform.hcl import MODULES, modules, resolve_value


def test_database_is_private_encrypted_and_protected():
    rds = modules()["rds"]
    assert rds.of_type("aws_db_instance"), "no DB instance found"
    assert rds_problems(rds) == []
    db = rds.of_type("aws_db_instance")["this"]
    assert db["engine"] == "postgres"
    assert resolve_value(db["engine_version"], rds) == "16"
    assert db["iam_database_authentication_enabled"] is True
    assert resolve_value(db["backup_retention_period"], rds) == 14
    assert resolve_value(db["multi_az"], rds) in (True, False)
    assert resolve_value(db["monitoring_interval"], rds) > 0
    assert db["enabled_cloudwatch_logs_exports"] == "${local.log_exports}"
    assert "postgresql" in rds.locals["log_exports"]
    # In the database's own subnet group, made of the subnets the environment gives it...
    assert db["db_subnet_group_name"] == "${aws_db_subnet_group.this.name}"
    assert rds.of_type("aws_db_subnet_group")["this"]["subnet_ids"] == "${var.subnet_ids}"
    # ...which are the private ones.
    prod_call = modules()["prod"].calls["rds"]
    assert prod_call["subnet_ids"] == "${module.network.private_subnet_ids}"
    network = modules()["network"]
    assert network.outputs["private_subnet_ids"]["value"] == "${aws_subnet.private[*].id}"
    private = network.of_type("aws_subnet")["private"]
    assert private["map_public_ip_on_launch"] is False
    routes = network.of_type("aws_route")["private_nat"]
    assert "nat_gateway_id" in routes and "gateway_id" not in routes


def test_database_admits_only_the_tasks_security_group():
    rds = modules()["rds"]
    rules = [
        r
        for r in rds.of_type("aws_vpc_security_group_ingress_rule").values()
        if r["security_group_id"] == "${aws_security_group.db.id}"
    ]
    assert len(rules) == 1
    rule = rules[0]
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (5432, 5432, "tcp")
    assert rule["referenced_security_group_id"] == "${var.client_security_group_id}"
    assert not {"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} & set(rule)
    assert (
        modules()["prod"].calls["rds"]["client_security_group_id"]
        == "${module.ecs.security_group_id}"
    )
    ecs = modules()["ecs"]
    assert ecs.outputs["security_group_id"]["value"] == "${aws_security_group.tasks.id}"
    assert "0.0.0.0/0" not in (MODULES / "rds" / "main.tf").read_text()


def test_only_the_load_balancer_is_open_to_the_internet():
    for name, module in modules().items():
        assert ingress_problems(module) == [], name
    # The tasks admit the ALB only.
    ecs = modules()["ecs"]
    (from_alb,) = ecs.of_type("aws_vpc_security_group_ingress_rule").values()
    assert from_alb["referenced_security_group_id"] == "${var.alb_security_group_id}"
    assert (
        modules()["prod"].calls["ecs"]["alb_security_group_id"] == "${module.alb.security_group_id}"
    )


def test_alb_drops_invalid_headers_and_redirects_http():
    alb = modules()["alb"]
    (lb,) = alb.of_type("aws_lb").values()
    assert lb["drop_invalid_header_fields"] is True
    assert lb["internal"] is False
    assert resolve_value(lb["enable_deletion_protection"], alb) is True
    assert lb["access_logs"][0]["enabled"] is True
    listeners = {body["port"]: body for body in alb.of_type("aws_lb_listener").values()}
    assert set(listeners) == {80, 443}
    (redirect,) = listeners[80]["default_action"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"][0]["protocol"] == "HTTPS"
    assert redirect["redirect"][0]["status_code"] == "HTTP_301"
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["certificate_arn"] == "${var.certificate_arn}"
    assert resolve_value(https["ssl_policy"], alb).startswith("ELBSecurityPolicy-TLS13-1-2")
    (group,) = alb.of_type("aws_lb_target_group").values()
    assert group["target_type"] == "ip"
    assert resolve_value(group["health_check"][0]["path"], alb) == "/health"
