"""The local AWS emulator the demo is seeded into: moto's server mode, and only that.

``check_emulator`` refuses an endpoint that does not answer moto's own API, so the seeder can
never touch a real AWS account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from django.conf import settings
from django.test import override_settings

from accounts import aws
from demo.spec import DemoAccount


class DemoSeedError(RuntimeError):
    """The emulator is missing, is not moto, or answered as the wrong account."""


def check_emulator(endpoint_url: str, timeout: float = 3.0) -> None:
    """Raise DemoSeedError unless ENDPOINT_URL is a moto server (never seed real AWS)."""
    url = f"{endpoint_url.rstrip('/')}/moto-api/"
    try:
        response = urllib3.request("GET", url, timeout=timeout, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        raise DemoSeedError(f"The AWS emulator at {endpoint_url} does not answer: {exc}") from exc
    if response.status != 200:
        raise DemoSeedError(
            f"{endpoint_url} answered {response.status} to {url}: it is not a moto server."
        )


@contextmanager
def pointed_at(endpoint_url: str) -> Iterator[None]:
    # accounts.aws reads the endpoint from settings; make it the emulator for this run.
    if endpoint_url == settings.AWS_ENDPOINT_URL:
        yield
        return
    with override_settings(AWS_ENDPOINT_URL=endpoint_url):
        yield


class AccountClients:
    """Clients acting inside one demo account, sharing one assumed-role session.

    One session per account: botocore caches service models per session, and loading the EC2
    model again for every region would make up most of a seed's run time.
    """

    def __init__(self, account: DemoAccount, external_id: str):
        self._session = aws.assumed_session(account.role_arn, external_id, label="demo-seed")
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str = "us-east-1"):
        if (service, region) not in self._clients:
            # Seeding fills the emulator, it does not read a customer's AWS: no rate limit.
            with override_settings(AWS_API_RATE_LIMITS={}):
                self._clients[(service, region)] = aws.client(self._session, service, region)
        return self._clients[(service, region)]
