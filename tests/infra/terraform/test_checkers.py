"""The checkers find what they look for: each is fed a deliberately bad module."""

import pytest

from tests.infra.terraform.checkers import (
    iam_problems,
    ingress_problems,
    rds_problems,
    task_definition_problems,
)
from tests.infra.terraform.hcl import module_from, unwrap

# --- The checkers find what they look for ---------------------------------------------------


def test_task_definition_checker_catches_a_plaintext_secret(tmp_path):
    module = module_from(
        tmp_path,
        """
        locals {
          environment = { DEBUG = "0", DATABASE_URL = "postgres://u:p@h/db" }
        }
        resource "aws_ecs_task_definition" "web" {
          container_definitions = jsonencode([{
            name        = "web"
            environment = [for k, v in local.environment : { name = k, value = v }]
            secrets     = [{ name = "SECRET_KEY", valueFrom = "plain" }]
          }])
        }
        """,
    )
    problems = task_definition_problems(module)
    assert any("DATABASE_URL is a plain environment value" in p for p in problems)
    assert any("['DATABASE_URL'] not injected" in p for p in problems)
    assert any("literal valueFrom" in p for p in problems)


def test_task_definition_checker_catches_an_unvalidated_variable(tmp_path):
    module = module_from(
        tmp_path,
        """
        variable "env" {
          type = map(string)
        }
        resource "aws_ecs_task_definition" "web" {
          container_definitions = jsonencode([{
            name        = "web"
            environment = [for k, v in merge(var.env, { A = "b" }) : { name = k, value = v }]
            secrets = [
              { name = "SECRET_KEY", valueFrom = var.a },
              { name = "DATABASE_URL", valueFrom = var.b },
            ]
          }])
        }
        """,
    )
    assert task_definition_problems(module) == [
        "web/web: environment takes var.env, whose validation does not reject secret-looking names"
    ]


def test_iam_checker_catches_wildcards(tmp_path):
    module = module_from(
        tmp_path,
        """
        data "aws_iam_policy_document" "bad" {
          statement {
            actions   = ["s3:*"]
            resources = ["arn:aws:s3:::bucket/*"]
          }
          statement {
            actions   = ["ses:SendEmail", "ec2:Describe*"]
            resources = ["*"]
          }
          statement {
            actions   = ["iam:Pass*"]
            resources = ["arn:aws:iam::123456789012:role/x"]
          }
        }
        resource "aws_iam_role_policy" "inline" {
          role   = "r"
          policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
        }
        """,
    )
    problems = iam_problems(module)
    assert any("service-wide action s3:*" in p for p in problems)
    assert any('ses:SendEmail on Resource "*"' in p for p in problems)
    assert not any('ec2:Describe* on Resource "*"' in p for p in problems)
    assert any("iam:Pass* is not a read-only family" in p for p in problems)
    assert "aws_iam_role_policy.inline.policy is not a data.aws_iam_policy_document" in problems


def test_rds_and_ingress_checkers_catch_an_open_database(tmp_path):
    (tmp_path / "rds").mkdir()
    module = module_from(
        tmp_path / "rds",
        """
        resource "aws_db_instance" "db" {
          publicly_accessible = true
          storage_encrypted   = false
          password            = "hunter2"
        }
        resource "aws_vpc_security_group_ingress_rule" "pg" {
          from_port = 5432
          cidr_ipv4 = "0.0.0.0/0"
        }
        """,
    )
    problems = rds_problems(module)
    assert "db: publicly_accessible is True" in problems
    assert "db: storage_encrypted is False, not true" in problems
    assert "db: deletion_protection is None, not true" in problems
    assert any("sets password" in p for p in problems)
    assert ingress_problems(module) == ["rds.pg: ingress from 0.0.0.0/0 on 5432"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("${local.a}", "local.a"),
        ("${var.a}-${var.b}", None),
        ('${merge(local.a, {x = "}"})}', 'merge(local.a, {x = "}"})'),
        ("plain", None),
    ],
)
def test_unwrap(value, expected):
    assert unwrap(value) == expected
