"""AWS_API_RATE_LIMITS: how fast Spendlens may call each AWS API (accounts/ratelimit.py).

`name=rate[:burst]` pairs, comma-separated, requests per second. NAME is a service as boto3
names it (`ec2`, `cloudwatch`, `ce`, `sts`), a service and a family (`ec2.read`: Describe*,
Get*, List*; `ec2.write`: everything else), or `*` for any API not named. The most specific
name wins. The pairs given replace those defaults' names only; `off` turns limiting off.

The defaults stay below AWS's documented account-level limits: EC2 refills its Describe* bucket
at 20/s and its mutating one at 5/s, CloudWatch GetMetricData allows 50 TPS per region, STS
600 requests/s per account, and Cost Explorer, which bills $0.01 per request, is kept slow.
BURST defaults to 1: a bucket then never grants more than RATE tokens in any second.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

DEFAULT_RATE_LIMITS = {
    "*": (10.0, 1),
    "ec2.read": (10.0, 1),
    "ec2.write": (2.0, 1),
    "cloudwatch": (20.0, 1),
    "ce": (1.0, 1),
    "sts": (50.0, 1),
}


def parse_rate_limits(text: str) -> dict[str, tuple[float, int]]:
    """NAME -> (rate per second, burst), the defaults overridden by TEXT ({} when off)."""
    text = (text or "").strip()
    if text.lower() == "off":
        return {}
    limits = dict(DEFAULT_RATE_LIMITS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        rate, _, burst = value.strip().partition(":")
        try:
            parsed = (float(rate), int(burst) if burst else 1)
        except ValueError:
            parsed = None
        if not sep or not name or parsed is None or parsed[0] <= 0 or parsed[1] < 1:
            raise ImproperlyConfigured(
                f"AWS_API_RATE_LIMITS: {part!r} is not name=rate[:burst] with a rate above 0 "
                "and a whole burst of at least 1 (e.g. ec2.read=10,sts=50:5,*=10), or 'off'."
            )
        limits[name] = parsed
    return limits
