"""Allocation's admin pages: dimensions with their rules and splits (and, from a dimension, the
cost by its values, tag coverage and re-allocating history), the rollups, the re-allocations
and who follows which value."""

from allocation.admin import dimensions, records  # noqa: F401
