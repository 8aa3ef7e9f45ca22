"""The URL map, from the resolver: every route the sweeps request, the values they fill its
parameters with, and the admin's models."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.contrib import admin
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from knox.models import AuthToken

from tests.reliability.tenants.world import World

OURS = (  # our apps' view modules
    "accounts",
    "costs",
    "allocation",
    "commitments",
    "fleet",
    "findings",
    "actions",
    "alerts",
    "dashboard",
    "config",
)
# What confirms a two-step admin action or a delete page: sent with the second POST.
CONFIRM = {"confirm": "yes", "post": "yes", "reason": "tenant sweep"}


# --- The URL map --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pieces: tuple  # the resolver's patterns, outermost first
    namespace: str
    pattern: URLPattern

    @property
    def route(self) -> str:
        return "".join(str(piece) for piece in self.pieces)

    @property
    def name(self) -> str:
        base = self.pattern.name or self.route
        return f"{self.namespace}:{base}" if self.namespace else base

    @property
    def params(self) -> tuple[str, ...]:
        names = []
        for piece in self.pieces:
            if isinstance(piece, RegexPattern):
                names += list(piece.regex.groupindex)
            else:
                names += list(piece.converters)
        return tuple(names)

    @property
    def callback(self):
        return self.pattern.callback

    @property
    def module(self) -> str:
        view = getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)
        return (view or self.callback).__module__

    def fits(self, param: str, value) -> bool:
        """Whether VALUE can be PARAM in this route (e.g. a token digest is no <int:pk>)."""
        for piece in self.pieces:
            converter = getattr(piece, "converters", {}).get(param)
            if converter is not None:
                return re.fullmatch(converter.regex, str(value)) is not None
        return True

    def url(self, **values) -> str:
        """The path with VALUES in its parameters, checked to resolve back to this route."""
        path = "/" + "".join(_fill(piece, values) for piece in self.pieces)
        match = resolve(path)
        same = match.route.replace("^", "") == self.route.replace("^", "")
        assert match.func == self.callback and same, (path, self.route)
        return path


_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _fill(piece, values) -> str:
    text = str(piece)
    if isinstance(piece, RegexPattern):
        text = _GROUP.sub(lambda m: str(values[m[1]]), text.removeprefix("^").removesuffix("$"))
        return text.replace("\\.", ".").replace("/?", "/")
    return _PARAM.sub(lambda m: str(piece.converters[m[1]].to_url(str(values[m[1]]))), text)


def _walk(patterns, pieces=(), namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _walk(pattern.url_patterns, (*pieces, pattern.pattern), inner)
        else:
            yield Route((*pieces, pattern.pattern), namespace, pattern)


@cache
def all_routes() -> tuple[Route, ...]:
    return tuple(_walk(get_resolver().url_patterns))


def api_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace == "api"]


def admin_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace == "admin"]


def site_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace not in ("api", "admin")]


# Every URL parameter the sweep can fill, and where its values come from (see the sweeps).
KNOWN_PARAMS = {
    "pk",  # API and dashboard: acme's primary keys
    "object_id",  # admin: acme's primary keys of the page's model
    "id",  # admin: the user password page
    "format",  # API: the view's renderer formats
    "action",  # dashboard: the instance actions
    "token_key",  # dashboard: acme's API tokens
    "uidb64",  # password reset: acme's users
    "token",  # password reset: a made-up token
    "app_label",  # admin: each app
    "content_type_id",  # admin view-on-site: acme's rows
    "url",  # admin catch-all
    "model",  # admin: the pages that moved out of /admin/costs/ (each moved model)
    "rest",  # admin: the rest of such a moved page's address (its list, acme's rows)
}


# --- The admin's models, and a request to ask them what they offer -----------------------------


def admin_models() -> list:
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


def model_routes(model) -> list[Route]:
    prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
    return [r for r in admin_routes() if r.route.startswith(prefix)]


def staff_request(user):
    """A request of USER's, for asking a ModelAdmin what it offers them."""
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- Dashboard and auth routes' parameters ---------------------------------------------------


def site_values(route: Route, world: World) -> list[dict]:
    """Parameter values for a dashboard or auth route: one of acme's rows of every model (their
    keys are unique across models), each instance action, acme's tokens and users."""
    charlie_owns = world.charlie_pks()
    firsts = [str(pks[0]) for pks in world.acme_rows.values()]
    choices = {
        "pk": [pk for pk in firsts if pk not in charlie_owns and route.fits("pk", pk)],
        "action": ["stop", "start"],
        "token_key": list(
            AuthToken.objects.filter(user__in=world.acme_users).values_list("token_key", flat=True)
        ),
        "uidb64": [urlsafe_base64_encode(force_bytes(user.pk)) for user in world.acme_users],
        "token": ["set-password"],
    }
    combos = [{}]
    for param in route.params:
        combos = [{**combo, param: value} for combo in combos for value in choices[param]]
    return combos
