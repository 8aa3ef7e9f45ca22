"""/metrics under real gunicorn with several workers: every scrape sums all workers' counts."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "multiprocess-test-token"  # a test value
REQUESTS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict | None = None) -> bytes:
    headers = {"Connection": "close", **(headers or {})}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a local http URL)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as error:  # the API root answers 401 without a token
        if error.code >= 500:
            raise
        return error.read()


def api_root_count(body: bytes) -> float:
    total = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if (
                sample.name == "django_http_requests_total_by_view_transport_method_total"
                and sample.labels.get("view") == "api:api-root"
            ):
                total += sample.value
    return total


@pytest.fixture
def gunicorn(tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DEBUG": "0",
        "SECRET_KEY": "multiprocess-test-secret-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "3",
        "GUNICORN_THREADS": "1",
    }
    migrate = [sys.executable, "manage.py", "migrate", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)  # noqa: S603
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            get(f"{url}/health")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("gunicorn did not start")
            time.sleep(0.2)  # polling for the port to open, not waiting out a race
    yield url, metrics_dir
    server.terminate()
    server.wait(timeout=30)


def test_every_scrape_counts_the_requests_of_all_workers(gunicorn):
    url, metrics_dir = gunicorn

    for _ in range(REQUESTS):
        get(f"{url}/api/v1/")
    scrapes = [
        api_root_count(get(f"{url}/metrics", {"Authorization": f"Bearer {TOKEN}"}))
        for _ in range(6)
    ]

    writers = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(writers) >= 2, "the requests should have reached more than one worker"
    assert scrapes == [REQUESTS] * 6
