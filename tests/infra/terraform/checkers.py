"""The checkers: each reads a parsed module and returns the problems it finds (task
definitions' secrets, IAM statements, RDS, ingress), with the exceptions they allow."""

import re

from tests.infra.terraform.hcl import (
    Module,
    Unresolvable,
    expression,
    for_collection,
    resolve_map,
    unwrap,
    validation_conditions,
)

SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|KEY", re.IGNORECASE)

# Allow statements whose Resource may be "*": the action has no resource-level permissions in
# IAM (AWS accepts only "*"), so scoping is impossible. Each one is read-only except where said.
READ_ONLY_STAR_ACTIONS = {
    # A registry login token; what can be pulled/pushed is scoped by the repository statements.
    "ecr:GetAuthorizationToken",
    # The customer role (in the customer's account): Spendlens' read calls.
    "ce:GetCostAndUsage",
    "ce:GetCostForecast",
    "ec2:Describe*",
    "cloudwatch:GetMetricData",
    "autoscaling:DescribeAutoScalingGroups",
    # ... and its commitments reads (Savings Plans, reservations, their coverage/utilization).
    "savingsplans:DescribeSavingsPlans",
    "ec2:DescribeReservedInstances",
    "rds:DescribeReservedDBInstances",
    "ce:GetSavingsPlansCoverage",
    "ce:GetSavingsPlansUtilization",
    "ce:GetReservationCoverage",
    "ce:GetReservationUtilization",
    "ce:GetSavingsPlansPurchaseRecommendation",
    # The task role reads the public AWS Price List (regional on-demand prices).
    "pricing:GetProducts",
    # ... and its waste-beyond-EC2 reads (snapshots, AMIs, NAT gateways, RDS, load balancers).
    "ec2:DescribeSnapshots",
    "ec2:DescribeImages",
    "ec2:DescribeNatGateways",
    "rds:DescribeDBInstances",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    # ... and, in a management account, the list of its AWS Organization's accounts.
    "organizations:ListAccounts",
    # The deploy role reads the latest revision it renders the new image into.
    "ecs:DescribeTaskDefinition",
}
# The one write action allowed on "*": ECS offers no resource-level permission for it. A
# revision can only carry the two roles iam:PassRole allows, and only runs through RunTask
# (migrate family, this cluster) and UpdateService (the two services), both scoped.
WRITE_STAR_ACTIONS = {"ecs:RegisterTaskDefinition"}
# Wildcard actions must be read-only families; key policies (below) are the exception.
READ_ONLY_WILDCARD = re.compile(r"^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*\*$")
DOCUMENT_REFERENCE = re.compile(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}")
# Resource types whose policy arguments are IAM policy documents.
POLICY_ATTRIBUTES = {
    "aws_iam_role": "assume_role_policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
    "aws_s3_bucket_policy": "policy",
    "aws_kms_key": "policy",
    "aws_secretsmanager_secret_policy": "policy",
    "aws_ecr_repository_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_sqs_queue_policy": "policy",
}
# AWS managed policies that may be attached, and why.
ALLOWED_MANAGED_POLICIES = {
    # Enhanced monitoring: writes the RDSOSMetrics log group only.
    "AmazonRDSEnhancedMonitoringRole",
}


# --- Checkers (each returns a list of problems) ---------------------------------------------


def container_definitions(body: dict, module: Module) -> list[dict]:
    inner = unwrap(body["container_definitions"])
    if not inner or not inner.startswith("jsonencode(") or not inner.endswith(")"):
        raise Unresolvable(f"container_definitions is not jsonencode(...): {inner!r}")
    containers = []
    for element in expression(inner[len("jsonencode(") : -1]):
        entries, variables = resolve_map(element, module)
        if variables:
            raise Unresolvable(f"container merges variables {variables}")
        containers.append(entries)
    return containers


def environment_names(value, module: Module, problems: list, where: str) -> set[str]:
    """Names an `environment` (or `secrets`) list defines; problems for what can't be read."""
    if isinstance(value, list):
        names = set()
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                problems.append(f"{where}: entry {entry!r} has no literal name")
                continue
            names.add(entry["name"])
        return names
    loop = for_collection(value)
    if loop is None:
        problems.append(f"{where}: cannot read {value!r}")
        return set()
    try:
        entries, variables = resolve_map("${" + loop[0] + "}", module)
    except Unresolvable as exc:
        problems.append(f"{where}: cannot follow {exc}")
        return set()
    names = set(entries)
    for variable in variables:
        condition = validation_conditions(module, variable)
        if loop[1] == "valueFrom":
            # A map of secret ARNs: its validation must demand the app's two secrets.
            for required in ("SECRET_KEY", "DATABASE_URL"):
                if required in condition:
                    names.add(required)
        elif not all(word in condition for word in ("SECRET", "PASSWORD", "TOKEN", "KEY")):
            problems.append(
                f"{where}: environment takes var.{variable}, whose validation does not "
                "reject secret-looking names"
            )
    return names


def task_definition_problems(module: Module) -> list[str]:
    problems = []
    for name, body in module.of_type("aws_ecs_task_definition").items():
        try:
            containers = container_definitions(body, module)
        except Unresolvable as exc:
            problems.append(f"{name}: {exc}")
            continue
        for container in containers:
            where = f"{name}/{container.get('name')}"
            env = environment_names(container.get("environment", []), module, problems, where)
            for variable in env:
                if SECRET_NAME.search(variable):
                    problems.append(f"{where}: {variable} is a plain environment value")
            secrets = environment_names(container.get("secrets", []), module, problems, where)
            needed = {"DATABASE_URL"} | ({"SECRET_KEY"} if name != "dbinit" else set())
            if missing := needed - secrets:
                problems.append(f"{where}: {sorted(missing)} not injected as secrets")
            literal_secrets = container.get("secrets")
            for entry in literal_secrets if isinstance(literal_secrets, list) else []:
                if "${" not in str(entry.get("valueFrom", "")):
                    problems.append(f"{where}: secret {entry.get('name')} has a literal valueFrom")
    return problems


def iam_documents(module: Module) -> dict[str, list[dict]]:
    """Statements of every aws_iam_policy_document, dynamic ones included."""
    documents = {}
    for (kind, name), body in module.data.items():
        if kind != "aws_iam_policy_document":
            continue
        statements = list(body.get("statement", []))
        for dynamic in body.get("dynamic", []):
            for content in dynamic.get("statement", {}).get("content", []):
                statements.append(content)
        documents[name] = statements
    return documents


def key_policy_documents(module: Module) -> set[str]:
    names = set()
    for body in module.of_type("aws_kms_key").values():
        if m := DOCUMENT_REFERENCE.fullmatch(body.get("policy", "")):
            names.add(m[1])
    return names


def listed(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def iam_problems(module: Module) -> list[str]:
    problems = []
    key_policies = key_policy_documents(module)
    for document, statements in iam_documents(module).items():
        for statement in statements:
            sid = statement.get("sid", "")
            where = f"{module.path.name}: data.aws_iam_policy_document.{document} {sid}"
            if statement.get("effect", "Allow") == "Deny":
                continue
            if "not_actions" in statement or "not_resources" in statement:
                problems.append(f"{where}: NotAction/NotResource in an Allow statement")
            actions = listed(statement.get("actions"))
            for principal in listed(statement.get("principals")):
                if "*" in listed(principal.get("identifiers")):
                    problems.append(f"{where}: allows the anonymous principal *")
            for action in actions:
                if not isinstance(action, str) or "${" in action:
                    problems.append(f"{where}: action {action!r} is not a literal")
                elif action == "*" or re.fullmatch(r"[a-z0-9-]+:\*", action):
                    problems.append(f"{where}: service-wide action {action}")
                elif (
                    "*" in action
                    and document not in key_policies
                    and not READ_ONLY_WILDCARD.match(action)
                ):
                    problems.append(f"{where}: wildcard action {action} is not a read-only family")
            resources = statement.get("resources")
            literal_resources = listed(resources) if isinstance(resources, list) else []
            if isinstance(resources, str) and re.search(r'"\*"', resources):
                problems.append(f"{where}: resource expression contains a literal *")
            if "*" in literal_resources and document not in key_policies:
                for action in actions:
                    if action not in READ_ONLY_STAR_ACTIONS | WRITE_STAR_ACTIONS:
                        problems.append(f'{where}: {action} on Resource "*"')
            # Trust policies have no resources; anything else must name them.
            if (
                "resources" not in statement
                and document not in key_policies
                and not all(a.startswith("sts:AssumeRole") for a in actions)
            ):
                problems.append(f"{where}: statement names no resources")
    # Every policy argument is a policy document, so the loop above saw every statement.
    for (kind, name), body in module.resources.items():
        attribute = POLICY_ATTRIBUTES.get(kind)
        if attribute and attribute in body and not DOCUMENT_REFERENCE.fullmatch(body[attribute]):
            problems.append(f"{kind}.{name}.{attribute} is not a data.aws_iam_policy_document")
        if kind == "aws_iam_role" and "inline_policy" in body:
            problems.append(f"{kind}.{name} has an inline_policy block")
        if kind in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
            policy = body.get("policy_arn", "")
            if not any(policy.endswith(f"/{allowed}") for allowed in ALLOWED_MANAGED_POLICIES):
                problems.append(f"{kind}.{name} attaches {policy}")
    return problems


def rds_problems(module: Module) -> list[str]:
    problems = []
    for name, db in module.of_type("aws_db_instance").items():
        if db.get("publicly_accessible", False) is not False:
            problems.append(f"{name}: publicly_accessible is {db.get('publicly_accessible')!r}")
        for attribute in (
            "storage_encrypted",
            "deletion_protection",
            "manage_master_user_password",
        ):
            if db.get(attribute) is not True:
                problems.append(f"{name}: {attribute} is {db.get(attribute)!r}, not true")
        for attribute in ("password", "password_wo"):
            if attribute in db:
                problems.append(f"{name}: sets {attribute} (RDS must manage the master password)")
        if "kms_key_id" not in db:
            problems.append(f"{name}: storage not encrypted with the deployment's key")
        if db.get("performance_insights_enabled") and "performance_insights_kms_key_id" not in db:
            problems.append(f"{name}: Performance Insights without the deployment's key")
        if db.get("skip_final_snapshot") is not False:
            problems.append(f"{name}: skip_final_snapshot must be false")
    return problems


def ingress_problems(module: Module) -> list[str]:
    """Ingress from CIDRs is only the ALB's 80/443; everything else names a security group."""
    problems = []
    for name, rule in module.of_type("aws_vpc_security_group_ingress_rule").items():
        cidr = rule.get("cidr_ipv4") or rule.get("cidr_ipv6") or rule.get("prefix_list_id")
        if cidr is None:
            if "referenced_security_group_id" not in rule:
                problems.append(f"{name}: ingress from nowhere in particular")
            continue
        port = rule.get("from_port")
        if module.path.name != "alb" or port not in (80, 443):
            problems.append(f"{module.path.name}.{name}: ingress from {cidr} on {port}")
    for name, group in module.of_type("aws_security_group").items():
        if group.get("ingress") or group.get("egress"):
            problems.append(f"{name}: inline rules (use the per-rule resources)")
    for name in module.of_type("aws_security_group_rule"):
        problems.append(f"{name}: aws_security_group_rule (use the per-rule resources)")
    return problems
