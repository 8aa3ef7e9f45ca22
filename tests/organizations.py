"""An AWS Organization in the emulator, and the Spendlens account of its management account."""

import boto3

from accounts import aws as aws_module
from accounts.models import CloudAccount

MANAGEMENT_ID = "555555555555"


def organizations_client(endpoint, account_id=MANAGEMENT_ID):
    """The emulator's Organizations API as ACCOUNT_ID (the test's own setup, not the code's)."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        "organizations",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def aws_organization(endpoint) -> dict[str, str]:
    """Management account MANAGEMENT_ID with three member accounts, one of them closed:
    {name: account ID}."""
    aws_module.clear_credential_cache()
    client = organizations_client(endpoint)
    client.create_organization(FeatureSet="ALL")
    members = {}
    for name in ["payments-prod", "search-prod", "old-sandbox"]:
        status = client.create_account(AccountName=name, Email=f"{name}@example.com")
        members[name] = status["CreateAccountStatus"]["AccountId"]
    client.close_account(AccountId=members["old-sandbox"])
    return members


def payer(organization) -> CloudAccount:
    return CloudAccount.objects.create(
        organization=organization,
        name="Acme payer",
        account_id=MANAGEMENT_ID,
        role_arn=f"arn:aws:iam::{MANAGEMENT_ID}:role/platform/SpendlensAccess",
        regions=["us-east-1", "eu-west-1"],
        is_management=True,
    )
