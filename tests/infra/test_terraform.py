"""Security properties of terraform/, read from the HCL itself (python-hcl2), no AWS needed.

checkov (scripts/check_terraform.sh) runs the generic rules; these tests pin Spendlens' own
decisions, on parsed values rather than text: the database is private, encrypted and admits the
tasks only; no IAM statement grants a service-wide or "*" action, or "*" resources to anything
that writes (the exceptions are listed below, each with its reason); secrets reach containers
only as ECS `secrets`; customer roles demand the ExternalId; ECR tags are immutable and scanned;
the ALB drops invalid headers and only redirects on HTTP; every log group has a retention.

Expressions are evaluated as far as the checks need (locals, merge(), object literals, variable
defaults and validations); anything the evaluator cannot follow is reported as a problem rather
than passed. The `*_catches_*` tests feed each checker a deliberately bad module, so a checker
that stopped finding problems would fail too.
"""

import re
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import hcl2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
PROD = TERRAFORM / "environments" / "prod"
EXPECTED_MODULES = {
    "alb",
    "customer-role",
    "ecr",
    "ecs",
    "github-deploy",
    "iam",
    "network",
    "rds",
    "secrets",
    "ses",
}

OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
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
CLOUDWATCH_RETENTIONS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096}
CLOUDWATCH_RETENTIONS |= {1827, 2192, 2557, 2922, 3288, 3653}


# --- Loading --------------------------------------------------------------------------------


@dataclass
class Module:
    """Every block of the .tf files of one directory, by kind."""

    path: Path
    resources: dict = field(default_factory=dict)  # (type, name) -> body
    data: dict = field(default_factory=dict)  # (type, name) -> body
    locals: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    calls: dict = field(default_factory=dict)  # module name -> body
    terraform: list = field(default_factory=list)

    def of_type(self, kind: str) -> dict:
        return {name: body for (t, name), body in self.resources.items() if t == kind}

    def default(self, name: str):
        return self.variables[name].get("default")


def parse(text: str) -> dict:
    return hcl2.loads(text, serialization_options=OPTIONS)


def load_module(path: Path) -> Module:
    module = Module(path)
    for tf in sorted(path.glob("*.tf")):
        tree = parse(tf.read_text())
        for block in tree.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.resources[(kind, name)] = body
        for block in tree.get("data", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.data[(kind, name)] = body
        for block in tree.get("locals", []):
            module.locals.update(block)
        for block in tree.get("variable", []):
            module.variables.update(block)
        for block in tree.get("output", []):
            module.outputs.update(block)
        for block in tree.get("module", []):
            module.calls.update(block)
        module.terraform += tree.get("terraform", [])
    return module


@cache
def modules() -> dict[str, Module]:
    found = {p.name: load_module(p) for p in sorted(MODULES.iterdir()) if p.is_dir()}
    found["prod"] = load_module(PROD)
    return found


def module_from(tmp_path: Path, hcl: str) -> Module:
    (tmp_path / "main.tf").write_text(textwrap.dedent(hcl))
    return load_module(tmp_path)


# --- A small evaluator for the expressions the checks follow --------------------------------


class Unresolvable(Exception):
    pass


def unwrap(value) -> str | None:
    """The expression inside "${...}" when the whole string is one interpolation, else None."""
    if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
        return None
    depth, quoted, escaped = 0, False, False
    for i, char in enumerate(value):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
            continue
        if char == '"':
            quoted = True
        elif char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
            if depth == 0 and i != len(value) - 1:
                return None  # "${a}-${b}": a template, not one expression
    return value[2:-1].strip()


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a function call's argument list."""
    parts, depth, quoted, escaped, start = [], 0, False, False, 0
    for i, char in enumerate(text):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
            continue
        if char == '"':
            quoted = True
        elif char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:].strip())
    return parts


def expression(text: str):
    """Parse one HCL expression (an object or tuple literal comes back as dict/list)."""
    return parse(f"x = {text}\n")["x"]


def resolve_map(value, module: Module) -> tuple[dict, list[str]]:
    """A map-valued expression as (known entries, names of variables merged into it)."""
    if isinstance(value, dict):
        return value, []
    inner = unwrap(value)
    if inner is None:
        raise Unresolvable(repr(value))
    if m := re.fullmatch(r"local\.(\w+)", inner):
        return resolve_map(module.locals[m[1]], module)
    if m := re.fullmatch(r"var\.(\w+)", inner):
        return {}, [m[1]]
    if inner.startswith("merge(") and inner.endswith(")"):
        merged, variables = {}, []
        for argument in split_arguments(inner[len("merge(") : -1]):
            entries, names = resolve_map("${" + argument + "}", module)
            merged.update(entries)
            variables += names
        return merged, variables
    if inner.startswith("{"):
        return resolve_map(expression(inner), module)
    raise Unresolvable(inner)


def resolve_value(value, module: Module):
    """A scalar: literals as they are, var.X as its default, local.X followed."""
    inner = unwrap(value)
    if inner is None:
        return value
    if m := re.fullmatch(r"var\.(\w+)", inner):
        return module.default(m[1])
    if m := re.fullmatch(r"local\.(\w+)", inner):
        return resolve_value(module.locals[m[1]], module)
    raise Unresolvable(inner)


def for_collection(value) -> tuple[str, str] | None:
    """For `[for k, v in COLL : {name = k, value = v}]`: (COLL, "value"/"valueFrom")."""
    inner = unwrap(value)
    if inner is None:
        return None
    m = re.fullmatch(
        r"\[for (\w+), (\w+) in (.+) : \{name = \1, (value|valueFrom) = \2\}\]", inner, re.S
    )
    return (m[3], m[4]) if m else None


def validation_conditions(module: Module, variable: str) -> str:
    blocks = module.variables.get(variable, {}).get("validation", [])
    return " ".join(block.get("condition", "") for block in blocks)


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


# --- The repository's Terraform -------------------------------------------------------------


def test_every_module_has_the_standard_files():
    for name in EXPECTED_MODULES:
        path = MODULES / name
        for file in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (path / file).is_file(), f"{name}/{file}"
    assert set(modules()) == EXPECTED_MODULES | {"prod"}


def test_every_variable_has_a_type_and_a_description():
    for name, module in modules().items():
        for variable, body in module.variables.items():
            assert body.get("description"), f"{name}: var.{variable} has no description"
            assert body.get("type"), f"{name}: var.{variable} has no type"


def test_providers_are_pinned():
    for name, module in modules().items():
        blocks = [b for b in module.terraform if "required_providers" in b]
        assert blocks, f"{name} has no required_providers"
        aws = blocks[0]["required_providers"][0]["aws"]
        assert aws["source"] == "hashicorp/aws"
        assert re.search(r"\d", aws["version"]), f"{name}: aws provider version not pinned"
    prod = modules()["prod"].terraform
    assert any(b.get("required_version") for b in prod)
    assert any(b.get("backend") == [{"s3": {}}] for b in prod), "prod: partial S3 backend"


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
    assert assume["resources"] == ["${local.customer_role_pattern}"]
    assert iam.locals["customer_role_pattern"] == (
        "arn:${local.partition}:iam::*:role/${var.customer_role_name}"
    )
    assert iam.default("customer_role_name") == "SpendlensAccess"
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
    assert modules()["prod"].calls["ecs"]["extra_environment"] == "${var.extra_environment}"


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
        for p in policies.values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    (cluster,) = ecs.of_type("aws_ecs_cluster").values()
    assert {"name": "containerInsights", "value": "enabled"} in cluster["setting"]


def test_ecr_tags_are_immutable_and_scanned():
    ecr = modules()["ecr"]
    (repository,) = ecr.of_type("aws_ecr_repository").values()
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == [{"scan_on_push": True}]
    assert repository["encryption_configuration"][0]["encryption_type"] == "KMS"
    assert ecr.of_type("aws_ecr_lifecycle_policy")


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


def test_every_log_group_has_a_retention_and_the_key():
    groups = 0
    for name, module in modules().items():
        for group_name, group in module.of_type("aws_cloudwatch_log_group").items():
            groups += 1
            retention = resolve_value(group.get("retention_in_days"), module)
            assert retention in CLOUDWATCH_RETENTIONS, f"{name}.{group_name}: {retention!r}"
            assert group.get("kms_key_id") == "${var.kms_key_arn}", f"{name}.{group_name}"
    assert groups >= 4  # resources; the ECS and RDS ones make several groups each (for_each)
    assert modules()["ecs"].default("log_retention_days") == 30
    # RDS log exports land in groups created beforehand (else they never expire).
    rds = modules()["rds"]
    assert (
        rds.of_type("aws_cloudwatch_log_group")["exports"]["for_each"]
        == "${toset(local.log_exports)}"
    )
    assert (
        rds.of_type("aws_db_instance")["this"]["enabled_cloudwatch_logs_exports"]
        == "${local.log_exports}"
    )


def test_secret_parameters_are_secure_strings_terraform_never_fills():
    secrets = modules()["secrets"]
    (parameter,) = secrets.of_type("aws_ssm_parameter").values()
    assert parameter["type"] == "SecureString"
    assert parameter["key_id"] == "${aws_kms_key.this.arn}"
    # A placeholder the application refuses (SECRET_KEY needs 32+ characters), then hands off.
    assert len(parameter["value"]) < 32
    assert parameter["lifecycle"] == [{"ignore_changes": ["value"]}]
    (key,) = secrets.of_type("aws_kms_key").values()
    assert key["enable_key_rotation"] is True


def test_tfvars_example_sets_every_required_variable_and_no_secret():
    example = parse((PROD / "terraform.tfvars.example").read_text())
    prod = modules()["prod"]
    required = {name for name, body in prod.variables.items() if "default" not in body}
    assert required <= set(example), sorted(required - set(example))
    assert set(example) <= set(prod.variables), sorted(set(example) - set(prod.variables))
    for name in example.get("extra_environment", {}):
        assert not SECRET_NAME.search(name), name


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
