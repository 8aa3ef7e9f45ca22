"""The store every example starts from."""

from __future__ import annotations

import pytest

from costs.ingest.focus import import_billing
from costs.models import BillingImport
from tests.costs.test_focus import SAMPLE


@pytest.fixture
def store(acme):
    """acme with the whole sample imported: the 'before' of every example."""
    assert import_billing(str(SAMPLE), acme).status == BillingImport.Status.SUCCEEDED
    return acme
