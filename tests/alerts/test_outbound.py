"""The SSRF guard and the outbound HTTPS path (alerts/outbound.py), against a real local receiver.

Name resolution is simulated by answering chosen names from the standard library's
socket.getaddrinfo (fixture `dns`; every other name and every IP literal goes to the real
one), which is also how DNS rebinding is played: a name answers differently on each lookup.
The receiver (tests/support/https_receiver.py) is a real HTTPS server on 127.0.0.1: every
tricky form below would reach it if the guard let it through, so "refused" is checked both
as the exception and as "the receiver got nothing".
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from alerts.outbound import Refused, Reply, Unreachable, check_url, post, redact

# Names the fake resolver answers (each a list of answers, one per lookup; the last repeats).
FAKE_DNS = {
    "loopback.example.com": [["127.0.0.1"]],
    "127.0.0.1.nip.io": [["127.0.0.1"]],
    "metadata.example.com": [["169.254.169.254"]],
    "169.254.169.254.nip.io": [["169.254.169.254"]],
    "mixed.example.com": [["93.184.216.34", "10.0.0.5"]],
    "v6loopback.example.com": [["::1"]],
    "mapped.example.com": [["::ffff:169.254.169.254"]],
    "imds6.example.com": [["fd00:ec2::254"]],
    "cgnat.example.com": [["100.64.0.1"]],
    "hooks.example.com": [["10.0.0.5"]],
    "public.example.com": [["93.184.216.34"]],
}

# Every one must be refused; {port} is the local receiver's, so a miss would reach it.
TRICKY_FORMS = [
    # IPv4 literals, in every spelling resolvers accept
    ("loopback", "https://127.0.0.1:{port}/hook"),
    ("decimal", "https://2130706433:{port}/hook"),
    ("hex", "https://0x7f000001:{port}/hook"),
    ("octal", "https://0177.0.0.1:{port}/hook"),
    ("hex-short", "https://0x7f.1:{port}/hook"),
    ("short", "https://127.1:{port}/hook"),
    ("leading-zeros", "https://127.000.000.001:{port}/hook"),
    ("trailing-dot-ip", "https://127.0.0.1.:{port}/hook"),
    (
        "fullwidth-digits",
        "https://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11:{port}/hook",
    ),
    ("zero", "https://0:{port}/hook"),
    ("unspecified", "https://0.0.0.0:{port}/hook"),
    ("metadata", "https://169.254.169.254/latest/meta-data/"),
    ("metadata-decimal", "https://2852039166/latest/meta-data/"),
    ("private-10", "https://10.0.0.5/hook"),
    ("private-172", "https://172.16.0.1/hook"),
    ("private-192", "https://192.168.1.1/hook"),
    ("shared-cgnat", "https://100.64.0.1/hook"),
    ("multicast", "https://224.0.0.1/hook"),
    ("broadcast", "https://255.255.255.255/hook"),
    # IPv6 literals, plain and embedding IPv4
    ("v6-loopback", "https://[::1]:{port}/hook"),
    ("v6-unspecified", "https://[::]:{port}/hook"),
    ("v6-mapped", "https://[::ffff:127.0.0.1]:{port}/hook"),
    ("v6-mapped-hex", "https://[::ffff:7f00:1]:{port}/hook"),
    ("v6-mapped-long", "https://[0:0:0:0:0:ffff:127.0.0.1]:{port}/hook"),
    ("v6-mapped-public", "https://[::ffff:93.184.216.34]/hook"),
    ("v6-compatible", "https://[::127.0.0.1]:{port}/hook"),
    ("nat64-metadata", "https://[64:ff9b::a9fe:a9fe]/latest/meta-data/"),
    ("6to4-metadata", "https://[2002:a9fe:a9fe::]/latest/meta-data/"),
    ("teredo", "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook"),
    ("v6-zone-id", "https://[fe80::1%25eth0]:{port}/hook"),
    ("v6-link-local", "https://[fe80::a9fe:a9fe]/hook"),
    ("v6-metadata", "https://[fd00:ec2::254]/latest/meta-data/"),
    ("v6-multicast", "https://[ff02::1]/hook"),
    # Names
    ("localhost", "https://localhost:{port}/hook"),
    ("localhost-dot", "https://localhost.:{port}/hook"),
    ("localhost-upper", "https://LOCALHOST:{port}/hook"),
    ("localhost-localdomain", "https://localhost.localdomain:{port}/hook"),
    ("sub-localhost", "https://hooks.localhost:{port}/hook"),
    ("localhost-enclosed-unicode", "https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:{port}/hook"),
    ("aws-internal-name", "https://ip-10-0-0-5.ec2.internal/hook"),
    ("single-label", "https://intranet/hook"),
    ("dns-loopback", "https://loopback.example.com:{port}/hook"),
    ("dns-loopback-nip", "https://127.0.0.1.nip.io:{port}/hook"),
    ("dns-metadata", "https://metadata.example.com/latest/meta-data/"),
    ("dns-metadata-nip", "https://169.254.169.254.nip.io/latest/meta-data/"),
    ("dns-one-private-of-two", "https://mixed.example.com:{port}/hook"),
    ("dns-v6-loopback", "https://v6loopback.example.com:{port}/hook"),
    ("dns-v6-mapped-metadata", "https://mapped.example.com/latest/meta-data/"),
    ("dns-v6-metadata", "https://imds6.example.com/latest/meta-data/"),
    ("dns-shared", "https://cgnat.example.com/hook"),
    # The URL itself
    ("plain-http", "http://public.example.com/hook"),
    ("userinfo-confusion", "https://public.example.com@127.0.0.1:{port}/hook"),
    ("backslash-confusion", "https://public.example.com\\@127.0.0.1:{port}/hook"),
    ("userinfo", "https://user:pass@public.example.com/hook"),
    ("file-scheme", "file:///etc/passwd"),
    ("gopher-scheme", "gopher://127.0.0.1:{port}/_POST"),
    ("no-host", "https:///hook"),
    ("port-zero", "https://public.example.com:0/hook"),
    ("crlf-injection", "https://public.example.com/hook\r\nHost: 127.0.0.1"),
    ("too-long", "https://public.example.com/" + "a" * 3000),
]


def tricky_forms() -> list[tuple[str, str]]:
    """The forms the guard must refuse (label, URL template); quoted as 'N forms refused'."""
    return list(TRICKY_FORMS)


@pytest.fixture
def dns(monkeypatch):
    """socket.getaddrinfo answering FAKE_DNS (plus `dns.answers`); records each lookup."""
    real = socket.getaddrinfo

    class Dns:
        answers = {name: list(seq) for name, seq in FAKE_DNS.items()}
        lookups: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in Dns.answers:
            return real(host, port, family, type, proto, flags)
        answers = Dns.answers[host]
        answer = answers[min(Dns.lookups.count(host), len(answers) - 1)]
        Dns.lookups.append(host)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port or 0, 0, 0))
            if ":" in ip
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))
            for ip in answer
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return Dns


@pytest.fixture
def guarded(https_receiver, settings):
    """The receiver running and trusted (its CA), but NOT allowed as a private host."""
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = []
    return https_receiver


def test_the_tricky_list_has_at_least_30_forms():
    assert len(tricky_forms()) >= 30
    assert len({label for label, _ in tricky_forms()}) == len(tricky_forms())


@pytest.mark.parametrize("label,template", TRICKY_FORMS, ids=[label for label, _ in TRICKY_FORMS])
def test_tricky_form_is_refused(guarded, dns, label, template):
    url = template.format(port=guarded.port)
    with pytest.raises(Refused) as on_save:
        check_url(url)
    with pytest.raises(Refused) as on_send:
        post(url, b"{}", {"Content-Type": "application/json"}, timeout=2)
    assert str(on_save.value) == str(on_send.value)
    assert guarded.requests == []


@pytest.mark.parametrize(
    "status,location",
    [
        (302, "https://169.254.169.254/latest/meta-data/"),
        (302, "https://2130706433/"),
        (302, "https://loopback.example.com/"),
        (307, "https://metadata.example.com/latest/meta-data/"),
        (308, "/second"),  # even back to the same, allowed receiver
    ],
)
def test_a_redirect_is_a_failed_delivery_and_is_not_followed(https_receiver, dns, status, location):
    https_receiver.replies = [(status, "moved", "text/plain", {"Location": location})]
    reply = post(https_receiver.url("/hook"), b"{}", {})
    assert reply.status == status
    assert not reply.ok and not reply.retryable
    assert "not followed" in reply.body
    assert dict(https_receiver.counts) == {"/hook": 1}
    assert dns.lookups == []


def test_rebinding_the_checked_address_is_the_one_connected_to(guarded, dns):
    """First answer public (checked), second private: a second lookup would reach the receiver."""
    dns.answers["rebind.example.com"] = [["93.184.216.34"], ["127.0.0.1"]]
    with pytest.raises(Unreachable) as failed:
        post(f"https://rebind.example.com:{guarded.port}/hook", b"{}", {}, timeout=2)
    assert dns.lookups == ["rebind.example.com"]
    assert "93.184.216.34" in str(failed.value)
    assert guarded.requests == []


def test_the_pinned_connection_verifies_the_certificate_for_the_name(https_receiver, dns, settings):
    """Connected to the checked address, TLS and Host still name the host (the cert's SAN)."""
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    dns.answers["localhost"] = [["127.0.0.1"], ["10.255.255.1"]]
    reply = post(f"https://localhost:{https_receiver.port}/hook", b"{}", {})
    assert reply.ok
    assert dns.lookups == ["localhost"]
    (_path, headers, _body) = https_receiver.requests[0]
    assert headers["Host"] == f"localhost:{https_receiver.port}"


def test_a_certificate_for_another_name_is_refused(https_receiver, dns, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["hooks.example.test"]
    dns.answers["hooks.example.test"] = [["127.0.0.1"]]
    with pytest.raises(Unreachable) as failed:
        post(f"https://hooks.example.test:{https_receiver.port}/hook", b"{}", {})
    assert "certificate not accepted" in str(failed.value)
    assert not failed.value.maybe_delivered
    assert https_receiver.requests == []


def test_each_checked_address_is_tried_until_one_connects(https_receiver, dns, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    dns.answers["localhost"] = [["::1", "127.0.0.1"]]  # the receiver listens on IPv4 only
    reply = post(f"https://localhost:{https_receiver.port}/hook", b"{}", {})
    assert reply.ok
    assert dict(https_receiver.counts) == {"/hook": 1}


def test_a_hanging_receiver_is_unreachable_within_the_deadline(https_receiver):
    https_receiver.hang = threading.Event()
    started = time.monotonic()
    with pytest.raises(Unreachable) as failed:
        post(https_receiver.url("/hook"), b"{}", {}, timeout=0.5)
    assert time.monotonic() - started < 2
    assert str(failed.value) == (
        "127.0.0.1 did not answer within 0.5 s; the request may have been received."
    )
    assert failed.value.maybe_delivered


def test_a_trickling_receiver_is_cut_off_at_the_total_deadline(https_receiver):
    """A byte every 0.05 s never lets a read time out; ~600 bytes would take 30 s."""
    https_receiver.trickle = 0.05
    https_receiver.replies = [(200, "x" * 500, "text/plain")]
    started = time.monotonic()
    with pytest.raises(Unreachable) as failed:
        post(https_receiver.url("/hook"), b"{}", {}, timeout=1)
    assert time.monotonic() - started < 2.5
    assert "did not answer within 1 s" in str(failed.value)


def test_a_closed_port_is_unreachable_and_nothing_was_sent(settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unreachable) as failed:
        post(f"https://127.0.0.1:{port}/hook", b"{}", {})
    assert str(failed.value).startswith("Could not connect to 127.0.0.1: ")
    assert not failed.value.maybe_delivered


@pytest.mark.parametrize(
    "status,ok,retryable",
    [(200, True, False), (204, True, False), (400, False, False), (404, False, False),
     (410, False, False), (429, False, True), (500, False, True), (503, False, True)],
)  # fmt: skip
def test_status_decides_ok_and_retry_and_nothing_is_sent_twice(
    https_receiver, status, ok, retryable
):
    https_receiver.replies = [(status, "", "text/plain")]
    headers = {"Content-Type": "application/json"}
    reply = post(https_receiver.url("/hook"), b'{"text": "hi"}', headers)
    assert (reply.status, reply.ok, reply.retryable) == (status, ok, retryable)
    assert dict(https_receiver.counts) == {"/hook": 1}
    assert https_receiver.requests[0][2] == b'{"text": "hi"}'


def test_an_html_answer_is_recorded_as_an_excerpt(https_receiver):
    page = "<html><head><title>Bad gateway</title></head><body>" + "<p>down</p>" * 200
    https_receiver.replies = [(502, page, "text/html; charset=utf-8")]
    reply = post(https_receiver.url("/hook"), b"{}", {})
    assert reply == Reply(status=502, body=page[:500], content_type="text/html; charset=utf-8")
    assert reply.retryable


def test_a_huge_answer_is_read_only_up_to_the_cap(https_receiver):
    https_receiver.replies = [(200, "é" * 1_000_000, "application/json")]  # 2 MB, not JSON
    reply = post(https_receiver.url("/hook"), b"{}", {})
    assert reply.ok and reply.body == "é" * 500


def test_a_host_that_does_not_resolve_is_refused_on_save_and_unreachable_on_send(settings, dns):
    dns.answers["gone.example.com"] = [[]]
    with pytest.raises(Refused, match=r"^gone.example.com does not resolve"):
        check_url("https://gone.example.com/hook")
    with pytest.raises(Unreachable, match=r"^gone.example.com does not resolve"):
        post("https://gone.example.com/hook", b"{}", {})


def test_messages_read_well_for_people(dns, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = []
    cases = {
        "https://hooks.example.com/services/T/B/x": (
            "hooks.example.com resolves to 10.0.0.5, a private address: "
            "Spendlens only calls public addresses."
        ),
        "https://2130706433/": (
            "2130706433 is 127.0.0.1, a loopback address: Spendlens only calls public addresses."
        ),
        "https://[::ffff:169.254.169.254]/": (
            "::ffff:169.254.169.254 is an IPv6 form of 169.254.169.254, the cloud instance "
            "metadata address: Spendlens only calls public addresses."
        ),
        "http://hooks.slack.com/services/T/B/x": (
            "Only https:// URLs are allowed (this one has http://)."
        ),
        "https://0x5db8d822/": "0x5db8d822 is an unusual way to write 93.184.216.34: "
        "write it as 93.184.216.34.",
    }
    for url, message in cases.items():
        with pytest.raises(Refused) as refused:
            check_url(url)
        assert str(refused.value) == message


def test_public_addresses_pass(dns, settings):
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = []
    for url in [
        "https://public.example.com/services/T/B/x",
        "https://public.example.com:8443/hook",  # any port on a public address
        "https://PUBLIC.example.com./hook",
        "https://93.184.216.34/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
        "https://[64:ff9b::5db8:d822]/hook",  # NAT64 (DNS64 in an IPv6-only subnet), public
    ]:
        assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    ["", "   ", "not a url", "https://", "https://[::1", "https://public.example.com:99999/",
     "https://public.example.com:port/", "https://[not-ipv6]/", "https://a..b.example.com/",
     "https://xn--/", "https://exa mple.com/", None],
)  # fmt: skip
def test_malformed_urls_are_refused_with_a_message(url, dns):
    with pytest.raises(Refused) as refused:
        check_url(url)
    assert str(refused.value)


@pytest.mark.parametrize(
    "url,shown",
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/…"),
        ("https://x.webhook.office.com/webhookb2/abc?sig=s", "https://x.webhook.office.com/…"),
        ("https://user:pw@hooks.example.com:8443/p", "https://hooks.example.com:8443/…"),
        ("https://[::1]:8443/p?q", "https://[::1]:8443/…"),
        ("https://hooks.example.com", "https://hooks.example.com"),
        ("https://[::1", "(an invalid URL)"),
    ],
)
def test_redact_keeps_only_scheme_and_host(url, shown):
    assert redact(url) == shown


def test_secrets_appear_in_no_message_and_no_log(https_receiver, settings, caplog):
    """The path and query of a webhook are its credential: not in errors nor logs (DEBUG)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # WARNING in settings: a debug session
    secret_path = "/services/T0/B0/SECRETPATH?token=SECRETQUERY"
    url = https_receiver.url(secret_path)
    errors = []

    https_receiver.replies = [(302, "", "text/plain", {"Location": "/x/SECRETPATH"})]
    errors.append(post(url, b"{}", {}).body)
    https_receiver.replies = [(200, "", "text/plain", {"X-Bad": "x\r\nno colon here"})]
    errors.append(post(url, b"{}", {}).body)  # urllib3 warns "Failed to parse headers (url=…)"
    https_receiver.hang = threading.Event()
    with pytest.raises(Unreachable) as hung:
        post(url, b"{}", {}, timeout=0.3)
    errors.append(hung.value)
    https_receiver.hang.set()
    https_receiver.hang = None
    settings.WEBHOOK_CA_BUNDLE = ""
    with pytest.raises(Unreachable) as untrusted:
        post(url, b"{}", {})
    errors.append(untrusted.value)
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(Refused) as refused:
        post(url, b"{}", {})
    errors.append(refused.value)
    with pytest.raises(Refused) as with_password:
        check_url("https://admin:SECRETPASSWORD@hooks.example.com/hook")
    errors.append(with_password.value)

    assert len(https_receiver.requests) == 3  # the secret did reach the receiver itself
    assert "Failed to parse headers (url=https://127.0.0.1:" in caplog.text
    for text in [*map(str, errors), caplog.text]:
        assert "SECRET" not in text
    assert "https://127.0.0.1:" in caplog.text  # logs do say where


def test_an_unreadable_ca_bundle_is_a_clear_error(https_receiver, settings):
    settings.WEBHOOK_CA_BUNDLE = "/nonexistent/webhook-ca.pem"
    with pytest.raises(Unreachable, match=r"^WEBHOOK_CA_BUNDLE cannot be used: "):
        post(https_receiver.url("/hook"), b"{}", {})
    assert https_receiver.requests == []


def test_a_receiver_silent_during_the_handshake_got_nothing(settings):
    """Connected, but TLS never starts: a timeout that is known to have sent nothing."""
    settings.WEBHOOK_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the TCP handshake; nobody ever answers
        started = time.monotonic()
        with pytest.raises(Unreachable) as failed:
            post(f"https://127.0.0.1:{silent.getsockname()[1]}/hook", b"{}", {}, timeout=0.5)
    assert time.monotonic() - started < 2
    assert str(failed.value) == "127.0.0.1 did not complete the TLS handshake in time."
    assert not failed.value.maybe_delivered
