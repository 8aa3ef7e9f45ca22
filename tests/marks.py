"""Marks shared by the test modules."""

import pytest
from django.db import connection


def postgresql_only(why: str):
    """Skip on SQLite (the demo's database) what needs PostgreSQL; WHY says what it needs.

    CI runs the whole suite on both databases, so these tests run there.
    """
    return pytest.mark.skipif(connection.vendor != "postgresql", reason=f"PostgreSQL only: {why}")
