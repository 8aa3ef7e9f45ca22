"""Headless Chromium driven by Playwright against a live Django server and the emulator.

Debian's Chromium is used (Playwright's own browser download needs the internet). Without it
the browser tests skip with a message saying how to get it; `.ci/run` installs it, so CI never
skips them.
"""

import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts import aws as aws_module

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / ".artifacts" / "screenshots"))
PASSWORD = "browser-Test-pw-1"  # a throwaway test user
# The flags Chromium needs on a closed network, as root, without a GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    path = _chromium()
    if path is None:
        message = (
            "Browser tests need Chromium: apt-get install chromium (or set CHROMIUM_PATH). "
            ".ci/run installs it."
        )
        if os.environ.get("SPENDLENS_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM calls made by the
    # tests themselves (not the server thread) would otherwise be refused as "async".
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    yield page
    context.close()
    # A script error (a CSP refusal, a broken chart) fails the test that caused it.
    assert errors == []


@pytest.fixture
def demo_site(aws, transactional_db, settings, live_server):
    """The demo organisation seeded in the emulator and run through the whole pipeline."""
    # Plain-HTTP live server: cookies cannot be Secure-only here.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    aws_module.clear_credential_cache()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    # olga operates the demo organisation from the dashboard; ada runs the admin.
    call_command(
        "add_member", "--org", "demo", "--username", "olga", "--role", "operator",
        "--password", PASSWORD, stdout=out,
    )  # fmt: skip
    call_command("ensure_superuser", "--username", "ada", "--password", PASSWORD, stdout=out)
    call_command("add_member", "--org", "demo", "--username", "ada", "--role", "admin", stdout=out)
    call_command("refresh", stdout=out, verbosity=0)
    # As make demo does: the alert checks record the spike the charts mark.
    call_command("send_alerts", stdout=out)
    yield
    aws_module.clear_credential_cache()


def log_in(page, username: str, next_url: str = "/"):
    page.goto(f"/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
