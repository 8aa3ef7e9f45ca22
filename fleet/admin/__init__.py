"""The fleet's admin pages (registered on import by Django's autodiscovery)."""

from fleet.admin import inventory, resources  # noqa: F401
