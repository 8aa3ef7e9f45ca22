"""Channel formats: Slack Block Kit within its limits, the Teams card, the signed webhook body."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from alerts import outbound
from alerts.channel_messages import ChannelMessage, render, verify_signature
from alerts.models import AlertKind

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs/webhooks/alert-v1.schema.json").read_text())
SECRET = "whsec-4f1e0c3b9a7d"
NOW = datetime(2026, 12, 7, 9, 30, 12, tzinfo=UTC)
LINK = "https://spendlens.example.com/dashboard/budgets/12/"


def message(**changes) -> ChannelMessage:
    values = {
        "delivery_id": 4821,
        "organization": "Acme",
        "kind": "budget",
        "kind_label": "Budget threshold crossed",
        "subject": "budget:12:2026-12:80:actual",
        "title": "Acme: 80 % of the monthly budget spent",
        "created_at": NOW,
        "lines": ["Actual spend reached $8,012.40 of $10,000.00.", "Forecast: $11,200.00."],
        "figures": [("Spent", "$8,012.40"), ("Budget", "$10,000.00")],
        "evidence": {"amount": Decimal("10000.00"), "month": date(2026, 12, 1)},
        "link": LINK,
    }
    values.update(changes)
    return ChannelMessage(**values)


def slack(msg: ChannelMessage) -> dict:
    body, headers = render("slack", msg)
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def teams(msg: ChannelMessage) -> tuple[dict, bytes]:
    body, headers = render("teams", msg)
    assert headers["Content-Type"] == "application/json"
    return json.loads(body), body


def webhook(msg: ChannelMessage, now: datetime = NOW) -> tuple[bytes, dict]:
    return render("webhook", msg, secret=SECRET, now=now)


def schema_errors(document: dict) -> list[str]:
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(document)]


# --- Slack -----------------------------------------------------------------------------------

ENTITY_SAFE = re.compile(r"&(?!amp;|lt;|gt;)")


def slack_texts(payload: dict) -> list[str]:
    """Every mrkdwn string in the payload (where Slack would parse <...> and &...)."""
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            if "text" in block:
                texts.append(block["text"]["text"])
            texts.extend(item["text"] for item in block.get("fields", []))
        if block["type"] == "context":
            texts.extend(item["text"] for item in block["elements"])
    return texts


def assert_within_slack_limits(payload: dict) -> None:
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 1 <= len(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 1 <= len(block["text"]["text"]) <= 3000
            if "fields" in block:
                assert 1 <= len(block["fields"]) <= 10
                assert all(1 <= len(item["text"]) <= 2000 for item in block["fields"])
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(len(item["text"]) <= 3000 for item in block["elements"])
        elif block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["url"]) <= 3000
                assert len(element["text"]["text"]) <= 75
        else:
            pytest.fail(f"unexpected block {block['type']}")
    for text in slack_texts(payload):
        assert not ENTITY_SAFE.search(text), "a raw & or a cut entity reaches Slack"
        assert "<" not in text and ">" not in text


def test_slack_message_has_the_title_lines_figures_context_and_button():
    payload = slack(message())

    assert [block["type"] for block in payload["blocks"]] == [
        "header",
        "section",
        "section",
        "context",
        "actions",
    ]
    header, lines, figures, context, actions = payload["blocks"]
    assert header["text"]["text"] == "Acme: 80 % of the monthly budget spent"
    assert lines["text"] == {
        "type": "mrkdwn",
        "text": "Actual spend reached $8,012.40 of $10,000.00.\nForecast: $11,200.00.",
    }
    assert [field["text"] for field in figures["fields"]] == [
        "*Spent*\n$8,012.40",
        "*Budget*\n$10,000.00",
    ]
    assert context["elements"][0]["text"] == "Acme · Budget threshold crossed"
    button = actions["elements"][0]
    assert button["text"]["text"] == "Open in Spendlens"
    assert button["url"] == LINK
    assert payload["text"] == "Acme: 80 % of the monthly budget spent (Acme)"
    assert_within_slack_limits(payload)


def test_slack_escapes_ampersand_and_angle_brackets_everywhere_it_parses_mrkdwn():
    payload = slack(
        message(
            organization="R&D <ops>",
            kind_label="Cost <spike>",
            title="<!channel> EC2 & RDS",
            lines=["Look at <https://evil.example|this> & <@U123>"],
            figures=[("<b>Label</b>", "a & b > c")],
        )
    )

    texts = slack_texts(payload)
    assert payload["text"] == "&lt;!channel&gt; EC2 &amp; RDS (R&amp;D &lt;ops&gt;)"
    assert "Look at &lt;https://evil.example|this&gt; &amp; &lt;@U123&gt;" in texts
    assert "*&lt;b&gt;Label&lt;/b&gt;*\na &amp; b &gt; c" in texts
    assert "R&amp;D &lt;ops&gt; · Cost &lt;spike&gt;" in texts
    # The header is plain_text: Slack shows it literally, so it is not escaped.
    assert payload["blocks"][0]["text"]["text"] == "<!channel> EC2 & RDS"
    assert_within_slack_limits(payload)


def test_slack_huge_input_stays_within_block_kit_limits_and_keeps_all_60_figures():
    figures = [(f"Account {n} " + "x" * 700, "$" + "9" * 2500) for n in range(60)]
    payload = slack(
        message(
            title="T" * 400,
            lines=["word " * 2048, *("&<>" * 400 for _ in range(10))],
            figures=figures,
        )
    )

    assert_within_slack_limits(payload)
    assert payload["blocks"][0]["text"]["text"] == "T" * 149 + "…"
    sections = [b for b in payload["blocks"] if b["type"] == "section" and "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10] * 6
    fields = [item["text"] for s in sections for item in s["fields"]]
    assert all(text.startswith(f"*Account {n} ") for n, text in enumerate(fields))
    assert all(text.endswith("…") for text in fields)
    line_texts = [
        b["text"]["text"] for b in payload["blocks"] if "text" in b and b["type"] == "section"
    ]
    assert line_texts[0].startswith("word word") and line_texts[0].endswith("…")
    # Escaped, 1200 characters of &<> become 5200: cut at 3000 without splitting an entity.
    assert len(line_texts) == 5
    assert all(text.endswith(";…") for text in line_texts[1:4])
    # Lines 5 to 10 do not fit in 5 sections: the last one says so.
    assert line_texts[4].endswith(";…\n_6 more lines in Spendlens_")
    assert len(payload["blocks"]) == 1 + 5 + 6 + 2  # header, lines, figures, context, button


def test_slack_never_exceeds_50_blocks_and_counts_figures_left_out():
    payload = slack(message(figures=[(f"F{n}", f"${n}") for n in range(1000)], lines=["one"]))

    assert_within_slack_limits(payload)
    assert len(payload["blocks"]) == 50
    fields = [item["text"] for b in payload["blocks"] for item in b.get("fields", [])]
    shown = len(fields) - 1
    assert fields[-1] == f"_{1000 - shown} more figures in Spendlens_"
    assert fields[:-1] == [f"*F{n}*\n${n}" for n in range(shown)]


def test_slack_many_short_lines_are_packed_without_splitting_a_line():
    lines = [f"Line {n}: " + "y" * 90 for n in range(100)]
    payload = slack(message(lines=lines, figures=[]))

    assert_within_slack_limits(payload)
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(texts) == 4
    joined = "\n".join(texts).split("\n")
    assert joined == lines  # every line, whole and in order, over 4 sections


def test_slack_leaves_out_the_button_without_a_link_or_with_one_slack_would_refuse():
    no_link = slack(message(link=""))
    too_long = slack(message(link="https://spendlens.example.com/?q=" + "a" * 3000))

    assert "actions" not in [b["type"] for b in no_link["blocks"]]
    assert "actions" not in [b["type"] for b in too_long["blocks"]]
    assert_within_slack_limits(too_long)


# --- Teams -----------------------------------------------------------------------------------


def test_teams_workflow_message_carries_one_adaptive_card():
    payload, _ = teams(message())

    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, context, *lines, facts = card["body"]
    assert title == {
        "type": "TextBlock",
        "text": "Acme: 80 % of the monthly budget spent",
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
    }
    assert context["text"] == "Acme · Budget threshold crossed"
    assert [(b["type"], b["text"], b["wrap"]) for b in lines] == [
        ("TextBlock", "Actual spend reached $8,012.40 of $10,000.00.", True),
        ("TextBlock", "Forecast: $11,200.00.", True),
    ]
    assert facts == {
        "type": "FactSet",
        "facts": [
            {"title": "Spent", "value": "$8,012.40"},
            {"title": "Budget", "value": "$10,000.00"},
        ],
    }
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in Spendlens", "url": LINK}
    ]


def test_teams_card_without_link_has_no_action_and_without_figures_no_factset():
    payload, _ = teams(message(link="", figures=[]))
    card = payload["attachments"][0]["content"]

    assert "actions" not in card
    assert "FactSet" not in [block["type"] for block in card["body"]]


def test_teams_huge_input_stays_under_the_28_kb_card_limit_and_counts_what_is_left_out():
    lines = ["z" * 10_000, *(f"line {n} " + "w" * 200 for n in range(80))]
    figures = [(f"Figure {n}", "$" + "1" * 300) for n in range(60)]
    payload, body = teams(message(lines=lines, figures=figures))

    assert len(body) < 28 * 1024
    card_body = payload["attachments"][0]["content"]["body"]
    texts = [b for b in card_body if b["type"] == "TextBlock"][2:]
    assert texts[0]["text"] == "z" * 1999 + "…"
    shown_lines = len(texts) - 1
    shown_facts = sum(len(b["facts"]) for b in card_body if b["type"] == "FactSet")
    left = len(lines) + len(figures) - shown_lines - shown_facts
    assert shown_facts > 0 and shown_lines > 0  # neither crowds the other out
    assert left > 0
    assert texts[-1]["text"] == f"{left} more in Spendlens"


def test_teams_keeps_every_figure_and_line_of_an_ordinary_big_alert():
    lines = [f"Line {n} " + "w" * 100 for n in range(40)]
    figures = [(f"Figure {n}", f"${n},000.00") for n in range(60)]
    payload, _ = teams(message(lines=lines, figures=figures))

    card_body = payload["attachments"][0]["content"]["body"]
    assert [b["text"] for b in card_body[2:-1]] == lines
    assert card_body[-1]["facts"] == [{"title": t, "value": v} for t, v in figures]


# --- Webhook ---------------------------------------------------------------------------------


def test_webhook_body_follows_the_v1_schema_and_has_exactly_its_fields():
    body, _ = webhook(message())
    document = json.loads(body)

    assert schema_errors(document) == []
    assert set(document) == set(SCHEMA["properties"])
    assert document == {
        "schema": "spendlens.alert.v1",
        "id": "4821",
        "kind": "budget",
        "kind_label": "Budget threshold crossed",
        "organization": "Acme",
        "subject": "budget:12:2026-12:80:actual",
        "title": "Acme: 80 % of the monthly budget spent",
        "lines": ["Actual spend reached $8,012.40 of $10,000.00.", "Forecast: $11,200.00."],
        "figures": [
            {"label": "Spent", "value": "$8,012.40"},
            {"label": "Budget", "value": "$10,000.00"},
        ],
        "evidence": {"amount": "10000.00", "month": "2026-12-01"},
        "link": LINK,
        "created_at": "2026-12-07T09:30:12Z",
    }


def test_the_schema_rejects_what_a_receiver_could_not_rely_on():
    good = json.loads(webhook(message())[0])

    assert schema_errors({**good, "schema": "spendlens.alert.v2"})
    assert schema_errors({**good, "created_at": "2026-12-07T09:30:12+01:00"})
    assert schema_errors({**good, "link": "javascript:alert(1)"})
    assert schema_errors({**good, "figures": [{"label": "Spent"}]})
    assert schema_errors({key: value for key, value in good.items() if key != "subject"})
    assert schema_errors({**good, "link": ""}) == []


def test_webhook_body_is_deterministic_and_serialises_decimals_dates_and_odd_keys():
    evidence = {
        "z": Decimal("161.81"),
        "a": [date(2026, 12, 1), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)],
        "rates": {date(2026, 11, 30): Decimal("12.5"), 3: "x"},
        "ids": {"i-2", "i-1"},
        "run": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }
    first, _ = webhook(message(evidence=evidence))
    second, _ = webhook(message(evidence=dict(reversed(evidence.items()))))

    assert first == second
    assert b'"evidence":{"a":["2026-12-01","2026-12-01T08:00:00Z"],"ids":["i-1","i-2"]' in first
    document = json.loads(first)
    assert document["evidence"]["rates"] == {"2026-11-30": "12.5", "3": "x"}
    assert document["evidence"]["z"] == "161.81"
    assert document["evidence"]["run"] == "12345678-1234-5678-1234-567812345678"
    assert schema_errors(document) == []


def test_created_at_is_utc_whatever_zone_the_alert_carries():
    paris = timezone(timedelta(hours=1))
    body, _ = webhook(message(created_at=datetime(2026, 12, 7, 10, 30, 12, 250000, tzinfo=paris)))

    document = json.loads(body)
    assert document["created_at"] == "2026-12-07T09:30:12.250000Z"
    assert schema_errors(document) == []


def test_webhook_headers_identify_time_and_sign_the_delivery():
    body, headers = webhook(message())

    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "Spendlens-Webhook/1",
        "X-Spendlens-Delivery": "4821",
        "X-Spendlens-Timestamp": str(int(NOW.timestamp())),
        "X-Spendlens-Signature": headers["X-Spendlens-Signature"],
    }
    assert re.fullmatch(r"v1=[0-9a-f]{64}", headers["X-Spendlens-Signature"])
    assert verify_signature(
        SECRET,
        body,
        headers["X-Spendlens-Timestamp"],
        headers["X-Spendlens-Signature"],
        now=NOW,
    )


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b, t, s: (SECRET, b.replace(b"8,012", b"1,012"), t, s), id="body"),
        pytest.param(lambda b, t, s: (SECRET, b + b" ", t, s), id="trailing-space"),
        pytest.param(lambda b, t, s: ("whsec-other", b, t, s), id="wrong-secret"),
        pytest.param(lambda b, t, s: (SECRET, b, str(int(t) + 1), s), id="timestamp-changed"),
        pytest.param(lambda b, t, s: (SECRET, b, t, "v0=" + s[3:]), id="unknown-version"),
        pytest.param(lambda b, t, s: (SECRET, b, t, ""), id="no-signature"),
        pytest.param(lambda b, t, s: (SECRET, b, "soon", s), id="timestamp-not-a-number"),
        pytest.param(lambda b, t, s: (SECRET, b, t, s[:-1]), id="signature-cut"),
        pytest.param(lambda b, t, s: (SECRET, b, t, s[:-1] + "é"), id="non-ascii"),
        pytest.param(lambda b, t, s: (SECRET, b, "0" + t, s), id="timestamp-rewritten"),
        pytest.param(lambda b, t, s: (SECRET, b, f" {t}", s), id="timestamp-padded"),
        pytest.param(lambda b, t, s: ("", b, t, s), id="empty-secret"),
    ],
)
def test_signature_fails_when_anything_signed_is_altered(tamper):
    body, headers = webhook(message())
    args = tamper(body, headers["X-Spendlens-Timestamp"], headers["X-Spendlens-Signature"])

    assert not verify_signature(*args, now=NOW)


def test_signature_is_refused_outside_the_five_minute_window():
    body, headers = webhook(message())
    check = (SECRET, body, headers["X-Spendlens-Timestamp"], headers["X-Spendlens-Signature"])

    assert verify_signature(*check, now=NOW + timedelta(seconds=300))
    assert not verify_signature(*check, now=NOW + timedelta(seconds=301))  # replayed later
    assert not verify_signature(*check, now=NOW - timedelta(seconds=301))  # from the future
    assert verify_signature(*check, now=NOW + timedelta(seconds=600), tolerance=600)


@pytest.fixture
def server_in_tokyo(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_times_are_utc_not_the_servers_local_time(server_in_tokyo):
    naive = NOW.replace(tzinfo=None)
    body, headers = render("webhook", message(created_at=naive), secret=SECRET, now=naive)
    check = (SECRET, body, headers["X-Spendlens-Timestamp"], headers["X-Spendlens-Signature"])

    assert headers["X-Spendlens-Timestamp"] == str(int(NOW.timestamp()))
    assert json.loads(body)["created_at"] == "2026-12-07T09:30:12Z"
    assert verify_signature(*check, now=naive + timedelta(seconds=299))
    assert not verify_signature(*check, now=naive + timedelta(seconds=301))


def test_signature_list_is_accepted_when_any_v1_matches():
    body, headers = webhook(message())
    signature = headers["X-Spendlens-Signature"]

    both = f"v1={'0' * 64}, {signature}"
    assert verify_signature(SECRET, body, headers["X-Spendlens-Timestamp"], both, now=NOW)


def test_a_retry_keeps_the_id_with_a_fresh_timestamp_and_signature():
    body, first = webhook(message(), now=NOW)
    again, second = webhook(message(), now=NOW + timedelta(minutes=10))

    assert again == body
    assert first["X-Spendlens-Delivery"] == second["X-Spendlens-Delivery"] == "4821"
    assert first["X-Spendlens-Signature"] != second["X-Spendlens-Signature"]
    stamp, signature = second["X-Spendlens-Timestamp"], second["X-Spendlens-Signature"]
    later = NOW + timedelta(minutes=10)
    assert verify_signature(SECRET, body, stamp, signature, now=later)


def test_the_documented_receiver_example_verifies_a_delivery():
    readme = (ROOT / "docs/webhooks/README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert len([line for line in example.splitlines() if line.strip()]) <= 10
    namespace: dict = {}
    exec(example, namespace)  # noqa: S102 - our own documentation
    body, headers = render("webhook", message(), secret=SECRET)  # signed now, as in real life
    stamp, signature = headers["X-Spendlens-Timestamp"], headers["X-Spendlens-Signature"]

    assert namespace["verify"](SECRET, body, stamp, signature)
    assert not namespace["verify"]("whsec-other", body, stamp, signature)
    assert not namespace["verify"](SECRET, body, str(int(stamp) - 301), signature)


def test_a_signed_delivery_survives_the_trip_to_a_real_receiver(https_receiver):
    body, headers = render("webhook", message(), secret=SECRET)

    reply = outbound.post(https_receiver.url("/hooks/spendlens"), body, headers)

    assert reply.ok
    ((path, received_headers, received_body),) = https_receiver.requests
    assert path == "/hooks/spendlens"
    assert received_body == body
    assert verify_signature(
        SECRET,
        received_body,
        received_headers["X-Spendlens-Timestamp"],
        received_headers["X-Spendlens-Signature"],
    )
    assert received_headers["X-Spendlens-Delivery"] == "4821"
    assert received_headers["User-Agent"] == "Spendlens-Webhook/1"


def test_the_secret_is_nowhere_but_in_the_signature():
    for kind in ("slack", "teams", "webhook"):
        body, headers = render(kind, message(), secret=SECRET, now=NOW)
        assert SECRET.encode() not in body
        assert all(SECRET not in value for value in headers.values())


def test_webhook_without_a_secret_and_unknown_kinds_are_clear_errors():
    with pytest.raises(ValueError, match="needs a signing secret"):
        render("webhook", message())
    with pytest.raises(ValueError, match="Unknown channel kind 'discord'"):
        render("discord", message(), secret=SECRET)


# --- Every kind ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [*AlertKind.values, "weekly_report"])
def test_every_alert_kind_renders_on_every_channel(kind):
    label = dict(AlertKind.choices).get(kind, "Weekly report")
    msg = message(
        kind=kind,
        kind_label=label,
        title=f"Acme: {label}",
        lines=["Summary line one.", "Summary line two."],
        figures=[("This week", "$1,204.50"), ("Last week", "$1,100.00")],
    )

    document = json.loads(webhook(msg)[0])
    assert schema_errors(document) == []
    assert (document["kind"], document["kind_label"]) == (kind, label)

    payload = slack(msg)
    assert_within_slack_limits(payload)
    assert payload["blocks"][0]["text"]["text"] == f"Acme: {label}"
    assert f"Acme · {label}" in slack_texts(payload)

    card = teams(msg)[0]["attachments"][0]["content"]
    assert card["body"][0]["text"] == f"Acme: {label}"
    assert card["body"][-1]["facts"][0] == {"title": "This week", "value": "$1,204.50"}


def test_slack_header_is_never_blank():
    assert slack(message(title="   "))["blocks"][0]["text"]["text"] == "-"
    assert slack(message(title="  Spike  "))["blocks"][0]["text"]["text"] == "Spike"
