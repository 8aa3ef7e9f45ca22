"""No IAM statement is wider than it must be; each role trusts and may do only what it
needs (customer roles demand the ExternalId)."""

import re

from tests.infra.terraform.checkers import iam_documents, iam_problems, listed
from tests.infra.terraform.hcl import modules, validation_conditions


def test_no_iam_statement_is_wider_than_it_must_be():
    documents = 0
    for name, module in modules().items():
        assert iam_problems(module) == [], name
        documents += len(iam_documents(module))
    assert documents >= 10  # the checker saw the policies


def test_task_role_assumes_customer_roles_and_sends_from_one_address_only():
    iam = modules()["iam"]
    statements = {s["sid"]: s for s in iam_documents(iam)["task"]}
    assume = statements["AssumeCustomerRoles"]
    assert assume["actions"] == ["sts:AssumeRole"]
    assert assume["resources"] == "${local.customer_role_patterns}"
    # Each allowed name, bare or under an IAM path; never role/* as a whole.
    patterns = iam.locals["customer_role_patterns"]
    assert "arn:${local.partition}:iam::*:role/${name}" in patterns
    assert "arn:${local.partition}:iam::*:role/*/${name}" in patterns
    assert iam.default("customer_role_names") == ["SpendlensAccess"]
    assert modules()["customer-role"].default("role_name") == "SpendlensAccess"
    ses = statements["SendAlertEmailFromTheVerifiedIdentity"]
    assert sorted(ses["actions"]) == ["ses:SendEmail", "ses:SendRawEmail"]
    assert ses["resources"] == "${concat([var.ses_identity_arn], var.ses_extra_resource_arns)}"
    (condition,) = ses["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "ses:FromAddress")
    assert condition["values"] == ["${var.ses_from_address}"]
    # Customers' data only through their roles: no direct reads of CloudWatch, EC2 or Cost Explorer.
    actions = {a for s in iam_documents(iam)["task"] for a in listed(s.get("actions"))}
    assert not {a for a in actions if a.split(":")[0] in ("ec2", "cloudwatch", "ce", "logs")}


def test_task_role_reads_the_public_price_list_and_nothing_else_of_pricing():
    statements = {s["sid"]: s for s in iam_documents(modules()["iam"])["task"]}
    prices = statements["ReadPublicPrices"]
    assert prices["actions"] == ["pricing:GetProducts"]
    assert prices["resources"] == ["*"]


def test_execution_role_reads_only_this_deployments_secrets():
    iam = modules()["iam"]
    statements = {s["sid"]: s for s in iam_documents(iam)["execution"]}
    assert statements["ReadThisDeploymentsParameters"]["resources"] == ["${local.ssm_arn_prefix}"]
    assert iam.locals["ssm_arn_prefix"].endswith(":parameter${var.parameter_prefix}/*")
    assert statements["PullThisRepository"]["resources"] == ["${var.ecr_repository_arn}"]
    decrypt = statements["DecryptTheSecrets"]
    assert decrypt["resources"] == ["${var.kms_key_arn}"]
    assert decrypt["condition"][0]["variable"] == "kms:ViaService"


def test_customer_role_trust_requires_the_external_id():
    role = modules()["customer-role"]
    trust_document = re.fullmatch(
        r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}",
        role.of_type("aws_iam_role")["spendlens"]["assume_role_policy"],
    )[1]
    (statement,) = iam_documents(role)[trust_document]
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"][0]["identifiers"] == ["${var.platform_principal_arn}"]
    conditions = {c["variable"]: c for c in statement["condition"]}
    assert conditions["sts:ExternalId"]["test"] == "StringEquals"
    assert conditions["sts:ExternalId"]["values"] == ["${var.external_id}"]
    assert "length(var.external_id) >= 32" in validation_conditions(role, "external_id")


def test_application_roles_trust_only_this_accounts_ecs_tasks():
    (statement,) = iam_documents(modules()["iam"])["ecs_tasks_assume"]
    assert statement["principals"][0]["identifiers"] == ["ecs-tasks.amazonaws.com"]
    assert "aws:SourceAccount" in {c["variable"] for c in statement["condition"]}


def test_deploy_role_trusts_one_repository_environment():
    deploy = modules()["github-deploy"]
    (statement,) = iam_documents(deploy)["trust"]
    conditions = {c["variable"]: c for c in statement["condition"]}
    sub = conditions["${local.oidc_host}:sub"]
    assert sub["test"] == "StringEquals"
    assert sub["values"] == ["repo:${var.github_repository}:environment:${var.github_environment}"]
    assert conditions["${local.oidc_host}:aud"]["values"] == ["sts.amazonaws.com"]
    run_task = {s["sid"]: s for s in iam_documents(deploy)["deploy"]}[
        "RunTheMigrateTaskInTheCluster"
    ]
    assert run_task["resources"] == [
        "${local.ecs_arn}:task-definition/${var.migrate_task_family}:*"
    ]
