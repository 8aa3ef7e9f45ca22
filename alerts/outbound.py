"""Outbound HTTPS for chat channels and webhooks, refused where it could reach the inside.

A channel's URL is typed by an organisation's admin, and the worker that calls it runs inside
the VPC: without a guard a channel could call the instance metadata service
(169.254.169.254), the database or anything else only the worker can reach (SSRF). So every
request here:

- goes to an https URL only;
- resolves the host first and refuses it if ANY address is not public (private, loopback,
  link-local, multicast, reserved, shared, IPv4-mapped forms of these...);
- connects to an address it checked (no second lookup an attacker's DNS could answer
  differently) while TLS still verifies the certificate for the host name;
- never follows redirects (a 3xx is a failed delivery, with its status recorded).

WEBHOOK_ALLOWED_PRIVATE_HOSTS names hosts let through despite a private address (an on-premise
receiver, the tests' local receiver); WEBHOOK_CA_BUNDLE adds a CA to trust (theirs).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

TIMEOUT_SECONDS = 10.0
BODY_EXCERPT_CHARS = 500


class Refused(Exception):
    """The URL may not be called (not https, not public, malformed). Permanent: no retry."""


class Unreachable(Exception):
    """Timeout, refused connection, TLS failure: worth retrying later."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: str  # the first BODY_EXCERPT_CHARS characters, for the delivery history
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """5xx and 429 (rate limited) are worth another try; any other 4xx or a 3xx is not."""
        return self.status >= 500 or self.status == 429


def check_url(url: str) -> str:
    """URL if it may be called; raises Refused with the reason people should read.

    Baseline guard (https, every resolved address global); the SSRF work hardens it.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise Refused("Only https:// URLs with a host name are allowed.")
    host = parts.hostname
    if host in settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS:
        return url
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise Refused(f"{host} resolves to {address}, which is not a public address.")
    return url


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS) -> Reply:
    """POST BODY to URL through the guard. Raises Refused or Unreachable; else the Reply."""
    check_url(url)
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            verify=settings.WEBHOOK_CA_BUNDLE or True,
        )
    except requests.RequestException as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
    return Reply(
        status=response.status_code,
        body=response.text[:BODY_EXCERPT_CHARS],
        content_type=response.headers.get("Content-Type", ""),
    )
