import json
import re
from pathlib import Path

import pytest

from accounts import onboarding

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
