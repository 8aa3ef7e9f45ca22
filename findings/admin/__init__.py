"""The findings' admin pages, and the open findings on the fleet's Instances page."""

from findings.admin import accounts, instances, recommendations  # noqa: F401
