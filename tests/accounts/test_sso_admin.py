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


def test_only_the_organisations_admins_configure_its_provider(client, acme, alice, bob):
    from django.contrib.auth.models import Permission

    from accounts.models import Membership, Role

    for user in (alice, bob):
        user.is_staff = True
        user.save()
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    assert Membership.objects.get(user=bob).role == Role.VIEWER
    sso = SingleSignOn.objects.create(
        organization=acme, slug="acme-okta", name="Okta", issuer="https://o.example", client_id="c"
    )
    change = reverse("admin:accounts_singlesignon_change", args=[sso.pk])

    client.force_login(bob)
    refused = client.post(
        reverse("admin:accounts_singlesignon_add"),
        {**FORM, "slug": "bobs", "organization": acme.pk, "client_secret": "x"},
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    client.post(change, {**FORM, "organization": acme.pk, "issuer": "https://evil.example"})
    sso.refresh_from_db()
    assert sso.issuer == "https://o.example"

    client.force_login(alice)
    client.post(change, {**FORM, "organization": acme.pk, "issuer": "https://new.example"})
    sso.refresh_from_db()
    assert sso.issuer == "https://new.example"
