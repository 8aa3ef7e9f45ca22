"""A logging filter that keeps credentials out of the logs, whatever a library logs.

Our own code never logs a secret. Libraries can: botocore at DEBUG prints request headers
(the signed Authorization, X-Amz-Security-Token) and response bodies (an STS AssumeRole answer
holds SecretAccessKey and SessionToken), and an exception message can quote a connection URL.
The filter rewrites each record's message before any handler formats it, so the JSON and the
plain formats both get the redacted text.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

REDACTED = "[redacted]"

_PATTERNS = [
    # Signed request headers, as botocore and urllib3 print them (dict reprs or raw lines).
    re.compile(
        r"(?i)(['\"]?(?:authorization|x-amz-security-token|cookie|x-csrftoken)['\"]?"
        r"\s*[:=]\s*b?['\"]?)([^'\"\n]+)"
    ),
    # Credentials in XML (STS) and JSON answers or reprs.
    re.compile(r"(<(?:SecretAccessKey|SessionToken)>)([^<]+)"),
    re.compile(
        r"(?i)(['\"]?(?:secret_?access_?key|session_?token|aws_secret_access_key|password"
        r"|api_?key|token)['\"]?\s*[:=]\s*['\"]?)([^'\",\s}&]+)"
    ),
    # user:password@host in URLs (DATABASE_URL, REDIS_URL).
    re.compile(r"(\w+://[^:/\s@]+:)([^@\s]+)(@)"),
]


def _known_secrets() -> list[str]:
    from django.conf import settings

    values = [getattr(settings, "SECRET_KEY", ""), getattr(settings, "METRICS_TOKEN", "")]
    for database in getattr(settings, "DATABASES", {}).values():
        values.append(database.get("PASSWORD") or "")
    redis = getattr(settings, "REDIS_URL", "") or ""
    if redis:
        values.append(urlsplit(redis).password or "")
    return [v for v in values if v and len(v) >= 8]


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets if secrets is not None else _known_secrets():
        text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(
            lambda m: m.group(1) + REDACTED + (m.group(3) if m.lastindex >= 3 else ""), text
        )
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logged as logging itself would
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            # Formatters (python-json-logger too) fall back on exc_text when exc_info is gone.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
