"""A real OpenID Connect provider on a local port: oidc-provider-mock (PyPI), in a thread.

It is a standards-compliant provider built on authlib: discovery, an authorization endpoint
whose form takes the subject, a token endpoint issuing RS256-signed ID tokens, JWKS and
userinfo. A person's claims (email, email_verified, groups) are set with its PUT /users/<sub>.

`tamper` makes the provider issue bad ID tokens, which it never does by itself: a Flask
after_request hook on the provider's own app rewrites the token endpoint's `id_token` before
the answer leaves the provider, re-signed with the provider's own key (the one its JWKS
publishes, read from the flask.g attribute the pinned 0.3.4 keeps its storage in) where a
signature is wanted. Everything else (the HTTP exchange, discovery, the
JWKS our server fetches) is the provider's unchanged.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import warnings
from contextlib import contextmanager

import flask
import requests
import werkzeug.serving

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # authlib.jose's deprecation notice, imported by the mock
    import oidc_provider_mock
    from authlib import jose


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _sign(claims: dict, key, kid: str | None = None) -> str:
    header = {"alg": "RS256", "kid": kid or key.as_dict()["kid"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jose.jwt.encode(header, claims, key).decode()


TAMPERING = {
    "audience": lambda claims, key: _sign({**claims, "aud": "another-application"}, key),
    "expired": lambda claims, key: _sign(
        {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, key
    ),
    "unsigned": lambda claims, key: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
    # Claims to be signed by the provider's key, but signed by another.
    "foreign key": lambda claims, key: _sign(
        claims, jose.RSAKey.generate_key(is_private=True), kid=key.as_dict()["kid"]
    ),
}


class Provider:
    def __init__(self, url: str):
        self.issuer = url
        self.tamper: str | None = None

    def set_user(self, sub: str, **claims) -> None:
        requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def authorize(self, authorize_url: str, sub: str) -> str:
        """Submit the provider's authorization form as SUB; the redirect back to us."""
        page = requests.get(authorize_url, timeout=5)
        assert page.status_code == 200 and 'name="sub"' in page.text, page.text[:500]
        answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["Location"]


@contextmanager
def running_provider():
    # authlib refuses plain HTTP unless told this is a test.
    before = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app = oidc_provider_mock.app()
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    provider = Provider(f"http://localhost:{server.server_port}")

    @app.after_request
    def tamper(response):
        if provider.tamper and flask.request.path == "/oauth2/token" and response.is_json:
            body = response.get_json()
            if "id_token" in body:
                key = flask.g.oidc_provider_mock_storage.jwk
                body["id_token"] = TAMPERING[provider.tamper](_claims(body["id_token"]), key)
                response.set_data(json.dumps(body))
        return response

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        if before is None:
            del os.environ["AUTHLIB_INSECURE_TRANSPORT"]
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = before
