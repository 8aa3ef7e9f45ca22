"""The commitments' admin pages (registered on import by Django's autodiscovery)."""

from commitments.admin import pages  # noqa: F401
