"""Outbound HTTPS for chat channels and webhooks, refused where it could reach the inside.

A channel's URL is typed by an organisation's admin, and the worker that calls it runs inside
the VPC: without a guard a channel could call the instance metadata service
(169.254.169.254), the database or anything else only the worker can reach (SSRF). So every
request here goes through one guard (`check_url` when a channel is saved, `post` when it is
used):

- The URL: https only; no `user:password@`; a host that is a domain name with a dot, a dotted
  IPv4 address or a bracketed IPv6 address (IPv4 written in decimal, octal, hex or short
  forms, IPv6 zone ids, single-label names and names reserved for private use such as
  `localhost`, `*.internal` or `*.local` are refused); at most MAX_URL_LENGTH characters, no
  spaces or control characters. International names are converted with IDNA (UTS 46), so a
  name that maps onto `localhost` or `127.0.0.1` meets the same rules. Any port is allowed:
  the address decides, and a public address is public on every port.
- The addresses: the host is resolved once (`resolve`, the one call to the system resolver)
  and EVERY address it gives must be public: not private, loopback, link-local (metadata
  service included, 169.254.169.254 and fd00:ec2::254), shared (100.64/10), multicast,
  reserved, documentation or any other special-purpose range of the IANA registries. An IPv6
  address that embeds an IPv4 address (IPv4-mapped and -compatible, 6to4, Teredo, NAT64) is
  judged by the embedded address too. Python 3.11's `is_global` misses several of these, so
  the ranges are listed here and `is_global` is only a second opinion.
- The connection goes to an address that was checked (pinned: urllib3 is handed the IP, no
  second lookup that a rebinding DNS server could answer differently), while TLS still sends
  the host name (SNI) and verifies the certificate against it; the Host header names it.
  Every checked address is tried in turn if the previous one cannot be connected to (nothing
  has been sent then).
- Redirects are never followed (one connection, one request: nothing here could follow
  one): a 3xx is returned as a failed, non-retryable Reply; its Location is not fetched,
  only named (redacted) in the body excerpt.
- Time: a connect timeout, a read timeout and a total deadline (`timeout`), enforced on every
  socket operation by the TLS socket class (`_deadline_socket`), so a receiver that trickles
  bytes cannot hold a worker longer than `timeout`. (The lookup before it is bounded by the
  system resolver's own timeouts, resolv.conf.) At most MAX_REPLY_BYTES of the answer are
  read and its first BODY_EXCERPT_CHARS characters kept, whatever its type (HTML, JSON,
  binary): nothing parses it.
- Secrets: the path and query of a Slack or Teams webhook URL are its credential. Messages and
  logs only ever name `redact(url)` (scheme://host/…), the host or the address.
- `post` never retries by itself. `Unreachable.maybe_delivered` tells whether the request may
  have reached the receiver (sent, then no complete answer), which a caller must weigh before
  sending it again.

Why not a library: `advocate` (the requests wrapper for this) has had no release since 2020
and broke with urllib3 before; `requests-hardened` (Saleor, maintained) pins only the FIRST
resolved address, cannot let one named host through (only all loopback addresses) and has no
total deadline. The pinning technique is the same as theirs (urllib3 connection to the IP,
SNI and certificate check against the host name), in about as much code as adapting theirs.

WEBHOOK_ALLOWED_PRIVATE_HOSTS names hosts (exact match, after lower-casing, IDNA and dropping
a trailing dot) let through despite a private address or name: an on-premise receiver, the
tests' local receiver. Everything else (https, pinning, no redirects, deadline) still applies.
WEBHOOK_CA_BUNDLE adds a CA to trust (a receiver's private CA) to the public ones (certifi).
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import quote, urlsplit

import certifi
import idna
from django.conf import settings
from urllib3.connection import HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, ReadTimeoutError
from urllib3.util.ssl_ import create_urllib3_context

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0  # total deadline of one post, connection included
CONNECT_TIMEOUT_SECONDS = 5.0
BODY_EXCERPT_CHARS = 500
MAX_REPLY_BYTES = 64 * 1024
# Slack's webhook URLs are ~80 characters, Teams workflow URLs ~400; more is not a webhook.
MAX_URL_LENGTH = 2048
USER_AGENT = "Spendlens-webhooks/1"

PUBLIC_ONLY = "Spendlens only calls public addresses."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The URL may not be called (not https, not public, malformed). Permanent: no retry."""


class Unreachable(Exception):
    """Timeout, refused connection, TLS failure, DNS failure: worth retrying later.

    `maybe_delivered` is True when the request was sent (or partly sent) and no complete answer
    came: the receiver may have acted on it, so a retry may deliver it twice.
    """

    def __init__(self, message: str, *, maybe_delivered: bool = False):
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


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


# --- Which addresses are public -----------------------------------------------------------
# (network, what people are told it is). Order matters: the first match names the address.
_NOT_PUBLIC: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = [
    (ipaddress.ip_network(net), what)
    for net, what in [
        ("169.254.169.254/32", "the cloud instance metadata address"),
        ("fd00:ec2::254/128", "the cloud instance metadata address"),
        ("0.0.0.0/8", "an unspecified address ('this host')"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a reserved (IETF protocol) address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved (6to4 relay) address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a reserved (benchmarking) address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address ('this host')"),
        ("::1/128", "a loopback address"),
        ("::ffff:0:0/96", "an IPv4-mapped address"),
        ("::/96", "an IPv4-compatible address (deprecated)"),
        ("::/8", "a reserved address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo address"),
        ("2001::/23", "a reserved (IETF protocol) address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a reserved (segment routing) address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (deprecated)"),
        ("ff00::/8", "a multicast address"),
    ]
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Names that only ever mean something inside a network (RFC 6761, 6762, 8375, ICANN .internal).
_PRIVATE_NAME_SUFFIXES = (".localhost", ".localdomain", ".local", ".internal", ".home.arpa")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and so may route to), if any."""
    if address.version == 4:
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found += list(address.teredo)
    if address in _NAT64 or (address in ipaddress.ip_network("::/96") and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [ip for ip in found if ip is not None]


def not_public(address: IPAddress) -> str | None:
    """Why ADDRESS may not be called ("a loopback address"...), or None if it is public."""
    for embedded in _embedded_ipv4(address):
        why = not_public(embedded)
        if why:
            return f"an IPv6 form of {embedded}, {why}"
    if address in _NAT64:
        return None  # DNS64 in an IPv6-only subnet: the embedded address, public, decides
    for network, what in _NOT_PUBLIC:
        if address in network:
            return what
    if not address.is_global or address.is_multicast or address.is_reserved:
        return "not a public address"
    return None


# --- Reading a URL ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Target:
    host: str  # ASCII, lower case, no trailing dot, no brackets
    port: int
    path: str  # request target: path and query, percent-encoded
    literal: IPAddress | None  # the host is an IP address
    allowed: bool  # named in WEBHOOK_ALLOWED_PRIVATE_HOSTS

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"


def redact(url: str) -> str:
    """scheme://host[:port] of URL and "/…" for the rest: what messages and logs may show.

    The path and query of a chat webhook are its credential; user:password@ too.
    """
    try:
        parts = urlsplit(str(url).strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    scheme = parts.scheme[:10] or "?"
    host = f"[{host}]" if ":" in host else host
    origin = f"{scheme}://{host[:100]}" + (f":{port}" if port is not None else "")
    rest = parts.path.strip("/") or parts.query or parts.fragment
    return origin + ("/…" if rest else "")


def _normalise_host(host: str) -> str:
    """Lower case ASCII (IDNA/UTS 46 for international names), without a trailing dot."""
    host = host.strip().lower()
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise Refused(f"{host} is not a valid international domain name ({exc}).") from None
    return host[:-1] if host.endswith(".") and not host.endswith("..") else host


def _allowed_hosts() -> set[str]:
    allowed = set()
    for entry in settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS:
        try:
            allowed.add(_normalise_host(entry.strip("[]")))
        except Refused:
            continue  # a malformed entry allows nothing
    return allowed


def _parse(url: str) -> _Target:
    """The URL's parts as they will be used to connect; Refused with the reason if malformed."""
    if not isinstance(url, str) or not url.strip():
        raise Refused("Enter the URL of the webhook (https://…).")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"This URL is {len(url)} characters long; at most {MAX_URL_LENGTH}.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise Refused(f"{redact(url)}: the URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
        raw_host = parts.hostname
    except ValueError as exc:
        raise Refused(f"{redact(url)} is not a valid URL ({exc}).") from None
    if parts.scheme != "https":
        shown = f"{parts.scheme[:10]}://" if parts.scheme else "no scheme"
        raise Refused(f"Only https:// URLs are allowed (this one has {shown}).")
    if "@" in parts.netloc:
        raise Refused(f"{redact(url)}: user names and passwords in the URL are not allowed.")
    if not raw_host:
        raise Refused(f"{redact(url)}: the URL has no host name.")
    if port == 0:
        raise Refused(f"{redact(url)}: port 0 cannot be called.")
    if "%" in raw_host:
        raise Refused(f"{redact(url)}: IPv6 zone ids (%…) are not allowed.")
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    host = _normalise_host(raw_host)
    allowed = host in _allowed_hosts()
    literal = _literal_address(host, bracketed)
    if literal is None and not allowed:
        _check_name(host)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return _Target(host, port or 443, path, literal, allowed)


def _literal_address(host: str, bracketed: bool) -> IPAddress | None:
    """The address if HOST is one, written the one accepted way per family; else None."""
    if bracketed:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise Refused(f"[{host}] is not a valid IPv6 address.") from None
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        pass
    # A name whose last label is a number is an IPv4 address to resolvers and browsers
    # (2130706433, 0x7f.1, 0177.0.0.1, 127.1): never a domain, so refuse it outright.
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        try:
            meant = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise Refused(f"{host} is neither a domain name nor an IP address.") from None
        why = not_public(meant)
        if why:
            raise Refused(f"{host} is {meant}, {why}: {PUBLIC_ONLY}")
        raise Refused(f"{host} is an unusual way to write {meant}: write it as {meant}.")
    return None


def _check_name(host: str) -> None:
    if host == "localhost" or host.endswith(_PRIVATE_NAME_SUFFIXES):
        raise Refused(f"{host} is a name for this machine or a private network: {PUBLIC_ONLY}")
    if "." not in host:
        raise Refused(
            f"{host} is not a full domain name (a name without a dot is looked up inside "
            f"the network): {PUBLIC_ONLY}"
        )
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise Refused(f"{host[:100]} is not a valid host name.")


# --- Resolving and checking ---------------------------------------------------------------
def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address HOST has (the system resolver, once); socket.gaierror if none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no IPv4 or IPv6 address")
    return addresses


class _NoAddress(Exception):
    """The host did not resolve (maybe for a moment): Refused on save, Unreachable on send."""


def _addresses(target: _Target) -> list[IPAddress]:
    """The addresses to connect to, each checked; Refused naming the first one not public."""
    if target.literal is not None:
        addresses = [target.literal]
    else:
        try:
            addresses = resolve(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise _NoAddress(f"{target.host} does not resolve ({reason}).") from None
    if target.allowed:
        return addresses
    for address in addresses:
        why = not_public(address)
        if why and target.literal is not None:
            raise Refused(f"{target.host} is {why}: {PUBLIC_ONLY}")
        if why:
            raise Refused(f"{target.host} resolves to {address}, {why}: {PUBLIC_ONLY}")
    return addresses


def check_url(url: str) -> str:
    """URL if it may be called; raises Refused with the reason people should read.

    For validating a channel when it is saved: a host that does not resolve is refused too.
    """
    target = _parse(url)
    try:
        _addresses(target)
    except _NoAddress as exc:
        raise Refused(str(exc)) from None
    return url


# --- Sending ------------------------------------------------------------------------------
class _DeadlineSocket(ssl.SSLSocket):
    """A TLS socket whose every read, write and handshake step ends by `deadline`.

    Socket timeouts bound one operation; a receiver sending a byte just before each runs out
    would hold the worker forever. Each operation here first lowers the timeout to what is
    left until the deadline. Installed through the documented SSLContext.sslsocket_class.
    """

    deadline = float("inf")  # time.monotonic() value; set per request by _deadline_socket

    def _clip(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        current = self.gettimeout()
        if current is None or current > left:
            self.settimeout(left)

    def read(self, len=1024, buffer=None):
        self._clip()
        return super().read(len, buffer)

    def send(self, data, flags=0):
        self._clip()
        return super().send(data, flags)

    def do_handshake(self, block=False):
        self._clip()
        return super().do_handshake(block)


def _deadline_socket(deadline: float) -> type[_DeadlineSocket]:
    return type("_DeadlineSocket", (_DeadlineSocket,), {"deadline": deadline})


def _tls_context(deadline: float) -> ssl.SSLContext:
    context = create_urllib3_context()
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    context.load_verify_locations(certifi.where())
    if settings.WEBHOOK_CA_BUNDLE:
        context.load_verify_locations(settings.WEBHOOK_CA_BUNDLE)
    context.sslsocket_class = _deadline_socket(deadline)
    return context


def _reason(exc: BaseException) -> str:
    """What went wrong, from the innermost error that says it (never a URL)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    for error in reversed(seen):
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"certificate not accepted: {error.verify_message.rstrip('.')}"
    for error in reversed(seen):
        if isinstance(error, ssl.SSLError):
            return f"TLS error: {error.reason or error.strerror or type(error).__name__}"
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
    return type(seen[0]).__name__ if seen else "unknown error"


def _text(raw: bytes, content_type: str) -> str:
    message = Message()
    message["content-type"] = content_type
    charset = message.get_content_charset() or "utf-8"
    try:
        text = raw.decode(charset, errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    return text[:BODY_EXCERPT_CHARS]


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS) -> Reply:
    """POST BODY to URL through the guard, within TIMEOUT seconds in all.

    Raises Refused (permanent) or Unreachable (retry later); else the Reply, whatever its status
    (a 3xx is returned, not followed).
    """
    try:
        target = _parse(url)
        addresses = _addresses(target)
    except Refused as exc:
        logger.warning("Outbound request to %s refused: %s", redact(url), exc)
        raise
    except _NoAddress as exc:
        logger.warning("Outbound request to %s not sent: %s", redact(url), exc)
        raise Unreachable(str(exc)) from None
    deadline = time.monotonic() + timeout
    try:
        context = _tls_context(deadline)
    except OSError as exc:
        raise Unreachable(f"WEBHOOK_CA_BUNDLE cannot be used: {_reason(exc)}.") from None
    request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
    request_headers["Host"] = target.host_header
    failure = Unreachable(f"{target.host} could not be reached within {timeout:g} s.")
    for address in addresses:
        if deadline - time.monotonic() <= 0:
            break
        try:
            reply = _post_to(address, target, context, body, request_headers, deadline, timeout)
        except _NotConnected as exc:
            failure = Unreachable(str(exc))
            continue  # nothing was sent: the next checked address may answer
        except Unreachable as exc:
            failure = exc
            break
        logger.info("Outbound POST to %s (%s): %s", redact(url), address, reply.status)
        return reply
    logger.warning("Outbound POST to %s failed: %s", redact(url), failure)
    raise failure


class _NotConnected(Exception):
    pass


class _HidePath(logging.Filter):
    """Takes the request path out of urllib3's own log lines (a warning about a malformed
    answer names the whole URL).

    Installed on urllib3's connection logger; it only touches records logged by the thread
    that is inside `post`, where `_sending.path` is the path being sent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        path = getattr(_sending, "path", None)
        if path and isinstance(record.args, tuple):
            record.args = tuple(
                arg.replace(path, "/…") if isinstance(arg, str) else arg for arg in record.args
            )
        return True


_sending = threading.local()
logging.getLogger("urllib3.connection").addFilter(_HidePath())


def _post_to(address, target, context, body, headers, deadline, timeout) -> Reply:
    """One attempt at one checked address; _NotConnected if no connection was made.

    A connection rather than a pool: connecting (TCP and TLS) is a step of its own, so a
    failure there is known to have sent nothing.
    """
    where = f"{target.host} ({address})" if target.literal is None else target.host
    connection = HTTPSConnection(
        str(address),
        target.port,
        timeout=min(CONNECT_TIMEOUT_SECONDS, deadline - time.monotonic()),
        server_hostname=target.host,  # SNI and the certificate check: the name, not the IP
        ssl_context=context,
    )
    _sending.path = target.path
    try:
        try:
            connection.connect()
        except ConnectTimeoutError as exc:  # NewConnectionError included
            raise _NotConnected(f"Could not connect to {where}: {_reason(exc)}.") from None
        except TimeoutError:
            raise Unreachable(f"{where} did not complete the TLS handshake in time.") from None
        except (OSError, HTTPError) as exc:
            raise Unreachable(f"TLS with {where} failed: {_reason(exc)}.") from None
        # Per read; the deadline socket lowers it to what is left of the deadline.
        connection.timeout = deadline - time.monotonic()
        try:
            connection.request(
                "POST", target.path, body=body, headers=headers, preload_content=False
            )
            response = connection.getresponse()
            raw = response.read(MAX_REPLY_BYTES, decode_content=False)
        except (ReadTimeoutError, TimeoutError):
            raise Unreachable(
                f"{where} did not answer within {timeout:g} s; the request may have been received.",
                maybe_delivered=True,
            ) from None
        except (HTTPError, OSError, http.client.HTTPException) as exc:
            raise Unreachable(
                f"{where} broke off the exchange: {_reason(exc)}; "
                "the request may have been received.",
                maybe_delivered=True,
            ) from None
        content_type = response.headers.get("Content-Type", "")[:200]
        text = _text(raw, content_type)
        if 300 <= response.status < 400:
            location = response.headers.get("Location", "")
            text = f"[redirect to {redact(location)} not followed] {text}"[:BODY_EXCERPT_CHARS]
        return Reply(status=response.status, body=text, content_type=content_type)
    finally:
        connection.close()
        _sending.path = None
