"""allauth's OpenID Connect provider with a stricter ID-token check and one callback URL.

allauth skips the ID token's signature when the token came straight from the token endpoint,
which OpenID Connect Core 3.1.3.7 allows over TLS. We verify it always, and refuse a token
that is not signed with a public key (alg "none" included): a misconfigured or plain-HTTP
token endpoint then cannot slip one in. The ID token is checked before userinfo is asked for.

Every provider shares one callback, /accounts/sso/callback/ (the provider is found from the
state stashed in the session, accounts/sso_views.py): one redirect URI to register, and no
URL that tells one organisation's provider from a made-up one.

accounts/provider.py registers this provider under allauth's own "openid_connect" id, in
place of allauth's (whose app is therefore not installed).
"""

import jwt
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.urls import reverse

SIGNING_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}


def signing_key(id_token: str, jwks: dict):
    """The JWKS key that signed ID_TOKEN, and its algorithm; OAuth2Error if there is none.

    OpenID Connect Core 10.1 lets a provider with a single key leave `kid` out of the token's
    header (allauth's own lookup requires it): then the one key of the set is used.
    """
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise OAuth2Error("The ID token is not a JSON Web Token.") from exc
    alg = header.get("alg")
    if alg not in SIGNING_ALGORITHMS:
        raise OAuth2Error(f"The ID token is not signed with a public-key algorithm (alg {alg!r}).")
    found = jwks.get("keys") if isinstance(jwks, dict) else None
    keys = [k for k in found or [] if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    if "kid" in header:
        keys = [k for k in keys if k.get("kid") == header["kid"]]
    if len(keys) != 1:
        raise OAuth2Error("The provider publishes no key that matches the ID token.")
    try:
        return jwt.PyJWK(keys[0], algorithm=alg).key, alg
    except jwt.PyJWTError as exc:
        raise OAuth2Error("The provider's signing key is unusable.") from exc


class IssuerMismatch(ValueError):
    """The discovery document names another issuer than the one configured."""


class StrictOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    @property
    def openid_config(self):
        config = super().openid_config
        # OpenID Connect Discovery 4.3: the document's issuer must be the URL it was read
        # from; ID tokens are then checked against the issuer the admin configured.
        configured = self.get_provider().app.settings["server_url"].rstrip("/")
        if str(config.get("issuer", "")).rstrip("/") != configured:
            raise IssuerMismatch(f"the provider calls itself {config.get('issuer')!r}")
        return config

    def get_callback_url(self, request, app):
        return build_absolute_uri(request, reverse("sso-callback"), self.redirect_uri_protocol)

    def complete_login(self, request, app, token, **kwargs):
        # The ID token first: nothing else is asked of the provider for an invalid one.
        id_token = kwargs["response"].get("id_token")
        if not id_token:
            raise OAuth2Error("The identity provider sent no ID token.")
        data = {"id_token": self._decode_id_token(app, id_token)}
        if app.settings.get("fetch_userinfo", True):
            data["userinfo"] = self._fetch_user_info(token.token)
            if data["userinfo"].get("sub") != data["id_token"].get("sub"):
                # OpenID Connect Core 5.3.2: an answer about someone else must not be used.
                raise OAuth2Error("The provider's user information is about another person.")
        return self.get_provider().sociallogin_from_response(request, data)

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        with get_adapter().get_requests_session() as session:
            response = session.get(self.openid_config["jwks_uri"])
            response.raise_for_status()
            jwks = response.json()
        key, alg = signing_key(id_token, jwks)
        try:
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[alg],
                audience=app.client_id,
                issuer=self.openid_config["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise OAuth2Error("Invalid id_token") from exc
        jwtkit.verify_jti(claims)  # a token seen before is refused (allauth's replay check)
        return claims


class StrictOpenIDConnectProvider(OpenIDConnectProvider):
    oauth2_adapter_class = StrictOpenIDConnectAdapter

    def get_callback_url(self):
        return reverse("sso-callback")
