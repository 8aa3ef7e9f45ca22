"""What a chat channel or webhook is sent: Slack Block Kit, a Teams Adaptive Card, or signed JSON.

render(kind, message, secret) returns the request body and headers for one delivery; the
delivery path (alerts/delivery.py) posts them through alerts/outbound.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime


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

    Baseline placeholder: plain JSON for every kind; the formats work replaces it.
    """
    body = json.dumps({"title": message.title, "lines": message.lines}).encode()
    return body, {"Content-Type": "application/json"}
