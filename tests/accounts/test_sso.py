"""Single sign-on end to end, against a real OpenID Connect provider on a local port.

The provider is oidc-provider-mock from PyPI (tests/accounts/sso_provider.py). Each sign-in
goes the whole way: the login page's work e-mail form posts to our lookup, which redirects to
the provider's authorization endpoint; `requests` submits the provider's form as a subject
whose claims the test set; the provider redirects back to our callback, which the Django test
client follows; our server then calls the provider's token endpoint, JWKS and userinfo over
HTTP.

Bad ID tokens (wrong audience, expired, unsigned, signed by a key the provider does not
publish) come from the same provider, through the same token endpoint: its `tamper` switch
rewrites the token it issues (see sso_provider.py for how and why).
"""

from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Role, SingleSignOn
from tests.accounts.sso_provider import running_provider

pytestmark = pytest.mark.django_db

CLIENT_ID = "spendlens-test"


@pytest.fixture(scope="module")
def idp():
    with running_provider() as provider:
        yield provider


@pytest.fixture
def provider(idp):
    idp.tamper = None
    yield idp
    idp.tamper = None


@pytest.fixture
def sso(acme, provider):
    return SingleSignOn.objects.create(
        organization=acme,
        slug="acme-idp",
        name="Acme Login",
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret="s3cret",
        group_roles={"finops-admins": "admin", "finops": "operator"},
        email_domains=["acme.example"],
        domain_role=Role.VIEWER,
    )


def start(client, sso, email="someone@acme.example") -> str:
    """The login page's single sign-on form: the provider's authorization URL we are sent to."""
    response = client.post(reverse("sso-start"), {"email": email})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "/oauth2/authorize?" in response["Location"]
    return response["Location"]


def come_back(client, redirect: str):
    """Follow the provider's redirect to our callback."""
    parts = urlsplit(redirect)
    assert parts.path == reverse("sso-callback")
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, provider, sso, sub, **claims):
    provider.set_user(sub, **claims)
    return come_back(client, provider.authorize(start(client, sso), sub))


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def refused(response, status, text):
    body = response.content.decode()
    assert response.status_code == status, body[:2000]
    assert "Single sign-on refused" in body and text in body, body[:2000]


# --- Who comes in --------------------------------------------------------------------------


def test_the_login_page_finds_the_provider_by_the_work_email(client, provider, sso):
    page = client.get(reverse("login")).content.decode()
    assert f'action="{reverse("sso-start")}"' in page
    assert "Acme Login" not in page  # the public page names no organisation's provider
    assert 'name="password"' in page  # our own login form stays

    found = client.post(reverse("sso-start"), {"email": "someone@ACME.example"})
    assert found.status_code == 302
    assert found["Location"].startswith(f"{provider.issuer}/oauth2/authorize?")
    assert f"client_id={CLIENT_ID}" in found["Location"]
    assert (
        "redirect_uri=http%3A%2F%2Ftestserver%2Faccounts%2Fsso%2Fcallback%2F" in found["Location"]
    )
    assert "code_challenge_method=S256" in found["Location"]  # PKCE

    unknown = client.post(reverse("sso-start"), {"email": "someone@other.example"}, follow=True)
    assert "No single sign-on is set up for “someone@other.example”" in unknown.content.decode()


def test_a_disabled_provider_is_gone(client, sso):
    sso.enabled = False
    sso.save()

    assert 'action="/accounts/sso/"' not in client.get(reverse("login")).content.decode()
    gone = client.post(reverse("sso-start"), {"email": "someone@acme.example"}, follow=True)
    assert "No single sign-on is set up" in gone.content.decode()


def test_a_provider_disabled_during_a_sign_in_lets_nobody_in(client, provider, sso):
    provider.set_user("u-0", email="ann@acme.example", email_verified=True)
    back = provider.authorize(start(client, sso), "u-0")
    SingleSignOn.objects.filter(pk=sso.pk).update(enabled=False)

    refused(come_back(client, back), 400, "stale or was already used")
    assert signed_in_user(client) is None


def test_an_email_domain_belongs_to_one_provider(sso, globex):
    from django.core.exceptions import ValidationError

    other = SingleSignOn(
        organization=globex,
        slug="globex-idp",
        name="Globex",
        issuer=sso.issuer,
        client_id="g",
        email_domains=["globex.example", "acme.example"],
    )
    with pytest.raises(ValidationError, match=r"acme\.example"):
        other.full_clean()


def test_a_group_gives_its_role_to_a_new_person(client, provider, sso, acme):
    response = sign_in(
        client,
        provider,
        sso,
        "u-1",
        email="dana@partner.example",
        email_verified=True,
        groups=["staff", "finops-admins"],
    )

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    user = signed_in_user(client)
    assert user.username == user.email == "dana@partner.example"
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).organization == acme
    assert Membership.objects.get(user=user).role == Role.ADMIN
    assert SocialAccount.objects.get(user=user).uid == "u-1"
    assert client.get(reverse("dashboard")).status_code == 200


def test_the_highest_role_of_several_groups_wins(client, provider, sso):
    sign_in(
        client,
        provider,
        sso,
        "u-2",
        email="erin@acme.example",
        email_verified=True,
        groups=["finops", "finops-admins"],
    )

    assert Membership.objects.get(user=signed_in_user(client)).role == Role.ADMIN


def test_the_email_domain_alone_gives_the_default_role(client, provider, sso):
    sso.domain_role = Role.OPERATOR
    sso.save()

    sign_in(client, provider, sso, "u-3", email="fay@ACME.example", email_verified=True)

    assert Membership.objects.get(user=signed_in_user(client)).role == Role.OPERATOR


def test_neither_group_nor_domain_lets_nobody_in(client, provider, sso):
    response = sign_in(
        client,
        provider,
        sso,
        "u-4",
        email="gus@elsewhere.example",
        email_verified=True,
        groups=["staff"],
    )

    refused(response, 403, "gus@elsewhere.example has no access to Acme")
    assert signed_in_user(client) is None
    assert not get_user_model().objects.filter(email="gus@elsewhere.example").exists()


def test_an_unverified_or_missing_address_is_refused(client, provider, sso):
    response = sign_in(
        client,
        provider,
        sso,
        "u-5",
        email="hal@acme.example",
        email_verified=False,
        groups=["finops"],
    )
    refused(response, 403, "hal@acme.example is not verified")

    response = sign_in(client, provider, sso, "u-6", groups=["finops"])
    refused(response, 403, "sent no e-mail address")
    assert signed_in_user(client) is None
    assert not get_user_model().objects.exclude(username__in=["alice"]).exists()


def test_the_role_follows_the_groups_at_every_sign_in(client, provider, sso):
    claims = {"email": "ivy@acme.example", "email_verified": True}
    sign_in(client, provider, sso, "u-7", groups=["finops-admins"], **claims)
    user = signed_in_user(client)
    assert Membership.objects.get(user=user).role == Role.ADMIN

    client.post(reverse("logout"))
    sign_in(client, provider, sso, "u-7", groups=["finops"], **claims)

    assert signed_in_user(client) == user
    assert Membership.objects.get(user=user).role == Role.OPERATOR
    assert get_user_model().objects.filter(email="ivy@acme.example").count() == 1


def test_a_deactivated_person_is_refused(client, provider, sso):
    claims = {"email": "jo@acme.example", "email_verified": True}
    sign_in(client, provider, sso, "u-8", **claims)
    user = signed_in_user(client)
    client.post(reverse("logout"))
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)

    response = sign_in(client, provider, sso, "u-8", **claims)

    refused(response, 403, "deactivated")
    assert signed_in_user(client) is None


def test_a_local_account_is_linked_only_when_it_is_surely_the_same_person(
    client, provider, sso, acme, globex, django_user_model
):
    def local(name, email, *organizations):
        user = django_user_model.objects.create_user(name, email, f"pw-{name}-Secret1")
        for organization in organizations:
            Membership.objects.create(user=user, organization=organization, role=Role.VIEWER)
        return user

    kim = local("kim", "kim@acme.example", acme)
    lee = local("lee", "lee@partner.example", acme)
    max_ = local("max", "max@acme.example", acme, globex)
    nia = local("nia", "nia@acme.example", globex)
    ola = local("ola", "ola@acme.example", acme)
    attempts = [
        # An address outside the organisation's domains: any provider could assert it.
        (lee, "u-9", {"email_verified": True, "groups": ["finops-admins"]}),
        # Also in another organisation: acme's provider must not reach globex's data.
        (max_, "u-10", {"email_verified": True}),
        # Someone of another organisation only.
        (nia, "u-11", {"email_verified": True}),
        # The provider does not say the address is verified.
        (ola, "u-12", {}),
    ]
    for user, sub, claims in attempts:
        response = sign_in(client, provider, sso, sub, email=user.email, **claims)
        refused(response, 403, "already exists")
        assert signed_in_user(client) is None
        assert not SocialAccount.objects.filter(user=user).exists()

    # A verified address of the domain, a member of this organisation alone: the same person.
    response = sign_in(client, provider, sso, "u-13", email="KIM@acme.example", email_verified=True)
    assert response.status_code == 302
    assert signed_in_user(client) == kim
    assert SocialAccount.objects.get(user=kim).uid == "u-13"
    assert Membership.objects.get(user=kim).role == Role.VIEWER


# --- Password sign-in turned off -----------------------------------------------------------


def test_password_login_off_sends_people_to_their_provider(client, sso, alice, django_user_model):
    sso.organization.password_login_enabled = False
    sso.organization.save()

    page = client.post(reverse("login"), {"username": "alice", "password": "pw-alice-Secret1"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Your organisation signs in with Acme Login." in body
    assert "_auth_user_id" not in client.session

    # The admin's login too.
    admin_page = client.post(
        reverse("admin:login"), {"username": "alice", "password": "pw-alice-Secret1"}
    )
    assert "Your organisation signs in with Acme Login." in admin_page.content.decode()
    assert "_auth_user_id" not in client.session

    # A wrong password gets the usual answer: strangers learn nothing about the account.
    wrong = client.post(reverse("login"), {"username": "alice", "password": "guess"})
    assert "didn&#x27;t match" in wrong.content.decode() or "didn't match" in wrong.content.decode()
    assert "Acme Login" not in wrong.content.decode().split("<form")[0]

    # Break-glass: a superuser still signs in with a password.
    django_user_model.objects.create_superuser("root", "root@acme.example", "pw-root-Secret1")
    Membership.objects.create(
        user=django_user_model.objects.get(username="root"),
        organization=sso.organization,
        role=Role.ADMIN,
    )
    assert (
        client.post(
            reverse("login"), {"username": "root", "password": "pw-root-Secret1"}
        ).status_code
        == 302
    )


def test_password_login_stays_for_someone_also_in_an_organisation_with_passwords(
    client, sso, alice, globex
):
    sso.organization.password_login_enabled = False
    sso.organization.save()
    Membership.objects.create(user=alice, organization=globex, role=Role.VIEWER)

    response = client.post(reverse("login"), {"username": "alice", "password": "pw-alice-Secret1"})

    assert response.status_code == 302


def test_password_login_off_sends_no_reset_mail(client, sso, alice, mailoutbox):
    sso.organization.password_login_enabled = False
    sso.organization.save()

    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302  # the same answer as for any address
    assert mailoutbox == []


# --- Bad callbacks and bad tokens: refused, nobody signed in -------------------------------


def test_a_replayed_callback_is_refused(client, provider, sso):
    provider.set_user("u-11", email="max@acme.example", email_verified=True)
    back = provider.authorize(start(client, sso), "u-11")
    assert come_back(client, back).status_code == 302
    client.post(reverse("logout"))

    refused(come_back(client, back), 400, "stale or was already used")
    assert signed_in_user(client) is None

    # Nor in another browser, which never started this sign-in.
    stranger = Client()
    refused(come_back(stranger, back), 400, "stale or was already used")
    assert "_auth_user_id" not in stranger.session


def test_a_callback_with_another_state_is_refused(client, provider, sso):
    provider.set_user("u-12", email="ned@acme.example", email_verified=True)
    back = provider.authorize(start(client, sso), "u-12")
    forged = back.replace("state=", "state=x")

    refused(come_back(client, forged), 400, "stale or was already used")
    assert signed_in_user(client) is None


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("audience", "issued for another application (wrong audience)"),
        ("expired", "ID token has expired"),
        ("unsigned", "not signed with a public-key algorithm"),
        ("foreign key", "signature does not verify"),
    ],
)
def test_a_bad_id_token_is_refused(client, provider, sso, tamper, reason):
    provider.tamper = tamper

    response = sign_in(
        client,
        provider,
        sso,
        f"bad-{tamper}",
        email="oz@acme.example",
        email_verified=True,
        groups=["finops-admins"],
    )

    refused(response, 400, reason)
    assert signed_in_user(client) is None
    assert not get_user_model().objects.filter(email="oz@acme.example").exists()


def test_an_unreachable_provider_is_a_clear_error(client, sso):
    sso.issuer = "http://127.0.0.1:9"  # the discard port: nothing listens
    sso.save()

    response = client.post(reverse("sso-start"), {"email": "someone@acme.example"})

    refused(response, 502, "could not be reached")


def test_a_provider_that_names_another_issuer_is_refused(client, provider, sso):
    # Its discovery document calls it http://localhost:<port>, without this path.
    sso.issuer = f"{provider.issuer}/.well-known/openid-configuration"
    sso.save()

    response = client.post(reverse("sso-start"), {"email": "someone@acme.example"})

    refused(response, 502, "unusable configuration")


def test_a_callback_nobody_started_is_refused(client, db):
    refused(client.get(reverse("sso-callback")), 400, "stale or was already used")
    refused(client.get(reverse("sso-callback"), {"code": "x", "state": "y"}), 400, "stale")


# --- Providers from settings ---------------------------------------------------------------


def test_a_provider_from_settings_signs_people_into_its_organisation(
    client, provider, acme, settings
):
    settings.SSO_PROVIDERS = [
        {
            "slug": "acme-settings",
            "organization": "acme",
            "name": "Acme Settings IdP",
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": "x",
            "group_roles": {"finops": "operator"},
            "email_domains": ["x.example"],
            "domain_role": "",  # the domain finds the provider; a group is needed to come in
        }
    ]
    settings.SSO_PROVIDERS.append(  # unusable: skipped with a warning, not a 500
        {
            "slug": "bad",
            "organization": "acme",
            "name": "Bad",
            "issuer": "nope",
            "client_id": "b",
            "group_roles": {"x": "owner"},
            "email_domains": ["y.example"],
        }
    )
    assert 'action="/accounts/sso/"' in client.get(reverse("login")).content.decode()
    nothing = client.post(reverse("sso-start"), {"email": "a@y.example"}, follow=True)
    assert "No single sign-on is set up" in nothing.content.decode()
    provider.set_user("u-14", email="pat@x.example", email_verified=True, groups=["finops"])
    provider.set_user("u-15", email="quin@x.example", email_verified=True, groups=["staff"])

    back = provider.authorize(start(client, None, "pat@x.example"), "u-14")
    assert come_back(client, back).status_code == 302
    membership = Membership.objects.get(user=signed_in_user(client))
    assert (membership.organization, membership.role) == (acme, Role.OPERATOR)
    assert SocialAccount.objects.get(user=membership.user).provider == "acme-settings"

    client.post(reverse("logout"))
    back = provider.authorize(start(client, None, "quin@x.example"), "u-15")
    refused(come_back(client, back), 403, "no access to Acme")
