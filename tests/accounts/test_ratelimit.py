"""The shared per-API token buckets (accounts/ratelimit.py) and their hook on every client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts import aws as aws_module
from accounts import ratelimit
from accounts.models import ApiRateBucket
from config.aws_limits import DEFAULT_RATE_LIMITS, parse_rate_limits
from tests.marks import postgresql_only

ROOT = Path(__file__).resolve().parents[2]
# Grant times are computed by the database in floating point: a token due exactly one second
# after another may come out a hair earlier.
EPSILON = 1e-6


def most_in_one_second(grants: list[float], rate: float, burst: int) -> None:
    """No window of one second holds more than RATE + BURST - 1 grants (what a bucket allows)."""
    grants = sorted(grants)
    allowed = int(rate) + burst - 1
    for i in range(len(grants) - allowed):
        assert grants[i + allowed] - grants[i] >= 1 - EPSILON, (i, grants[i : i + allowed + 1])


def within_the_bucket(grants: list[float], rate: float, burst: int) -> None:
    """No token handed out twice: between two grants, no more than the bucket held plus refilled.

    Grant times need not be distinct: the BURST tokens of a full bucket may all be due at the
    same instant (and are, when two processes' statements queue on the row lock).
    """
    grants = sorted(grants)
    for i, first in enumerate(grants):
        for j in range(i, len(grants)):
            taken, refilled = j - i + 1, rate * (grants[j] - first)
            assert taken <= burst + refilled + rate * EPSILON, (i, j, taken, burst + refilled)


@pytest.mark.parametrize(
    ("grants", "fits"),
    [
        ([5.0, 5.0, 5.0], True),  # a full bucket's burst, at one instant
        ([5.0, 5.0, 5.0, 5.0], False),  # one more than it holds
        ([5.0, 5.0, 5.0, 5.5], True),  # the fourth waited for its refill
        ([5.0, 5.0, 5.0, 5.4, 5.5], False),  # two grants for the one token refilled by 5.5
    ],
)
def test_the_bucket_check_itself_catches_a_token_handed_out_twice(grants, fits):
    if fits:
        within_the_bucket(grants, rate=2, burst=3)
    else:
        with pytest.raises(AssertionError):
            within_the_bucket(grants, rate=2, burst=3)


class TestSettings:
    def test_defaults_and_overrides(self):
        assert parse_rate_limits("") == DEFAULT_RATE_LIMITS
        limits = parse_rate_limits("ec2.read=50, sts=5:10,rds=3")
        assert limits["ec2.read"] == (50.0, 1)
        assert limits["sts"] == (5.0, 10)
        assert limits["rds"] == (3.0, 1)
        assert limits["cloudwatch"] == DEFAULT_RATE_LIMITS["cloudwatch"]

    def test_off_turns_limiting_off(self):
        assert parse_rate_limits("off") == {}

    @pytest.mark.parametrize("bad", ["ec2", "ec2=", "=5", "ec2=fast", "ec2=0", "ec2=5:0", "a=1:x"])
    def test_a_bad_entry_is_a_clear_error(self, bad):
        with pytest.raises(ImproperlyConfigured, match=r"AWS_API_RATE_LIMITS: .* name=rate"):
            parse_rate_limits(bad)


class TestKeys:
    LIMITS = {"ec2.read": (10.0, 1), "ec2": (2.0, 1), "sts": (50.0, 1), "*": (7.0, 1)}

    def test_the_most_specific_limit_applies(self):
        assert ratelimit.limit_for("ec2", "DescribeInstances", self.LIMITS) == ("ec2.read", 10, 1)
        assert ratelimit.limit_for("ec2", "StopInstances", self.LIMITS) == ("ec2", 2, 1)
        # An API not named gets the default rate in a bucket of its own.
        assert ratelimit.limit_for("rds", "DescribeDBInstances", self.LIMITS) == ("rds", 7, 1)
        assert ratelimit.limit_for("rds", "DescribeDBInstances", {"ec2": (1.0, 1)}) is None

    def test_regional_apis_per_account_and_region_global_ones_per_account(self):
        assert (
            ratelimit.bucket_key("ec2.read", "ec2", "111111111111", "eu-west-1")
            == "ec2.read@111111111111/eu-west-1"
        )
        assert ratelimit.bucket_key("sts", "sts", "platform", "us-east-1") == "sts@platform"
        assert ratelimit.bucket_key("ce", "ce", "222222222222", "us-east-1") == "ce@222222222222"


@pytest.mark.django_db
class TestBucket:
    def test_back_to_back_calls_are_spaced_by_the_rate(self):
        grants = [ratelimit.reserve("ec2.read@x/us-east-1", 10, 2, max_wait=60) for _ in range(35)]

        assert [g.wait for g in grants[:2]] == [0, 0]  # the burst
        assert all(later.wait > earlier.wait for earlier, later in pairwise(grants[2:]))
        within_the_bucket([g.at for g in grants], rate=10, burst=2)
        most_in_one_second([g.at for g in grants], rate=10, burst=2)

    def test_a_call_that_would_wait_too_long_fails_and_gives_its_token_back(self):
        for _ in range(5):
            ratelimit.reserve("ce@x", 1, 1, max_wait=60)
        before = ApiRateBucket.objects.get(key="ce@x").tokens

        with pytest.raises(ratelimit.RateLimitTimeout, match="ce@x had no token free within 2 s"):
            ratelimit.reserve("ce@x", 1, 1, max_wait=2)

        # Only the refill since (far below one token at 1/s) separates the two.
        assert before <= ApiRateBucket.objects.get(key="ce@x").tokens < before + 0.5

    def test_every_http_attempt_takes_a_token_of_its_callers_bucket(
        self, aws_faults, acme_account, settings, fresh_credentials
    ):
        # A refill too slow to matter here: the bucket then counts the attempts.
        settings.AWS_API_RATE_LIMITS = {"ec2.read": (0.001, 10), "sts": (0.001, 10)}
        aws_faults.fail("DescribeInstances", "RequestLimitExceeded", times=2)
        session = aws_module.RoleSession(acme_account.role_arn, acme_account.external_id)

        session.run(lambda s: aws_module.client(s, "ec2", "eu-west-1").describe_instances())

        tokens = dict(ApiRateBucket.objects.values_list("key", "tokens"))
        assert set(tokens) == {"sts@platform", "ec2.read@111111111111/eu-west-1"}
        assert round(tokens["ec2.read@111111111111/eu-west-1"]) == 10 - 3  # 2 throttled + 1
        assert round(tokens["sts@platform"]) == 10 - 1  # AssumeRole, by the platform

    def test_no_limits_no_bucket(self, aws, settings):
        settings.AWS_API_RATE_LIMITS = {}
        aws_module.platform_client("ec2").describe_instances()
        assert not ApiRateBucket.objects.exists()


def database_url() -> str:
    from urllib.parse import quote

    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    return f"postgres://{user}{password}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'])}"


RESERVER = """
import json, os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from accounts import ratelimit
n, rate, burst = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
grants = []
for _ in range(n):  # as acquire() does: reserve, then sleep until the token is due
    grant = ratelimit.reserve("sts@platform", rate, burst, max_wait=3600)
    time.sleep(grant.wait)
    grants.append(grant.at)
print(json.dumps(grants))
"""


@postgresql_only("two processes share the test database")
@pytest.mark.django_db(transaction=True)
def test_two_processes_sharing_a_bucket_never_exceed_its_rate():
    rate, burst, each = 50, 3, 100
    env = {**os.environ, "DATABASE_URL": database_url(), "DB_CONN_MAX_AGE": "0"}
    env.setdefault("SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnop")
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", RESERVER, str(each), str(rate), str(burst)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    grants = []
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        grants.append(json.loads(out))

    assert [len(g) for g in grants] == [each, each]
    everything = grants[0] + grants[1]
    within_the_bucket(everything, rate, burst)
    most_in_one_second(everything, rate, burst)
    # Both processes took from the same bucket while the other did (interleaved, not in turn).
    first, second = sorted(grants, key=min)
    assert min(second) < max(first)
