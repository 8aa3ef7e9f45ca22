"""Shared fixtures: the local AWS emulator and the personas used across the suite."""

import pytest
import requests
from django.conf import settings as django_settings
from moto.server import ThreadedMotoServer


def pytest_configure(config):
    # Tests render templates without running collectstatic first.
    django_settings.STORAGES = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def moto_server():
    """A real moto server on 127.0.0.1 (random port), shared by the whole run."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server, settings, monkeypatch):
    """Point every boto3 client at a freshly reset emulator for this test."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    settings.AWS_ENDPOINT_URL = moto_server
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server
