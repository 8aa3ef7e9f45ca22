"""The importer's one failure, and keeping what it reports storable."""

from __future__ import annotations

from costs.models import BillingImport


class ImportFailed(Exception):
    """The import could not run to the end; nothing in the cost store was changed."""

    def __init__(self, message: str, billing_import: BillingImport | None = None):
        message = _one_line(message)
        super().__init__(message)
        self.message = message
        self.billing_import = billing_import


ERROR_CHARS = 1000


def _one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """TEXT as one bounded line: errors may quote a file's row (pyarrow's parse errors do),
    which can hold line breaks, megabytes, or NULs that PostgreSQL text columns refuse."""
    text = " ".join(storable(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def storable(text: str) -> str:
    # PostgreSQL's text and jsonb cannot hold NUL; show it rather than fail on it.
    return text.replace("\x00", "\\x00")
