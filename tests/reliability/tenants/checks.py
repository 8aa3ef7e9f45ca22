"""What a response reveals, what a request changed, and the problems a sweep found."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from urllib.parse import quote, quote_plus

from django.apps import apps

from tests.reliability.tenants.world import MARKERS

# --- What a response reveals ------------------------------------------------------------------

VOLATILE_FIELDS = {"last_login"}
SKIPPED_MODELS = {"sessions.session"}  # charlie's own session, written on every request


def snapshot() -> dict:
    """Every row of every table (sessions aside), to prove a request changed nothing."""
    state = {}
    for model in apps.get_models():
        # A proxy's rows are its concrete model's, already in the snapshot.
        if model._meta.label_lower in SKIPPED_MODELS or model._meta.proxy:
            continue
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in VOLATILE_FIELDS]
        rows = model._base_manager.order_by("pk").values_list(*names)
        state[model._meta.label] = {row[names.index(model._meta.pk.attname)]: row for row in rows}
    return state


def changes(before: dict, after: dict) -> dict:
    """label -> {"added"|"removed"|"changed": [rows]} for every table that differs."""
    diff = {}
    for label, rows in after.items():
        old = before.get(label, {})
        added = [rows[k] for k in rows.keys() - old.keys()]
        removed = [old[k] for k in old.keys() - rows.keys()]
        changed = [(old[k], rows[k]) for k in rows.keys() & old.keys() if rows[k] != old[k]]
        entry = {"added": added, "removed": removed, "changed": changed}
        if added or removed or changed:
            diff[label] = {k: v for k, v in entry.items() if v}
    return diff


# Messages left by earlier requests are shown by whichever page comes next; each request's own
# messages are compared separately (queued_messages).
LEFTOVER_MESSAGES = re.compile(r'<ul class="(?:messagelist|messages)".*?</ul>', re.DOTALL)
NOISE = [
    (re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+'), r"\1<csrf>"),
    (re.compile(r'(nonce=")[^"]+'), r"\1<nonce>"),
    (re.compile(r'("csrfToken": ")[^"]+'), r"\1<csrf>"),
]


def text_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def cleaned(response) -> str:
    """The body without per-request noise (CSRF tokens, CSP nonces)."""
    body = text_of(response)
    for pattern, replacement in NOISE:
        body = pattern.sub(replacement, body)
    return body


def normalized(response, keys=()) -> str:
    """The body to compare: no noise, no leftover messages, KEYS written as <key>."""
    body = LEFTOVER_MESSAGES.sub("", cleaned(response))
    body = re.sub(r"\s*\n\s*", "\n", body)  # without the messages block's blank lines
    # A short key (the personas' rows: 1, 2...) is also an ordinary number in a page (an SVG's
    # "1.5rem"); a body only names a row by key if it shows the row, which leaks() catches.
    return _mask(body, [key for key in keys if len(str(key)) > 3])


def _mask(text: str, keys) -> str:
    """KEYS written as <key> where a page names a key: in a path or between quotes (a short
    key such as 1 is also an ordinary number elsewhere on the page)."""
    for key in {str(k) for k in keys}:
        text = re.sub(rf"(?<=[/“\"']){re.escape(key)}(?=[/”\"'.])", "<key>", text)
    return text


def leaks(response, sent=()) -> list[str]:
    """acme's markers in the body or headers; values the request itself SENT do not count."""
    text = " ".join([cleaned(response), response.get("Location", ""), *queued_messages(response)])
    for value in sorted({str(v) for v in sent if v not in (None, "")}, key=len, reverse=True):
        for written in (value, quote(value, safe=""), quote_plus(value)):  # as sent, in a link
            text = text.replace(written, "")
    return [marker for marker in MARKERS if marker in text]


def queued_messages(response) -> list[str]:
    """The messages this request added (not those left over from earlier ones)."""
    storage = getattr(response.wsgi_request, "_messages", None)
    return [str(m) for m in getattr(storage, "_queued_messages", [])]


def outcome(response, keys=()) -> tuple:
    """What a client learns from RESPONSE, with the keys it asked about masked."""
    return (
        response.status_code,
        _mask(response.get("Location", ""), keys),
        [_mask(m, keys) for m in queued_messages(response)],
        normalized(response, keys),
    )


def difference(a: tuple, b: tuple) -> str:
    """The first differing line of two outcomes' bodies (when status and messages agree)."""
    if a[:3] != b[:3]:
        return ""
    lines = difflib.unified_diff(a[3].splitlines(), b[3].splitlines(), lineterm="", n=0)
    return " | ".join(list(lines)[2:6])


COVERAGE = Counter()  # requests checked, by kind, over the module's run


class Findings:
    """Collects every problem of a sweep, so one run reports them all."""

    def __init__(self):
        self.problems: list[str] = []
        self.checked = Counter()

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)

    def assert_none(self) -> None:
        COVERAGE.update(self.checked)
        shown = "\n".join(self.problems[:40])
        more = f"\n... and {len(self.problems) - 40} more" if len(self.problems) > 40 else ""
        assert not self.problems, f"{len(self.problems)} tenant problems:\n{shown}{more}"


def _request(client, method, url, data=None):
    return client.get(url) if method == "GET" else client.post(url, data or {})
