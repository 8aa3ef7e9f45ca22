"""What a chat channel or webhook is sent: Slack Block Kit, a Teams Adaptive Card, or signed JSON.

render(kind, message, secret) returns the request body and headers for one delivery; the
delivery path (alerts/delivery.py) posts them through alerts/outbound.py.

Every alert kind renders through the same generic shape (title, lines, figures, link), so a
new kind needs no code here.

- **Slack** (incoming webhook): Block Kit with a `text` fallback for notifications. Slack
  rejects a whole message when one block breaks a limit (50 blocks, 3000 characters of
  section text, 10 fields of 2000, 150 for the header, 3000 for a button URL), so every piece
  is cut to its limit with "…" and what does not fit is counted ("3 more figures") rather
  than sent. Our text goes out as mrkdwn with &, < and > escaped, so a figure or an AWS
  name cannot open a link or mention `<!channel>`.
- **Teams** (Workflows / Power Automate webhook; the Office 365 connector webhooks are
  retired): a message with one Adaptive Card 1.4 attachment. Teams drops cards above about
  28 KB, so the card body is filled up to a byte budget.
- **Webhook**: deterministic JSON (schema `spendlens.alert.v1`, docs/webhooks/) signed
  Stripe-style: `X-Spendlens-Signature: v1=hex(HMAC-SHA256(secret, "<timestamp>." + body))`.
  Signing the timestamp with the body lets receivers refuse replays (verify_signature is the
  reference check). A retry keeps the delivery id, so receivers can drop duplicates, but gets
  a fresh timestamp and signature.

Secrets stay out of bodies and headers: the URLs (which are secrets for Slack and Teams) are
not given to render at all, and the HMAC secret only shapes the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.core.serializers.json import DjangoJSONEncoder

WEBHOOK_SCHEMA = "spendlens.alert.v1"
USER_AGENT = "Spendlens-Webhook/1"
SIGNATURE_VERSION = "v1"
REPLAY_TOLERANCE_SECONDS = 300
BUTTON_TEXT = "Open in Spendlens"
ELLIPSIS = "…"

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
SLACK_MAX_BLOCKS = 50
SLACK_HEADER_CHARS = 150
SLACK_SECTION_CHARS = 3000
SLACK_FIELD_CHARS = 2000
SLACK_FIELDS_PER_SECTION = 10
SLACK_URL_CHARS = 3000
SLACK_CONTEXT_CHARS = 2000
SLACK_FALLBACK_CHARS = 3000
# Lines are prose: past a few sections a chat message stops being read; the link has the rest.
SLACK_MAX_LINE_SECTIONS = 5

# Teams refuses cards above ~28 KB; leave room for the envelope and the action.
TEAMS_BODY_BUDGET_BYTES = 24_000
TEAMS_TEXT_CHARS = 2000
TEAMS_FACT_TITLE_CHARS = 200
TEAMS_FACT_VALUE_CHARS = 1000


@dataclass(frozen=True)
class ChannelMessage:
    delivery_id: int  # unique per delivery: receivers use it to drop a retried duplicate
    organization: str
    kind: str  # an AlertKind value
    kind_label: str
    subject: str
    title: str
    created_at: datetime
    lines: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (label, value shown)
    evidence: dict = field(default_factory=dict)  # machine-readable, for webhooks
    link: str = ""  # absolute URL back to Spendlens, or ""


def render(
    kind: str, message: ChannelMessage, secret: str = "", now: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for a channel of KIND ("slack", "teams" or "webhook").

    SECRET signs webhook deliveries (required there, ignored by chat channels); NOW is the
    signing time (default: the current time).
    """
    if kind == "slack":
        return _json_bytes(slack_payload(message)), {"Content-Type": "application/json"}
    if kind == "teams":
        return _json_bytes(teams_payload(message)), {"Content-Type": "application/json"}
    if kind == "webhook":
        if not secret:
            raise ValueError("A webhook channel needs a signing secret.")
        body = _json_bytes(webhook_payload(message))
        timestamp = str(int(_aware(now or datetime.now(UTC)).timestamp()))
        return body, {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Spendlens-Delivery": str(message.delivery_id),
            "X-Spendlens-Timestamp": timestamp,
            "X-Spendlens-Signature": f"{SIGNATURE_VERSION}={sign(secret, timestamp, body)}",
        }
    raise ValueError(f"Unknown channel kind {kind!r}: expected slack, teams or webhook.")


# --- Generic webhook ---------------------------------------------------------------------


def webhook_payload(message: ChannelMessage) -> dict:
    """The spendlens.alert.v1 document (docs/webhooks/alert-v1.schema.json)."""
    return {
        "schema": WEBHOOK_SCHEMA,
        "id": str(message.delivery_id),
        "kind": message.kind,
        "kind_label": message.kind_label,
        "organization": message.organization,
        "subject": message.subject,
        "title": message.title,
        "lines": list(message.lines),
        "figures": [{"label": label, "value": value} for label, value in message.figures],
        "evidence": _string_keys(message.evidence),
        "link": message.link,
        "created_at": _utc_iso(message.created_at),
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of "<timestamp>." + body under SECRET."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp_header: str,
    signature_header: str,
    now: datetime | None = None,
    tolerance: int = REPLAY_TOLERANCE_SECONDS,
) -> bool:
    """Whether a delivery is authentic and fresh: the reference check for receivers.

    False when the secret is empty, the timestamp is not an integer or is more than TOLERANCE
    seconds away from NOW (either way: a replay, or a clock far off), or when no v1 signature
    in the header (comma-separated, so a second signature can be added during a secret
    rotation) matches.
    """
    # The header exactly as received is what was signed: "0123" or " 123" are not "123".
    if not secret or not re.fullmatch(r"[0-9]{1,12}", timestamp_header or ""):
        return False
    if abs(_aware(now or datetime.now(UTC)).timestamp() - int(timestamp_header)) > tolerance:
        return False
    expected = sign(secret, timestamp_header, body)
    for part in (signature_header or "").split(","):
        version, _, candidate = part.strip().partition("=")
        if version == SIGNATURE_VERSION and hmac.compare_digest(
            expected.encode(),
            candidate.encode(),  # bytes: a non-ASCII str would raise
        ):
            return True
    return False


# --- Slack -------------------------------------------------------------------------------


def slack_payload(message: ChannelMessage) -> dict:
    """Block Kit for a Slack incoming webhook, every block within Slack's limits."""
    header = {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": _cut(message.title.strip(), SLACK_HEADER_CHARS) or "-",
        },
    }
    context = {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": _slack_text(
                    f"{message.organization} · {message.kind_label}", SLACK_CONTEXT_CHARS
                ),
            }
        ],
    }
    actions = []
    # A cut URL would lead nowhere: past Slack's limit the button is left out instead.
    if message.link and len(message.link) <= SLACK_URL_CHARS:
        actions.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": BUTTON_TEXT},
                        "url": message.link,
                        "action_id": "open_in_spendlens",
                    }
                ],
            }
        )
    room = SLACK_MAX_BLOCKS - 2 - len(actions)
    line_sections = _slack_line_sections(message.lines, min(SLACK_MAX_LINE_SECTIONS, room))
    figure_sections = _slack_figure_sections(message.figures, room - len(line_sections))
    fallback = (
        message.title if not message.organization else f"{message.title} ({message.organization})"
    )
    return {
        "text": _slack_text(fallback, SLACK_FALLBACK_CHARS),
        "blocks": [header, *line_sections, *figure_sections, context, *actions],
    }


def _slack_line_sections(lines: list[str], max_sections: int) -> list[dict]:
    """Lines packed into as few mrkdwn sections as fit, a line never split across two."""
    if max_sections <= 0:
        return []
    texts: list[str] = []
    current = ""
    for index, line in enumerate(lines):
        piece = _slack_text(line, SLACK_SECTION_CHARS)
        if current and len(current) + 1 + len(piece) <= SLACK_SECTION_CHARS:
            current = f"{current}\n{piece}"
            continue
        if current:
            texts.append(current)
        current = piece
        if len(texts) == max_sections:
            # No room for this line or the ones after: say so at the end of the last section.
            current = ""
            left = len(lines) - index
            note = f"\n_{left} more line{'s' if left != 1 else ''} in Spendlens_"
            texts[-1] = _cut(texts[-1], SLACK_SECTION_CHARS - len(note), escaped=True) + note
            break
    if current and len(texts) < max_sections:
        texts.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}} for text in texts]


def _slack_figure_sections(figures: list[tuple[str, str]], max_sections: int) -> list[dict]:
    """Figures as section fields, 10 to a section; the last field counts what did not fit."""
    if max_sections <= 0 or not figures:
        return []
    fields = [{"type": "mrkdwn", "text": _slack_field(label, value)} for label, value in figures]
    capacity = max_sections * SLACK_FIELDS_PER_SECTION
    if len(fields) > capacity:
        left = len(fields) - (capacity - 1)
        note = {"type": "mrkdwn", "text": f"_{left} more figures in Spendlens_"}
        fields = [*fields[: capacity - 1], note]
    return [
        {"type": "section", "fields": fields[start : start + SLACK_FIELDS_PER_SECTION]}
        for start in range(0, len(fields), SLACK_FIELDS_PER_SECTION)
    ]


def _slack_field(label: str, value: str) -> str:
    label_text = _slack_text(label, SLACK_FIELD_CHARS // 4)
    # The value gets what the label leaves; "*", "*" and "\n" take 3 characters.
    value_text = _slack_text(value, SLACK_FIELD_CHARS - len(label_text) - 3)
    return f"*{label_text}*\n{value_text}"


def _slack_text(text: str, limit: int) -> str:
    """TEXT escaped for Slack mrkdwn (&, <, > only, as Slack asks), at most LIMIT characters."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _cut(escaped, limit, escaped=True)


# --- Teams -------------------------------------------------------------------------------


def teams_payload(message: ChannelMessage) -> dict:
    """A Workflows webhook message carrying one Adaptive Card (1.4, what Teams renders)."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": _cut(message.title, TEAMS_TEXT_CHARS),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": _cut(f"{message.organization} · {message.kind_label}", TEAMS_TEXT_CHARS),
            "isSubtle": True,
            "spacing": "None",
            "wrap": True,
        },
    ]
    budget = TEAMS_BODY_BUDGET_BYTES - sum(_size(item) for item in body)
    line_blocks = [
        {"type": "TextBlock", "text": _cut(line, TEAMS_TEXT_CHARS), "wrap": True}
        for line in message.lines
    ]
    facts = [
        {
            "title": _cut(label, TEAMS_FACT_TITLE_CHARS),
            "value": _cut(value, TEAMS_FACT_VALUE_CHARS),
        }
        for label, value in message.figures
    ]
    # The figures are what an alert is about: they get up to half the room before long
    # prose can crowd them out, and the lines get whatever the figures leave.
    fact_budget = budget // 2 - _size({"type": "FactSet", "facts": []})
    kept_facts, fact_left = _within(facts, fact_budget)
    kept_lines, _ = _within(line_blocks, budget - (budget // 2 - fact_left))
    body.extend(kept_lines)
    if kept_facts:
        body.append({"type": "FactSet", "facts": kept_facts})
    left_out = len(line_blocks) - len(kept_lines) + len(facts) - len(kept_facts)
    if left_out:
        body.append(
            {"type": "TextBlock", "text": f"{left_out} more in Spendlens", "isSubtle": True}
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "fallbackText": _cut(message.title, TEAMS_TEXT_CHARS),
        "msteams": {"width": "Full"},
        "body": body,
    }
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": BUTTON_TEXT, "url": message.link}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _within(items: list[dict], budget: int) -> tuple[list[dict], int]:
    """The leading ITEMS whose serialised size fits BUDGET bytes, and the budget left."""
    kept = []
    for item in items:
        size = _size(item) + 1  # the comma between items
        if size > budget:
            break
        kept.append(item)
        budget -= size
    return kept, budget


def _size(item: dict) -> int:
    return len(_json_bytes(item))


# --- Shared ------------------------------------------------------------------------------


class _Encoder(DjangoJSONEncoder):
    """Decimals, dates, UUIDs as DjangoJSONEncoder writes them; sets as sorted lists.

    Anything else becomes its str(): evidence is informative, and one odd value must not
    make a delivery fail on every retry.
    """

    def default(self, o):
        if isinstance(o, set | frozenset):
            return sorted(o, key=str)
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _string_keys(value):
    """VALUE with every mapping key a string: JSON allows no other, and sort_keys cannot
    order mixed key types (a dict keyed by dates, or by ints and strings)."""
    if isinstance(value, dict):
        return {_key(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_string_keys(item) for item in value]
    return value


def _key(key) -> str:
    if isinstance(key, date):  # datetime too
        return key.isoformat()
    return key if isinstance(key, str) else str(key)


def _json_bytes(document: dict) -> bytes:
    """Deterministic UTF-8 JSON: the same message always gives the same bytes (and signature)."""
    return json.dumps(
        document, cls=_Encoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def _aware(moment: datetime) -> datetime:
    """MOMENT with a zone: a naive datetime is taken as UTC (what Django stores), not as the
    server's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z."""
    return _aware(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cut(text: str, limit: int, escaped: bool = False) -> str:
    """TEXT in at most LIMIT characters, ending in "…" when cut.

    With ESCAPED, a cut never splits an HTML entity (&amp; &lt; &gt;) Slack would show raw.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    if escaped:
        ampersand = cut.rfind("&", max(len(cut) - 4, 0))
        if ampersand != -1 and ";" not in cut[ampersand:]:
            cut = cut[:ampersand]
    return cut + ELLIPSIS
