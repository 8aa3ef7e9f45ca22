"""The API's operations: methods from the viewsets, request bodies from the serializers
drf-spectacular documents, query parameters from the OpenAPI schema."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import cache

from django.apps import apps
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.test import APIClient

from allocation.models import Dimension
from costs.models import TagKey
from tests.reliability.tenants.routes import Route, api_routes
from tests.reliability.tenants.world import GHOST, TAG, World

SAFE = ("GET", "HEAD", "OPTIONS")
BODY_METHODS = ("POST", "PUT", "PATCH")


# --- API: views, serializers and the schema -------------------------------------------------------


@cache
def _spectacular():
    """drf-spectacular's schema, and per view callback and method: the operation's path in it
    and the serializer of its request body (built while the schema's view object is alive)."""
    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    views = defaultdict(dict)
    for path, _regex, method, callback in generator.endpoints:
        view = generator.create_view(callback, method)
        body = view.schema.get_request_serializer() if method in BODY_METHODS else None
        views[callback][method] = (path, body() if isinstance(body, type) else body)
    return schema, views


def api_methods(route: Route) -> list[str]:
    actions = getattr(route.callback, "actions", None)
    if actions:
        methods = [m.upper() for m in actions]
    else:
        view = route.callback.cls
        methods = [m.upper() for m in view.http_method_names if hasattr(view, m)]
    return sorted({*methods, "HEAD", "OPTIONS"} if "GET" in methods else {*methods, "OPTIONS"})


def api_model(route: Route):
    view = route.callback.cls
    queryset = getattr(view, "queryset", None)
    if queryset is not None:
        return queryset.model
    meta = getattr(getattr(view, "serializer_class", None), "Meta", None)
    return getattr(meta, "model", None)


def api_formats(route: Route) -> list[str | None]:
    if "format" not in route.params:
        return [None]
    return [renderer.format for renderer in route.callback.cls.renderer_classes]


def request_serializer(route: Route, method: str):
    _, views = _spectacular()
    entry = views.get(route.callback, {}).get(method)
    if entry is None:
        return None
    return entry[1]


def query_variants(route: Route, world: World) -> list[dict]:
    """No parameters, every page size, and each documented query parameter set to the value
    acme's rows would match (enum parameters: every value), inside a window holding acme's."""
    schema, views = _spectacular()
    entry = views.get(route.callback, {}).get("GET")
    if entry is None:
        return [{}]
    operation = schema["paths"].get(entry[0], {}).get("get", {})  # the schema's own views: none
    today = timezone.localdate()
    window = {"start": str(today - timedelta(days=60)), "end": str(today)}
    known = _acme_values(route, world)
    variants = [{}, {"page_size": 500}, window]
    for param in operation.get("parameters", []):
        if param["in"] != "query" or param["name"] in ("page", "page_size", "start", "end"):
            continue
        name, spec = param["name"], param.get("schema", {})
        for value in spec.get("enum") or _acme_groupings(world, name) or [known.get(name, TAG)]:
            variants.append({**window, name: value})
    return variants


def _acme_groupings(world: World, name: str) -> list[str]:
    """For the summary's group_by: acme's dimension slugs and tag keys (tag:<key>), which are
    no grouping of charlie's: a 400 like a made-up one's (test_api.py _listing())."""
    if name != "group_by":
        return []
    slugs = Dimension.objects.filter(organization=world.acme).values_list("slug", flat=True)
    keys = TagKey.objects.filter(organization=world.acme).values_list("key", flat=True)
    return [TAG, *slugs, *(f"tag:{key}" for key in keys)]


def _acme_values(route: Route, world: World) -> dict:
    """Field values of acme's first row as the route's own serializer writes them."""
    model, view = api_model(route), route.callback.cls
    if model is None or not world.pks(model) or not hasattr(view, "serializer_class"):
        return {}
    row = model._default_manager.get(pk=world.pks(model)[0])
    data = view.serializer_class(row).data
    return {k: v for k, v in data.items() if isinstance(v, str | int) and not isinstance(v, bool)}


def tenant_models_by_name() -> dict:
    return {m._meta.model_name: m for m in apps.get_models() if hasattr(m, "tenant_path")}


def body_for(serializer, ref) -> tuple[dict, list]:
    """A body the SERIALIZER would accept, every reference to a row made by REF(model, field).

    Returns the body and the reference values in it (empty: the body refers to nothing).
    """
    body, refs = {}, []
    if serializer is None:
        return body, refs
    by_name = tenant_models_by_name()
    for name, fld in serializer.fields.items():
        if fld.read_only:
            continue
        model = None
        if isinstance(fld, serializers.RelatedField):
            model = fld.queryset.model
        elif isinstance(fld, serializers.IntegerField) and name in by_name:
            model = by_name[name]  # a key given as a plain integer, e.g. "recommendation"
        if model is not None:
            value = ref(model, getattr(fld, "slug_field", "pk"))
            if value is not None:
                body[name] = value
                refs.append(value)
            continue
        body[name] = _valid_value(fld)
    return body, refs


def _valid_value(fld):
    today = timezone.localdate()
    if isinstance(fld, serializers.ListSerializer):
        return []
    if isinstance(fld, serializers.BooleanField):
        return True
    if isinstance(fld, serializers.ChoiceField):
        return next(iter(fld.choices))
    if isinstance(fld, serializers.DecimalField):
        return "10.00"
    if isinstance(fld, serializers.IntegerField):
        return max(fld.min_value or 1, 1)
    if isinstance(fld, serializers.DateField):
        return str(today + timedelta(days=30))
    if isinstance(fld, serializers.EmailField):
        return "sweep@example.com"
    return "tenant sweep"


def ghost_ref(model, slug_field="pk"):
    return GHOST if slug_field == "pk" else f"ghost-{GHOST}"


def error_fields(response) -> tuple:
    """(status, error code, names of the fields in error) of an API response."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return (response.status_code, None, None)
    error = response.json().get("error", {})
    return (response.status_code, error.get("code"), sorted(error.get("fields") or {}))


def api_client(world: World, auth: str) -> APIClient:
    client = APIClient()
    # A crash is a response like any other here: the same 500 for acme's key and GHOST's
    # reveals nothing. test_no_api_operation_crashes is where crashes are counted.
    client.raise_request_exception = False
    if auth == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.charlie_token}")
    else:
        client.force_login(world.charlie)
    return client


def call(client: APIClient, method: str, url: str, body=None):
    handler = getattr(client, method.lower())
    if method in ("GET", "HEAD"):
        return handler(url)
    return handler(url, body or {}, format="json")


API_NAMES = sorted({route.name for route in api_routes()})
