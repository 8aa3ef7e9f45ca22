"""What every API endpoint shares: one error shape, pagination with a ceiling, the URL map."""

from __future__ import annotations

import csv
import io
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, renderers, serializers
from rest_framework.views import exception_handler as drf_exception_handler

MAX_PAGE_SIZE = 500


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return size


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return "invalid" if isinstance(exc, exceptions.ValidationError) else exc.default_code


def exception_handler(exc, context):
    """Every error as {"error": {"status", "code", "message", "fields"?}}."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    error = {"status": response.status_code, "code": _code(exc)}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        error["message"] = "Some parameters are invalid."
        error["fields"] = detail
    else:
        error["message"] = str(exc.detail) if hasattr(exc, "detail") else str(exc)
    response.data = {"error": error}
    return response


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's SlugRelatedField, but a NUL character is a 400: PostgreSQL cannot even compare one
    (DataError, a 500), and CharField's own ProhibitNullCharactersValidator does not apply here."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            raise serializers.ValidationError("Null characters are not allowed.")
        return super().to_internal_value(data)


class CSVRenderer(renderers.BaseRenderer):
    """A summary as CSV (?format=csv): a header row, then one row per group. Anything else
    (an error) as a one-row table of its fields, so a CSV client always gets CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if isinstance(data, dict) and isinstance(data.get("groups"), list):
            columns = ["amount", "previous_amount", "change_percent"]
            writer.writerow([data.get("group_by") or "group", *columns])
            for group in data["groups"]:
                row = [group.get("key"), *(group.get(c) for c in columns)]
                writer.writerow([_cell(v) for v in row])
        elif isinstance(data, dict):
            flat = data.get("error") if isinstance(data.get("error"), dict) else data
            writer.writerow(list(flat))
            writer.writerow([_cell(v) for v in flat.values()])
        return out.getvalue().encode(self.charset)


def _cell(value) -> str:
    """A CSV cell; text a spreadsheet would run as a formula (tag values are anyone's input)
    is quoted with a leading apostrophe."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text
