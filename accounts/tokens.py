"""API token authentication: django-rest-knox's, with its clean-up of expired tokens on a schedule.

knox, authenticating any request, also loads every token of the caller and deletes the expired
ones: one more query on every API call, for a clean-up that a daily schedule does as well
("expired-api-tokens", delete_expired). The token presented is still refused, deleted and
reported (knox's token_expired signal) the moment it has expired.
"""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.models import AuthToken
from knox.signals import token_expired


class TokenAuthentication(auth.TokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        """True (after deleting it) when the presented token has expired."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of knox's class, for this subclass."""

    target_class = "accounts.tokens.TokenAuthentication"


def delete_expired() -> int:
    """Delete every expired API token; returns how many."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
