"""Swagger UI under the strict Content-Security-Policy: served from our static files, no inline
script, and it really renders the schema (a CSP refusal would fail the page fixture)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_render_under_the_csp(page, django_user_model, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    django_user_model.objects.create_user("dora", password=PASSWORD)
    log_in(page, "dora", next_url="/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Spendlens")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    assert page.locator(".opblock").count() >= 20  # the operations of /api/v1/
