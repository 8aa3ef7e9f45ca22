import json
import re
from pathlib import Path

import pytest
import yaml

from accounts import onboarding
from accounts.models import CloudAccount
from tests.infra.terraform.hcl import load_module, parse

MODULE = Path(__file__).resolve().parents[2] / "terraform/modules/customer-role/main.tf"


def terraform_actions(sid):
    block = re.split(rf'sid\s*=\s*"{sid}"', MODULE.read_text(), maxsplit=1)[1]
    actions = re.search(r"actions\s*=\s*\[(.*?)\]", block, re.S).group(1)
    return re.findall(r'"([^"]+)"', actions)


def test_terraform_module_grants_exactly_the_documented_permissions():
    assert terraform_actions("SpendlensRead") == onboarding.READ_ACTIONS
    assert terraform_actions("SpendlensStopStartTaggedInstances") == onboarding.STOP_START_ACTIONS


@pytest.mark.django_db
def test_trust_policy_names_the_platform_and_requires_the_external_id(acme_account, settings):
    settings.PLATFORM_ROLE_ARN = "arn:aws:iam::123456789012:role/spendlens-task"

    statement = onboarding.trust_policy(acme_account)["Statement"][0]

    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/spendlens-task"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": acme_account.external_id}}


@pytest.mark.django_db
def test_cloudformation_template_is_valid_json_with_least_privilege(acme_account):
    template = json.loads(onboarding.cloudformation_template(acme_account))

    role = template["Resources"]["SpendlensRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"] == onboarding.trust_policy(acme_account)
    read = role["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert read["Action"] == onboarding.READ_ACTIONS
    stop = role["Policies"][1]["Fn::If"][1]["PolicyDocument"]["Statement"][0]
    assert stop["Condition"] == {"StringEquals": {"aws:ResourceTag/spendlens:managed": "true"}}


def test_stop_start_is_limited_to_tagged_instances():
    statement = onboarding.stop_start_policy()["Statement"][0]
    assert statement["Resource"] == "arn:aws:ec2:*:*:instance/*"
    assert "aws:ResourceTag/spendlens:managed" in statement["Condition"]["StringEquals"]


# --- The snippets create exactly the role the user entered -----------------------------------

MODULE_DIR = MODULE.parent
ARNS = [
    # (role ARN as entered, partition, path, name, a region of that partition)
    ("arn:aws:iam::123456789012:role/SpendlensReadOnly", "aws", "/", "SpendlensReadOnly"),
    (
        "arn:aws:iam::123456789012:role/team/finops/SpendlensReadOnly",
        "aws",
        "/team/finops/",
        "SpendlensReadOnly",
    ),
    ("arn:aws-cn:iam::123456789012:role/ops/Spendlens", "aws-cn", "/ops/", "Spendlens"),
    ("arn:aws-us-gov:iam::123456789012:role/Spendlens.Gov", "aws-us-gov", "/", "Spendlens.Gov"),
]
REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def entered(acme, settings, role_arn, partition):
    """An account as the connect form saves it, on a platform in the role's partition."""
    settings.PLATFORM_ROLE_ARN = f"arn:{partition}:iam::210987654321:role/spendlens-task"
    account = CloudAccount(
        organization=acme,
        account_id="123456789012",
        role_arn=role_arn,
        regions=[REGION[partition]],
    )
    account.full_clean()
    account.save()
    return account


@pytest.mark.django_db
@pytest.mark.parametrize(("role_arn", "partition", "path", "name"), ARNS)
def test_cloudformation_creates_the_role_of_the_entered_arn(
    acme, settings, role_arn, partition, path, name
):
    account = entered(acme, settings, role_arn, partition)

    # JSON is YAML: CloudFormation (and this parser) read the template either way.
    template = yaml.safe_load(onboarding.cloudformation_template(account))

    role = template["Resources"]["SpendlensRole"]["Properties"]
    assert (role["Path"], role["RoleName"]) == (path, name)
    # What IAM names a role created from these properties in this account.
    assert f"arn:{partition}:iam::{account.account_id}:role{path}{name}" == role_arn
    stop = role["Policies"][1]["Fn::If"][1]["PolicyDocument"]["Statement"][0]
    assert stop["Resource"] == f"arn:{partition}:ec2:*:*:instance/*"


@pytest.mark.django_db
@pytest.mark.parametrize(("role_arn", "partition", "path", "name"), ARNS)
def test_terraform_snippet_passes_the_role_of_the_entered_arn_to_the_module(
    acme, settings, role_arn, partition, path, name
):
    account = entered(acme, settings, role_arn, partition)

    (call,) = parse(onboarding.terraform_snippet(account))["module"]
    arguments = call["spendlens_access"]
    module = load_module(MODULE_DIR)

    assert (arguments["role_name"], arguments["role_path"]) == (name, path)
    assert arguments["external_id"] == account.external_id
    assert arguments["platform_principal_arn"] == settings.PLATFORM_ROLE_ARN
    # The module takes every argument the snippet passes and names and places the role by them.
    passed = set(arguments) - {"source", "__is_block__", "__comments__"}
    assert passed <= set(module.variables)
    role = module.of_type("aws_iam_role")["spendlens"]
    assert (role["name"], role["path"]) == ("${var.role_name}", "${var.role_path}")
    # Without the arguments the module still creates today's /SpendlensAccess.
    assert (module.default("role_name"), module.default("role_path")) == ("SpendlensAccess", "/")


def test_terraform_module_grants_stop_start_in_the_accounts_own_partition():
    module = load_module(MODULE_DIR)

    (statement,) = module.data[("aws_iam_policy_document", "stop_start")]["statement"]

    assert statement["resources"] == [
        "arn:${data.aws_partition.current.partition}:ec2:*:*:instance/*"
    ]
    assert ("aws_partition", "current") in module.data
