"""What a customer puts in their AWS account so Spendlens can read it: least privilege only.

The same policy documents feed the onboarding page, the admin, the CloudFormation template and
(by hand, kept in step by a test) terraform/modules/customer-role.
"""

from __future__ import annotations

import json
import shlex

from django.conf import settings

from accounts.models import RoleArn

PROTECT_TAG_KEY = "spendlens:protect"
# Stop/start is granted only on instances the customer opts in with this tag.
STOPPABLE_TAG_KEY = "spendlens:managed"

READ_ACTIONS = [
    "ce:GetCostAndUsage",
    "ce:GetCostForecast",
    "ec2:Describe*",
    "cloudwatch:GetMetricData",
    "autoscaling:DescribeAutoScalingGroups",
    # Commitments (Savings Plans and reservations): inventory, daily coverage and utilization,
    # AWS's purchase recommendation. ec2:Describe* already allows DescribeReservedInstances;
    # it is named so that a role narrowing Describe* keeps it.
    "savingsplans:DescribeSavingsPlans",
    "ec2:DescribeReservedInstances",
    "rds:DescribeReservedDBInstances",
    "ce:GetSavingsPlansCoverage",
    "ce:GetSavingsPlansUtilization",
    "ce:GetReservationCoverage",
    "ce:GetReservationUtilization",
    "ce:GetSavingsPlansPurchaseRecommendation",
    # Waste beyond EC2: snapshots (and the AMIs that use them) and NAT gateways come under
    # ec2:Describe*, named so that a role narrowing Describe* keeps them; RDS instances (their
    # tags come in DescribeDBInstances' TagList) and load balancers with their target health.
    "ec2:DescribeSnapshots",
    "ec2:DescribeImages",
    "ec2:DescribeNatGateways",
    "rds:DescribeDBInstances",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    # Discovery of an AWS Organization's accounts (accounts/discovery.py): answered only in the
    # management account (or a delegated administrator); elsewhere AWS refuses it, harmlessly.
    "organizations:ListAccounts",
    # No pricing:GetProducts here: the Price List API is public price data, called with the
    # platform's own credentials (its task role), never through a customer's role.
]
STOP_START_ACTIONS = ["ec2:StopInstances", "ec2:StartInstances"]


def platform_principal() -> str:
    return settings.PLATFORM_ROLE_ARN


def trust_policy(account) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": platform_principal()},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": account.external_id}},
            }
        ],
    }


def read_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "SpendlensRead", "Effect": "Allow", "Action": READ_ACTIONS, "Resource": "*"}
        ],
    }


def stop_start_policy(partition: str = "aws") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SpendlensStopStartTaggedInstances",
                "Effect": "Allow",
                "Action": STOP_START_ACTIONS,
                "Resource": f"arn:{partition}:ec2:*:*:instance/*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/{STOPPABLE_TAG_KEY}": "true"}},
            }
        ],
    }


def role_of(account) -> RoleArn:
    """The role the user told Spendlens to assume: every snippet creates exactly this one.

    AssumeRole names the role by its ARN, path included, so a snippet that picked a name of its
    own would create a role Spendlens can never reach.
    """
    role = account.role
    if role is None:
        # Only rows that bypassed CloudAccount.clean() (or predate its IAM grammar) get here.
        raise ValueError(f"{account.role_arn!r} is not an IAM role ARN")
    return role


def aws_cli_commands(account) -> str:
    """The IAM console cannot give a role a path; the CLI can, so this route works for any ARN."""
    role = role_of(account)
    commands = [
        [
            *("aws", "iam", "create-role", "--role-name", role.name, "--path", role.path),
            *("--max-session-duration", "3600"),
            *("--assume-role-policy-document", "file://spendlens-trust.json"),
        ],
        [
            *("aws", "iam", "put-role-policy", "--role-name", role.name),
            *("--policy-name", "SpendlensRead", "--policy-document", "file://spendlens-read.json"),
        ],
    ]
    return "\n".join(shlex.join(command) for command in commands)


def cloudformation_template(account) -> str:
    """A ready CloudFormation template (JSON is valid CloudFormation and needs no YAML lib)."""
    role = role_of(account)
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Read-only access for Spendlens cost control (optional tagged stop/start).",
        "Parameters": {
            "AllowStopStart": {
                "Type": "String",
                "AllowedValues": ["true", "false"],
                "Default": "false",
                "Description": (
                    f"Let Spendlens stop/start instances tagged {STOPPABLE_TAG_KEY}=true."
                ),
            }
        },
        "Conditions": {"StopStart": {"Fn::Equals": [{"Ref": "AllowStopStart"}, "true"]}},
        "Resources": {
            "SpendlensRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": role.name,
                    "Path": role.path,
                    "AssumeRolePolicyDocument": trust_policy(account),
                    "MaxSessionDuration": 3600,
                    "Policies": [
                        {"PolicyName": "SpendlensRead", "PolicyDocument": read_policy()},
                        {
                            "Fn::If": [
                                "StopStart",
                                {
                                    "PolicyName": "SpendlensStopStart",
                                    "PolicyDocument": stop_start_policy(role.partition),
                                },
                                {"Ref": "AWS::NoValue"},
                            ]
                        },
                    ],
                },
            }
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["SpendlensRole", "Arn"]}}},
    }
    return json.dumps(template, indent=2)


def terraform_snippet(account) -> str:
    role = role_of(account)
    # JSON string literals are valid HCL strings (nothing here can contain HCL's "${").
    arguments = {
        "platform_principal_arn": json.dumps(platform_principal()),
        "external_id": json.dumps(account.external_id),
        "role_name": json.dumps(role.name),
        "role_path": json.dumps(role.path),
        "allow_stop_start": "false",
    }
    width = max(map(len, arguments))
    lines = "".join(f"  {name.ljust(width)} = {value}\n" for name, value in arguments.items())
    return (
        'module "spendlens_access" {\n'
        '  source = "./modules/customer-role"  # from the Spendlens repository\n\n'
        f"{lines}"
        "}\n"
    )


def pretty(document: dict) -> str:
    return json.dumps(document, indent=2)
