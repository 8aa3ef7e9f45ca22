"""Fixtures shared by the cost tests that act on instances in the emulator."""

import pytest

from accounts import aws as aws_module
from accounts.models import Membership


@pytest.fixture
def fresh_credentials():
    aws_module.clear_credential_cache()
    yield
    aws_module.clear_credential_cache()


@pytest.fixture
def olivia(django_user_model, acme):
    """An operator of acme."""
    user = django_user_model.objects.create_user("olivia", email="olivia@example.com")
    Membership.objects.create(user=user, organization=acme, role="operator")
    return user
