"""The demo organisation: registered in the database with its three AWS accounts, and each
account's SpendlensAccess role created in the emulator, trusting Spendlens with the account's
ExternalId.
"""

from __future__ import annotations

import json
from datetime import date

from demo.budgets import ensure_demo_budget
from demo.emulator import AccountClients, DemoSeedError
from demo.spec import DEMO_ACCOUNTS, DEMO_ROLE_NAME, DemoAccount
from demo.teams import ensure_demo_allocation

DEMO_ORG_SLUG = "demo"
DEMO_ORG_NAME = "Demo Organisation"


def placeholder_external_id(account_id: str) -> str:
    # Stable so that re-running the seeder without registered accounts keeps the same trust.
    return f"spendlens-demo-{account_id}"


def trust_policy(platform_account_id: str, external_id: str) -> dict:
    """What the customer-role Terraform module creates: only Spendlens, only with its ExternalId."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{platform_account_id}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def ensure_role(
    client: AccountClients, account: DemoAccount, external_id: str, platform_account_id: str
) -> None:
    # moto lets any role be assumed, which is how the seeder gets into an empty account to
    # create the role that real customers create with terraform/customer-role.
    iam = client("iam")
    policy = json.dumps(trust_policy(platform_account_id, external_id))
    try:
        role = iam.create_role(
            RoleName=DEMO_ROLE_NAME,
            AssumeRolePolicyDocument=policy,
            Description="Spendlens read access and safe instance actions (demo)",
        )["Role"]
    except iam.exceptions.EntityAlreadyExistsException:
        # A re-registered account gets a new ExternalId: keep the trust current.
        iam.update_assume_role_policy(RoleName=DEMO_ROLE_NAME, PolicyDocument=policy)
        role = iam.get_role(RoleName=DEMO_ROLE_NAME)["Role"]
    # moto maps credentials it does not know to its default account; seeding that by mistake
    # would scatter the demo fleet into the platform's own account.
    if role["Arn"] != account.role_arn:
        raise DemoSeedError(
            f"Acting as {account.role_arn} created {role['Arn']}: "
            "the emulator did not switch accounts."
        )


def register_demo_organization(today: date | None = None) -> dict:
    """The database side of the demo: the organisation and its three connected accounts, its
    budget, and its allocation (tag keys, the Team dimension; demo/teams.py).

    Idempotent: accounts are matched by ID and keep the ExternalId the server generated the
    first time, which seed_emulator then writes into each role's trust policy.
    """
    from accounts.models import CloudAccount, Organization

    organization, _ = Organization.objects.get_or_create(
        slug=DEMO_ORG_SLUG, defaults={"name": DEMO_ORG_NAME}
    )
    registered = {}
    for spec in DEMO_ACCOUNTS:
        account, _ = CloudAccount.objects.update_or_create(
            organization=organization,
            account_id=spec.account_id,
            defaults={
                "name": spec.name,
                "role_arn": spec.role_arn,
                "regions": list(spec.regions),
                "is_active": True,
            },
        )
        registered[spec.account_id] = account
    ensure_demo_budget(organization)
    ensure_demo_allocation(organization, today or date.today())
    return registered
