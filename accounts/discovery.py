"""The linked accounts of an AWS Organization, read from its management (payer) account.

An organisation of a thousand AWS accounts is not typed in one by one: discovery lists the
accounts of the AWS Organization (organizations:ListAccounts, from the management account's
role) and compares them with the Spendlens organisation's accounts. Added accounts get the role
name of the management account's role (a StackSet deploys one role name everywhere), its
regions and their own ExternalId, and start *inactive*: until the role exists in the account
with that ExternalId, every sync would fail. The operator deploys the roles with the listed
ExternalIds, then activates the accounts (and tests their connections).

Their costs do not wait for that: the management account's sync already stores every linked
account's costs under its ID (costs/ingest/explorer.py split_by_coverage).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import aws
from accounts.models import CloudAccount, partition_of

# AWS's account states. A SUSPENDED (closed) or PENDING_CLOSURE account is not added: its role
# cannot be assumed, and it has no resources left to inventory.
ACTIVE = "ACTIVE"
ORGANIZATIONS_ERRORS = {
    "AWSOrganizationsNotInUseException": "this account is not in an AWS Organization",
    "AccessDeniedException": (
        "the role may not call organizations:ListAccounts: only the management account (or a "
        "delegated administrator) can, and its role needs that permission"
    ),
    "AccessDenied": "the role may not call organizations:ListAccounts",
}


class DiscoveryError(Exception):
    """Discovery could not list the AWS Organization's accounts; the message says why."""


@dataclass(frozen=True)
class LinkedAccount:
    account_id: str
    name: str
    status: str  # ACTIVE, SUSPENDED or PENDING_CLOSURE


@dataclass
class Discovery:
    management: CloudAccount
    linked: list[LinkedAccount] = field(default_factory=list)
    added: list[CloudAccount] = field(default_factory=list)  # created now (or, dry run, would be)
    known: list[CloudAccount] = field(default_factory=list)  # already in Spendlens
    closed: list[LinkedAccount] = field(default_factory=list)  # not ACTIVE in AWS, not added
    # In Spendlens but no longer in the AWS Organization (left it, or a typing error).
    outside: list[CloudAccount] = field(default_factory=list)
    dry_run: bool = False


def list_linked_accounts(management: CloudAccount) -> list[LinkedAccount]:
    """Every account of MANAGEMENT's AWS Organization, itself included, as AWS lists them."""

    def read(session):
        client = aws.client(session, "organizations", region=_organizations_region(management))
        return [
            LinkedAccount(account_id=a["Id"], name=a.get("Name", ""), status=a.get("Status", ""))
            for page in client.get_paginator("list_accounts").paginate()
            for a in page["Accounts"]
        ]

    try:
        session = aws.RoleSession(management.role_arn, management.external_id, label="discovery")
        return session.run(read)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        reason = ORGANIZATIONS_ERRORS.get(code) or exc.response.get("Error", {}).get("Message")
        raise DiscoveryError(f"{management}: {reason or code} ({code}).") from exc
    except BotoCoreError as exc:
        raise DiscoveryError(f"{management}: AWS could not be reached ({exc}).") from exc


def discover(management: CloudAccount, dry_run: bool = False) -> Discovery:
    """Compare MANAGEMENT's AWS Organization with its Spendlens organisation; add what is
    missing (inactive) unless DRY_RUN. Running it again adds nothing twice."""
    if not management.is_management:
        raise DiscoveryError(
            f"{management} is not marked as a management account: only the management "
            "(payer) account of an AWS Organization can list its accounts."
        )
    organization = management.organization
    stored = {a.account_id: a for a in CloudAccount.objects.filter(organization=organization)}
    linked = list_linked_accounts(management)
    in_aws = {a.account_id for a in linked}
    if management.account_id not in in_aws:
        # AWS lists the management account with its members; without it, this is some other
        # organisation's list (a delegated administrator's) or none at all.
        raise DiscoveryError(
            f"{management}: AWS did not list this account among the {len(linked)} accounts "
            "of its AWS Organization: it is not that organisation's management account."
        )
    result = Discovery(management=management, linked=linked, dry_run=dry_run)
    result.outside = [a for a in stored.values() if a.account_id not in in_aws]
    candidates = []
    for account in linked:
        if account.account_id in stored:
            result.known.append(stored[account.account_id])
        elif account.status != ACTIVE:
            result.closed.append(account)
        else:
            candidates.append(_new_account(management, account))
    if dry_run:
        result.added = candidates
        return result
    with transaction.atomic():
        # Another discovery (or a person in the admin) may add the same account meanwhile: the
        # (organization, account_id) constraint keeps one, and this run reports the other's.
        CloudAccount.objects.bulk_create(candidates, ignore_conflicts=True)
        ids = [c.account_id for c in candidates]
        now_stored = CloudAccount.objects.filter(organization=organization, account_id__in=ids)
        ours = {c.external_id for c in candidates}
        for account in now_stored:
            (result.added if account.external_id in ours else result.known).append(account)
    result.added.sort(key=lambda a: a.account_id)
    return result


def _new_account(management: CloudAccount, linked: LinkedAccount) -> CloudAccount:
    role = management.role
    account = CloudAccount(
        organization=management.organization,
        name=linked.name[:120],
        account_id=linked.account_id,
        role_arn=f"arn:{role.partition}:iam::{linked.account_id}:role{role.path}{role.name}",
        regions=list(management.regions),
        is_active=False,
    )
    try:
        account.full_clean(
            exclude=["organization"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:  # an account ID AWS would never list; say which
        raise DiscoveryError(
            f"AWS listed account {linked.account_id!r}, which Spendlens cannot add: "
            + " ".join(exc.messages)
        ) from exc
    return account


def _organizations_region(management: CloudAccount) -> str:
    """Organizations has one endpoint per partition, in its home region."""
    return {"aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}.get(
        partition_of(management.role_arn), "us-east-1"
    )
