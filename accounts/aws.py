"""The only place that builds boto3 sessions and clients.

Spendlens never stores access keys. Its own identity comes from the environment (the ECS task
role in production, dummy keys against the local emulator); customer accounts are reached by
assuming their role with the ExternalId the server generated for them. Every client honours
``settings.AWS_ENDPOINT_URL`` so the same code runs against AWS and the emulator.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from accounts import ratelimit
from accounts.aws_parsing import ParserFactory

logger = logging.getLogger(__name__)
T = TypeVar("T")

SESSION_NAME_PREFIX = "spendlens"
# Set on an assumed-role session: the AWS account its calls count against (accounts/ratelimit.py).
CALLER_ATTRIBUTE = "spendlens_caller_account"
# Refresh a little before expiry so a long sync never starts a call with dying credentials.
CREDENTIAL_REFRESH_MARGIN = timedelta(minutes=5)
ASSUME_ROLE_DURATION_SECONDS = 3600

# What AWS answers when it no longer accepts temporary credentials: by AWS's clock they
# expired sooner than by ours (a clock running behind), or they were invalidated. EC2 says
# RequestExpired, query services ExpiredToken, JSON services ExpiredTokenException or
# UnrecognizedClientException.
EXPIRED_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)

BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=10,
    read_timeout=60,
    user_agent_appid="spendlens",
)


@dataclass(frozen=True)
class AssumedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    def fresh(self, now: datetime) -> bool:
        return now < self.expiration - CREDENTIAL_REFRESH_MARGIN


_cache: dict[tuple[str, str], AssumedCredentials] = {}
_cache_lock = threading.Lock()


# botocore caches the service models it parses per loader, and each session makes its own: a
# fan-out building one session per account parsed the EC2 model (megabytes of JSON) again for
# every account, about a second each. One loader for the process parses each model once.
_loader = botocore.loaders.create_loader()


def _botocore_session() -> botocore.session.Session:
    session = botocore.session.get_session()
    session.register_component("data_loader", _loader)
    session.register_component("response_parser_factory", ParserFactory())
    return session


def endpoint_url() -> str | None:
    return settings.AWS_ENDPOINT_URL or None


def platform_session(region: str | None = None) -> boto3.session.Session:
    """Spendlens's own identity: environment credentials or the task role."""
    return boto3.session.Session(
        region_name=region or settings.AWS_DEFAULT_REGION, botocore_session=_botocore_session()
    )


def client(
    session: boto3.session.Session,
    service: str,
    region: str | None = None,
    config: Config | None = None,
):
    """A client from SESSION with the endpoint override and the retry policy applied.

    CONFIG, if given, is merged over the defaults (e.g. to skip parameter validation for
    requests the code builds itself). Every HTTP attempt first takes a token of its API's
    shared rate limit (accounts/ratelimit.py), counted against the account that calls.
    """
    built = session.client(
        service,
        region_name=region or session.region_name,
        endpoint_url=endpoint_url(),
        config=BOTO_CONFIG.merge(config) if config else BOTO_CONFIG,
    )
    ratelimit.install(built, service, getattr(session, CALLER_ATTRIBUTE, ratelimit.PLATFORM))
    return built


def platform_client(service: str, region: str | None = None):
    return client(platform_session(region), service)


def session_name(label: str = "") -> str:
    # RoleSessionName shows up in the customer's CloudTrail: make it say who is calling.
    name = f"{SESSION_NAME_PREFIX}-{label}" if label else SESSION_NAME_PREFIX
    return "".join(ch for ch in name if ch.isalnum() or ch in "=,.@-_")[:64]


def assume_role(role_arn: str, external_id: str, label: str = "") -> AssumedCredentials:
    """Assume ROLE_ARN with EXTERNAL_ID, reusing cached credentials until shortly before expiry."""
    key = (role_arn, external_id)
    now = datetime.now(UTC)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached.fresh(now):
            return cached
    response = platform_client("sts").assume_role(
        RoleArn=role_arn,
        RoleSessionName=session_name(label),
        ExternalId=external_id,
        DurationSeconds=ASSUME_ROLE_DURATION_SECONDS,
    )
    raw = response["Credentials"]
    expiration = raw["Expiration"]
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    credentials = AssumedCredentials(
        access_key_id=raw["AccessKeyId"],
        secret_access_key=raw["SecretAccessKey"],
        session_token=raw["SessionToken"],
        expiration=expiration,
    )
    with _cache_lock:
        _cache[key] = credentials
    return credentials


def clear_credential_cache() -> None:
    with _cache_lock:
        _cache.clear()


def forget_credentials(role_arn: str, external_id: str) -> None:
    """Drop ROLE_ARN's cached credentials: the next call assumes the role again."""
    with _cache_lock:
        _cache.pop((role_arn, external_id), None)


def credentials_expired(exc: Exception) -> bool:
    return (
        isinstance(exc, ClientError)
        and exc.response.get("Error", {}).get("Code") in EXPIRED_CREDENTIAL_CODES
    )


def assumed_session(
    role_arn: str, external_id: str, region: str | None = None, label: str = ""
) -> boto3.session.Session:
    credentials = assume_role(role_arn, external_id, label=label)
    session = boto3.session.Session(
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        region_name=region or settings.AWS_DEFAULT_REGION,
        botocore_session=_botocore_session(),
    )
    # AWS throttles per calling account: the rate limit's key needs to know whose role this is.
    setattr(session, CALLER_ATTRIBUTE, caller_account(role_arn))
    return session


def caller_account(role_arn: str) -> str:
    parts = (role_arn or "").split(":")
    return parts[4] if len(parts) > 4 and parts[4] else ratelimit.PLATFORM


def assumed_client(
    service: str, role_arn: str, external_id: str, region: str | None = None, label: str = ""
):
    return client(assumed_session(role_arn, external_id, region=region, label=label), service)


class RoleSession:
    """An account's assumed-role session that is renewed once when AWS refuses its credentials.

    Cached credentials are trusted until five minutes before the expiry AWS stated, but AWS
    can refuse them sooner (see EXPIRED_CREDENTIAL_CODES). Left in the cache, the same dead
    credentials would fail every sync of the account until that stated expiry, up to an hour:
    `run` drops them, assumes the role again and repeats the work once with the new ones. A
    second refusal propagates, for the caller to record. Building it assumes the role (or takes
    the cached credentials), so AssumeRole errors surface here.
    """

    def __init__(self, role_arn: str, external_id: str, region: str | None = None, label=""):
        self.role_arn, self.external_id = role_arn, external_id
        self.region, self.label = region, label
        self.session = assumed_session(role_arn, external_id, region=region, label=label)

    def run(self, work: Callable[[boto3.session.Session], T]) -> T:
        """WORK(session), again from the start with renewed credentials if AWS refused them.

        WORK must not have written anything when an AWS call fails (fetch first, write last),
        since it runs a second time.
        """
        try:
            return work(self.session)
        except ClientError as exc:
            if not credentials_expired(exc):
                raise
            logger.info("AWS refused the credentials of %s (%s): renewing", self.role_arn, exc)
        forget_credentials(self.role_arn, self.external_id)
        self.session = assumed_session(
            self.role_arn, self.external_id, region=self.region, label=self.label
        )
        return work(self.session)
