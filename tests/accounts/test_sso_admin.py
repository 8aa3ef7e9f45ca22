"""The single sign-on admin: the client secret is write-only, the redirect URI is shown."""

import pytest
from django.urls import reverse

from accounts.models import SingleSignOn

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Acme Okta",
    "slug": "acme-okta",
    "enabled": "on",
    "issuer": "https://acme.okta.example/",
    "client_id": "0oa-client",
    "scopes": "openid profile email",
    "groups_claim": "groups",
    "group_roles": '{"finops-admins": "admin"}',
    "email_domains": '["acme.example"]',
    "domain_role": "viewer",
}


def test_the_secret_is_never_shown_again_and_kept_when_left_empty(admin_client, acme):
    add = reverse("admin:accounts_singlesignon_add")
    created = admin_client.post(
        add, {**FORM, "organization": acme.pk, "client_secret": "top-secret-value"}
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    sso = SingleSignOn.objects.get()
    assert sso.client_secret == "top-secret-value"
    assert sso.issuer == "https://acme.okta.example"  # discovery is appended to it

    change = reverse("admin:accounts_singlesignon_change", args=[sso.pk])
    page = admin_client.get(change).content.decode()
    assert "top-secret-value" not in page
    assert "http://localhost:8000/accounts/sso/callback/" in page  # the URI to register

    admin_client.post(change, {**FORM, "organization": acme.pk, "client_secret": ""})
    sso.refresh_from_db()
    assert sso.client_secret == "top-secret-value"

    admin_client.post(change, {**FORM, "organization": acme.pk, "client_secret": "rotated"})
    sso.refresh_from_db()
    assert sso.client_secret == "rotated"


def test_bad_mappings_are_explained(admin_client, acme):
    page = admin_client.post(
        reverse("admin:accounts_singlesignon_add"),
        {
            **FORM,
            "organization": acme.pk,
            "group_roles": '{"finops": "owner"}',
            "email_domains": '"acme.example"',
        },
    )

    body = page.content.decode()
    assert page.status_code == 200
    assert "Map group names to roles" in body
    assert "List lower-case domains" in body
    assert not SingleSignOn.objects.exists()
