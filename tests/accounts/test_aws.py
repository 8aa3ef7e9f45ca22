"""accounts/aws.py against the real emulator over HTTP."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from moto.sts.models import sts_backends

from accounts import aws as aws_module

ROLE = "arn:aws:iam::111111111111:role/SpendlensAccess"


def assumed_roles():
    """What the emulator recorded for every AssumeRole it served (any account)."""
    return [
        role
        for account_id in list(sts_backends.keys())
        for role in sts_backends[account_id]["aws"].assumed_roles
    ]


@pytest.fixture(autouse=True)
def fresh_cache():
    aws_module.clear_credential_cache()
    yield
    aws_module.clear_credential_cache()


def test_every_assume_role_carries_the_external_id(aws):
    aws_module.assumed_client("ec2", ROLE, "ext-111", region="us-east-1").describe_instances()
    aws_module.assumed_client(
        "ec2", "arn:aws:iam::222222222222:role/SpendlensAccess", "ext-222"
    ).describe_instances()

    recorded = {(role.role_arn, role.external_id) for role in assumed_roles()}
    assert recorded == {
        (ROLE, "ext-111"),
        ("arn:aws:iam::222222222222:role/SpendlensAccess", "ext-222"),
    }
    assert all(role.session_name.startswith("spendlens") for role in assumed_roles())


def test_credentials_are_reused_until_shortly_before_expiry(aws):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = aws_module.assume_role(ROLE, "ext-111")
        again = aws_module.assume_role(ROLE, "ext-111")
        assert again is first
        assert len(assumed_roles()) == 1

    # 50 minutes later the one-hour credentials are still good: no new AssumeRole.
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        assert aws_module.assume_role(ROLE, "ext-111") is first
        assert len(assumed_roles()) == 1

    # Inside the refresh margin before expiry: a new AssumeRole, new keys.
    with time_machine.travel(first.expiration - timedelta(minutes=2), tick=False):
        refreshed = aws_module.assume_role(ROLE, "ext-111")
    assert refreshed.access_key_id != first.access_key_id
    assert len(assumed_roles()) == 2


def test_the_cache_is_keyed_by_external_id_too(aws):
    first = aws_module.assume_role(ROLE, "ext-111")
    other = aws_module.assume_role(ROLE, "a-different-external-id")

    assert other.access_key_id != first.access_key_id
    assert len(assumed_roles()) == 2


def test_clients_use_the_endpoint_override_and_standard_retries(aws):
    client = aws_module.platform_client("sts")

    assert client.meta.endpoint_url == aws
    assert client.meta.config.retries["mode"] == "standard"


def test_session_name_identifies_the_product_and_fits_aws_limits():
    name = aws_module.session_name("check-" + "x" * 100)
    assert name.startswith("spendlens-check-")
    assert len(name) == 64
