"""Single sign-on with OpenID Connect: who may come in, into which organisation, with which role.

Library: django-allauth's OpenID Connect provider does the protocol (discovery, the
authorization-code flow with state and PKCE, the token call, ID-token validation against the
provider's JWKS, userinfo), and it serves any number of providers, each an "app" that an
adapter may list from anywhere. That fits one provider per organisation configured in the admin.
mozilla-django-oidc, the other well-kept choice, reads one provider from settings.

allauth takes over nothing else: our login page, signup, password reset and django-axes stay;
only the login lookup and the callback are routed (accounts/sso_views.py), under /accounts/sso/,
and the provider checks ID tokens more strictly than allauth's (accounts/sso_oidc.py).

The policy is ours and lives here, in plain functions the allauth adapters call:

- providers() are the enabled SingleSignOn rows plus the SSO_PROVIDERS setting, each bound to
  an organisation; allauth sees them as unsaved SocialApps (SocialAccountAdapter.list_apps).
- decide() maps the claims to a role: the highest role of the groups in `group_roles`, else
  `domain_role` (if set) for an address of `email_domains`, else nobody is let in (Refused).
  An address the provider marks unverified (email_verified false), or none at all, is refused.
- Every sign-in re-syncs the membership in the provider's organisation, so a role taken away
  in the identity provider is taken away here at the next sign-in (downgrades included).
- A new person gets a user (username: the address) and a membership: just-in-time creation.
- An existing local account with the same address is linked only if the provider says the
  address is verified, its domain is one of the organisation's `email_domains`, the account is
  a member of the provider's organisation and of no other, and is not a superuser's. Otherwise
  whoever controls some identity provider (an organisation's admins configure their own, with
  any domains they like) could take over an account that is not theirs.
- The login page asks for a work e-mail and finds the provider by its domain (for_email), so
  the public page lists no organisation's provider.
"""

from __future__ import annotations

import logging

import jwt
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base.constants import AuthError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import render
from requests import RequestException

from accounts.models import Membership, Organization, Profile, Role, SingleSignOn

logger = logging.getLogger(__name__)

PROVIDER = "openid_connect"
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"
SETTINGS_FIELDS = {
    "slug",
    "name",
    "issuer",
    "client_id",
    "client_secret",
    "scopes",
    "groups_claim",
    "group_roles",
    "email_domains",
    "domain_role",
}


class Refused(Exception):
    """A sign-in the policy does not let in; the message is shown to the person."""


# --- Providers -----------------------------------------------------------------------------


def providers() -> list[SingleSignOn]:
    """The enabled providers: SingleSignOn rows, then SSO_PROVIDERS entries with other slugs."""
    rows = list(SingleSignOn.objects.filter(enabled=True).select_related("organization"))
    taken = {row.slug for row in rows}
    return rows + [p for p in _from_settings() if p.slug not in taken]


def _from_settings() -> list[SingleSignOn]:
    entries = settings.SSO_PROVIDERS
    if not entries:
        return []
    organizations = Organization.objects.in_bulk(
        [e.get("organization") for e in entries], field_name="slug"
    )
    found = []
    for entry in entries:
        organization = organizations.get(entry.get("organization"))
        if organization is None:
            logger.warning("SSO_PROVIDERS: no organisation %r", entry.get("organization"))
            continue
        fields = {k: v for k, v in entry.items() if k in SETTINGS_FIELDS}
        sso = SingleSignOn(organization=organization, enabled=True, **fields)
        try:
            sso.full_clean(validate_unique=False)
        except ValidationError as error:
            logger.warning("SSO_PROVIDERS: %r skipped: %s", entry.get("slug"), error)
            continue
        found.append(sso)
    return found


def provider(slug: str) -> SingleSignOn | None:
    return next((p for p in providers() if p.slug == slug), None)


def social_app(sso: SingleSignOn) -> SocialApp:
    """The provider as allauth's app; never saved (SingleSignOn is the one source of truth)."""
    return SocialApp(
        provider=PROVIDER,
        provider_id=sso.slug,
        name=sso.name,
        client_id=sso.client_id,
        secret=sso.client_secret,
        settings={
            "server_url": sso.issuer,
            "oauth_pkce_enabled": True,
            "scope": sso.scopes.split(),
        },
    )


def for_email(email: str) -> SingleSignOn | None:
    """The provider whose `email_domains` has EMAIL's domain: the login page's lookup.

    None when no provider, or more than one, claims the domain: a domain claimed twice is
    ambiguous, and guessing could send people to another organisation's provider.
    """
    domain = domain_of(email) if "@" in email else ""
    matches = [p for p in providers() if domain and domain in p.email_domains]
    return matches[0] if len(matches) == 1 else None


# --- Policy --------------------------------------------------------------------------------


def is_true(value) -> bool | None:
    """email_verified as providers send it: a boolean, sometimes the string "true"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def groups_of(claims: dict, claim: str) -> list[str]:
    value = claims.get(claim) or []
    if isinstance(value, str):
        value = [value]
    return [g for g in value if isinstance(g, str)] if isinstance(value, list) else []


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].lower()


def decide(sso: SingleSignOn, claims: dict) -> str:
    """The role CLAIMS give in the provider's organisation; Refused if none."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Refused(
            f"{sso.name} sent no e-mail address. Ask your administrator to release the "
            "“email” claim to Spendlens."
        )
    if is_true(claims.get("email_verified")) is False:
        raise Refused(f"{sso.name} says {email} is not verified; verify it there first.")
    roles = [
        sso.group_roles[g] for g in groups_of(claims, sso.groups_claim) if g in sso.group_roles
    ]
    if roles:
        return max(roles, key=Role.rank)
    if sso.domain_role and domain_of(email) in sso.email_domains:
        return sso.domain_role
    raise Refused(
        f"{email} has no access to {sso.organization}: none of its groups is given a role, "
        "and its domain gives no access by itself. Ask your administrator."
    )


def claims_of(sociallogin) -> dict:
    """The ID token's claims, completed by userinfo (groups are sometimes only in one)."""
    data = sociallogin.account.extra_data or {}
    id_token, userinfo = data.get("id_token") or {}, data.get("userinfo") or {}
    if id_token and userinfo and userinfo.get("sub") != id_token.get("sub"):
        # OpenID Connect Core 5.3.2: a userinfo answer about someone else must be ignored.
        raise Refused("The provider's user information is about another person.")
    return {**userinfo, **id_token}


def sync_membership(user, sso: SingleSignOn, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=sso.organization, defaults={"role": role}
    )
    return membership


def linkable_user(sso: SingleSignOn, claims: dict):
    """The local account with the provider's address, if it may be linked; Refused if one
    exists but may not be (see the module docstring); None if there is none."""
    email = claims["email"]
    users = list(get_user_model().objects.filter(email__iexact=email)[:2])
    if not users:
        return None
    user = users[0]
    organizations = set(user.memberships.values_list("organization_id", flat=True))
    if (
        len(users) == 1
        and is_true(claims.get("email_verified"))
        and domain_of(email) in sso.email_domains
        # An organisation's admins configure its provider and its domains: they may only
        # reach accounts that are theirs alone, never one of another organisation.
        and organizations == {sso.organization_id}
        and user.is_active
        and not user.is_superuser
    ):
        return user
    raise Refused(
        f"An account with {email} already exists, and {sso.name} cannot be linked to it "
        "automatically. Sign in with your password, or ask your administrator."
    )


def username_for(email: str) -> str:
    users = get_user_model().objects
    if len(email) <= 150 and not users.filter(username__iexact=email).exists():
        return email
    return DefaultAccountAdapter().generate_unique_username([email.partition("@")[0], "user"])


# --- allauth glue --------------------------------------------------------------------------


def refusal(request, message: str, status: int = 403):
    return render(request, "accounts/sso_refused.html", {"message": message}, status=status)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None):
        apps = [social_app(p) for p in providers()]
        if provider:
            apps = [a for a in apps if provider in (a.provider, a.provider_id)]
        if client_id:
            apps = [a for a in apps if a.client_id == client_id]
        return apps

    def pre_social_login(self, request, sociallogin):
        sso = provider(sociallogin.account.provider)
        try:
            if sso is None:
                raise Refused("This single sign-on provider is not enabled any more.")
            claims = claims_of(sociallogin)
            role = decide(sso, claims)
            if sociallogin.is_existing:
                user = sociallogin.user
                if not user.is_active:
                    raise Refused("This account is deactivated. Ask your administrator.")
            else:
                user = linkable_user(sso, claims)
                if user is None:
                    return  # a new person: save_user() creates them
                sociallogin.connect(request, user)
            sync_membership(user, sso, role)
        except Refused as refused:
            logger.warning("single sign-on refused: %s", refused)
            raise ImmediateHttpResponse(refusal(request, str(refused))) from None

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.username = username_for(user.email)
        return user

    def save_user(self, request, sociallogin, form=None):
        sso = provider(sociallogin.account.provider)
        role = decide(sso, claims_of(sociallogin))  # pre_social_login has let it through
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form)
            sync_membership(user, sso, role)
            Profile.for_user(user)
        return user

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ):
        message = explain(error, exception, extra_context or {})
        logger.warning("single sign-on failed: %s (%r)", message, exception)
        raise ImmediateHttpResponse(refusal(request, message, status=400))


class AccountAdapter(DefaultAccountAdapter):
    def login(self, request, user):
        # allauth would pick the first backend with get_user(): axes' standalone one, which
        # finds nobody; the session must name the backend that finds users again.
        user.backend = SESSION_BACKEND
        return super().login(request, user)


def explain(error, exception, extra_context: dict) -> str:
    """A person-readable reason for a failed sign-in (allauth's error and exception)."""
    if "state_id" in extra_context and "state" not in extra_context:
        return (
            "This sign-in link is stale or was already used (its state does not match this "
            "browser's session). Start again from the login page."
        )
    if error == AuthError.CANCELLED:
        return "Sign-in was cancelled at the identity provider."
    cause = getattr(exception, "__cause__", None)
    reasons = [
        (jwt.ExpiredSignatureError, "The identity provider's ID token has expired."),
        (
            jwt.InvalidAudienceError,
            "The ID token was issued for another application (wrong audience).",
        ),
        (jwt.InvalidIssuerError, "The ID token was issued by another identity provider."),
        (jwt.InvalidSignatureError, "The ID token's signature does not verify."),
        (jwt.PyJWTError, "The ID token is not valid."),
    ]
    for kind, reason in reasons:
        if isinstance(cause, kind):
            return reason
    if isinstance(exception, RequestException):
        return "The identity provider could not be reached; try again in a moment."
    if exception is not None and str(exception):
        return f"Sign-in failed: {exception}"
    return "Sign-in failed at the identity provider. Start again from the login page."
