"""The faults the tests inject and how, and what every scenario checks and measures."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from accounts import aws as aws_module

# botocore's max_attempts counts retries: 5 means six requests in all.
MAX_ATTEMPTS = aws_module.BOTO_CONFIG.retries["max_attempts"] + 1


# --- Shared helpers ----------------------------------------------------------------------------


def closed_port_url() -> str:
    """An endpoint nothing listens on: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Fault:
    """One way to break AWS for a test, and what the recorded error must say."""

    name: str
    operation: str = ""
    code: str = ""
    message: str = ""
    status: int = 400
    times: int = 1
    skip: int = 0
    hang: bool = False
    refuse: bool = False
    forget_credentials: bool = False  # the cached credentials ran out: AssumeRole is called
    expect: str = ""  # in the recorded error
    recovers_in_run: bool = False  # the run itself succeeds (renewal, short throttling)

    def __str__(self) -> str:
        return self.name


class Injector:
    def __init__(self, proxy, settings, monkeypatch):
        self.proxy, self.settings, self.monkeypatch = proxy, settings, monkeypatch

    def apply(self, fault: Fault) -> None:
        if fault.forget_credentials:
            aws_module.clear_credential_cache()
        if fault.refuse:
            url = closed_port_url()
            self.settings.AWS_ENDPOINT_URL = url
            self.monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        elif fault.hang:
            self.proxy.hang(fault.operation, seconds=30, times=fault.times, skip=fault.skip)
        else:
            self.proxy.fail(
                fault.operation,
                fault.code,
                fault.message,
                status=fault.status,
                times=fault.times,
                skip=fault.skip,
            )

    def remove(self) -> None:
        self.settings.AWS_ENDPOINT_URL = self.proxy.url
        self.monkeypatch.setenv("AWS_ENDPOINT_URL", self.proxy.url)
        self.proxy.scripts.clear()


def calls(proxy, operation: str) -> int:
    return sum(1 for r in proxy.requests if r.operation == operation)


def assert_one_clean_line(error: str, expect: str) -> None:
    assert expect in error, error
    assert "Traceback" not in error and "\n" not in error and 'File "' not in error, error
    assert len(error) < 500, error


def measured(*columns) -> None:
    print("\nMEASURED | " + " | ".join(str(c) for c in columns))


DENIED = "is not authorized to perform: {action} because no identity-based policy allows it"
ASSUME_ROLE_DENIED = Fault(
    "AssumeRole denied",
    "AssumeRole",
    "AccessDenied",
    "User: arn:aws:iam::123456789012:user/spendlens is not authorized to perform: sts:AssumeRole",
    status=403,
    forget_credentials=True,
    expect="AssumeRole failed: AccessDenied: User: arn:aws:iam::123456789012:user/spendlens",
)
REFUSED = Fault("connection refused", refuse=True, expect="Could not connect to the endpoint URL")
