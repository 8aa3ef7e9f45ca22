"""What a customer puts in their AWS account so Spendlens can read it: least privilege only.

The same policy documents feed the onboarding page, the admin, the CloudFormation template and
(by hand, kept in step by a test) terraform/modules/customer-role.
"""

from __future__ import annotations

import json

from django.conf import settings

ROLE_NAME = "SpendlensAccess"
PROTECT_TAG_KEY = "spendlens:protect"
# Stop/start is granted only on instances the customer opts in with this tag.
STOPPABLE_TAG_KEY = "spendlens:managed"

READ_ACTIONS = [
    "ce:GetCostAndUsage",
    "ce:GetCostForecast",
    "ec2:Describe*",
    "cloudwatch:GetMetricData",
    "autoscaling:DescribeAutoScalingGroups",
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


def stop_start_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SpendlensStopStartTaggedInstances",
                "Effect": "Allow",
                "Action": STOP_START_ACTIONS,
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/{STOPPABLE_TAG_KEY}": "true"}},
            }
        ],
    }


def cloudformation_template(account) -> str:
    """A ready CloudFormation template (JSON is valid CloudFormation and needs no YAML lib)."""
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
                    "RoleName": ROLE_NAME,
                    "AssumeRolePolicyDocument": trust_policy(account),
                    "MaxSessionDuration": 3600,
                    "Policies": [
                        {"PolicyName": "SpendlensRead", "PolicyDocument": read_policy()},
                        {
                            "Fn::If": [
                                "StopStart",
                                {
                                    "PolicyName": "SpendlensStopStart",
                                    "PolicyDocument": stop_start_policy(),
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
    return (
        'module "spendlens_access" {\n'
        '  source = "./modules/customer-role"  # from the Spendlens repository\n\n'
        f'  platform_principal_arn = "{platform_principal()}"\n'
        f'  external_id            = "{account.external_id}"\n'
        "  allow_stop_start       = false\n"
        "}\n"
    )


def pretty(document: dict) -> str:
    return json.dumps(document, indent=2)
