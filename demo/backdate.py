"""The demo's story has its snapshot, database, NAT gateway and load balancer in place for
months; the emulator stamps each with the moment it was made and cannot move it. The demo's
AWS front (demo/aws_front.py) passes these describe answers on with their creation times set
AGE_DAYS back, so the real inventory stores the story's ages and the detectors, which never
judge a resource younger than their lookback, see what a real account of that age would show.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

AGE_DAYS = 200
# The operation -> the XML element holding its resources' creation time.
CREATION_TIME = {
    "DescribeDBInstances": "InstanceCreateTime",
    "DescribeNatGateways": "createTime",
    "DescribeLoadBalancers": "CreatedTime",
    "DescribeSnapshots": "startTime",
}


def rewrite(operation: str, body: bytes, now: datetime | None = None) -> bytes:
    """BODY with every creation time of OPERATION's answer set AGE_DAYS before NOW."""
    element = CREATION_TIME.get(operation)
    if element is None:
        return body
    moment = (now or datetime.now(UTC)) - timedelta(days=AGE_DAYS)
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    pattern = re.compile(rf"<{element}>[^<]*</{element}>".encode())
    return pattern.sub(f"<{element}>{stamp}</{element}>".encode(), body)
