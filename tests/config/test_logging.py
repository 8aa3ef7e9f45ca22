"""Logs are JSON lines on stdout, and every line of a request carries its request id."""

import io
import json
import logging
import uuid

import pytest


@pytest.fixture
def log_lines():
    """What the configured console handler writes, formatted exactly as in production."""
    handler = next(h for h in logging.getLogger("django").handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


@pytest.mark.django_db
def test_a_request_logs_json_with_its_request_id(client, log_lines):
    request_id = uuid.uuid4().hex

    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=request_id)

    assert response.status_code == 404
    assert response["X-Request-ID"] == request_id
    (line,) = [entry for entry in log_lines() if entry["logger"] == "django.request"]
    assert line["level"] == "WARNING"
    assert line["message"] == "Not Found: /no-such-page/"
    assert line["request_id"] == request_id
    assert {"time", "level", "logger", "message", "request_id"} <= set(line)


@pytest.mark.django_db
def test_a_request_id_that_is_not_a_uuid_is_replaced(client, log_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID='x"\ninjected')

    assert uuid.UUID(response["X-Request-ID"])
    (line,) = [entry for entry in log_lines() if entry["logger"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_without_a_request_id_one_is_made_up(client, log_lines):
    first = client.get("/no-such-page/")["X-Request-ID"]
    second = client.get("/no-such-page/")["X-Request-ID"]

    assert first != second
    assert [e["request_id"] for e in log_lines() if e["logger"] == "django.request"] == [
        first,
        second,
    ]
