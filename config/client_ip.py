"""The client's address behind the load balancer, for login throttling (django-axes).

The ALB appends the address it saw to X-Forwarded-For, so the rightmost entry is the client
and anything further left came from the client itself and may be forged. TRUSTED_PROXY_COUNT
counts the proxies in front of the ALB that also append (1 behind CloudFront). Without the
header (no proxy: the demo, tests) the peer address is the client.
"""

from ipaddress import ip_address

from django.conf import settings


def client_ip(request) -> str | None:
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    hop = settings.TRUSTED_PROXY_COUNT
    if len(forwarded) > hop:
        candidate = forwarded[-1 - hop]
        try:
            return str(ip_address(candidate))
        except ValueError:
            pass  # garbage in the header: fall back on the peer
    return request.META.get("REMOTE_ADDR")
