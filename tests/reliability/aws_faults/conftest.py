"""Fixtures of every AWS fault scenario: the twin account, a short read timeout, the
injector."""

from __future__ import annotations

import pytest
from botocore.config import Config

from accounts import aws as aws_module
from accounts.models import CloudAccount
from tests.reliability.aws_faults.faults import Injector

# botocore waits 60 s for an answer in production; the tests wait one second per attempt so a
# hung call times out quickly. Only the wait is shortened: the retries and the code are the same.
READ_TIMEOUT = 1


@pytest.fixture
def twin(globex, acme_account):
    """The same AWS account connected by another organisation: its runs never fail."""
    return CloudAccount.objects.create(
        organization=globex,
        name="Twin of Acme production",
        account_id=acme_account.account_id,
        role_arn=acme_account.role_arn,
        regions=acme_account.regions,
    )


@pytest.fixture
def short_read_timeout(monkeypatch):
    config = aws_module.BOTO_CONFIG.merge(Config(read_timeout=READ_TIMEOUT))
    monkeypatch.setattr(aws_module, "BOTO_CONFIG", config)


@pytest.fixture
def injector(aws_faults, settings, monkeypatch, short_read_timeout):
    return Injector(aws_faults, settings, monkeypatch)
