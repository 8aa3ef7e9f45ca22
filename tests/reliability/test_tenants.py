"""Tenants (issue 11): a user of another organisation finds nothing of acme's, anywhere.

Nothing is hand-listed. The API routes come from the URL resolver (methods from the viewsets'
actions, request bodies from the serializers drf-spectacular documents, query parameters from
the OpenAPI schema); the admin pages from the admin site's URL patterns, each ModelAdmin's
actions and autocomplete fields; the dashboard pages from the rest of the URL map. A new
endpoint, admin page or action is swept the day it is added, and test_the_sweep_knows_every_url
fails if a route has a URL parameter the sweep does not know how to fill.

For charlie (globex's admin; for the admin pages also staff with every permission of our apps):
- any URL naming one of acme's objects answers exactly what the same URL naming an object that
  exists nowhere (GHOST) answers: same status, same redirect, same message, same body; so a 404
  (or the admin's "doesn't exist" redirect), never a 403 or anything that confirms it exists;
- a body that refers to acme's objects is refused exactly like one that refers to nothing;
- lists, summaries, change lists, overviews and autocompletes are the same with and without
  acme in the database, and show none of the distinctive strings and figures of acme's rows;
- nothing changes: the whole database is compared before and after, no AWS API is called, no
  e-mail is sent.
For bob (acme's viewer): every API write on his own organisation's objects is a 403, and the
dashboard and admin writes change nothing either (only the refused stop/start attempts that
the audit log records by design).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cache
from itertools import count

import pytest
from botocore.client import BaseClient
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework import serializers
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import CloudAccount, Membership, Profile, Role
from alerts.models import AlertEvent, AlertKind, Budget, BudgetThreshold, Cooldown
from costs import actions
from costs.models import (
    AutoStopNotice,
    AutoStopPolicy,
    BillingImport,
    CostRecord,
    CostRollup,
    DetectionSettings,
    ElasticIP,
    Instance,
    InstanceAction,
    Recommendation,
    SyncRun,
    UtilizationDay,
    Volume,
)
from tests.admin.conftest import make_staff

pytestmark = pytest.mark.django_db

User = get_user_model()
OURS = ("accounts", "costs", "alerts", "config")  # our apps' view modules
GHOST = 987654321  # a primary key no row has: what "not found" looks like
TAG = "acme-secret"  # in every string of acme's rows
# acme's figures: none of them may reach charlie's pages, in any format they are written in.
COST, SAVING, BUDGET = Decimal("31337424.24"), Decimal("4242424.17"), Decimal("77777777.00")
ACME_ACCOUNT_ID, ACME_BILLED_ACCOUNT = "314159265358", "161803398874"
ACME_IP = "198.51.100.77"
MARKERS = (
    TAG,
    "31337424",
    "31,337,424",
    "4242424",
    "4,242,424",
    "77777777",
    "77,777,777",
    ACME_ACCOUNT_ID,
    ACME_BILLED_ACCOUNT,
    ACME_IP,
)
SAFE = ("GET", "HEAD", "OPTIONS")
BODY_METHODS = ("POST", "PUT", "PATCH")
# What confirms a two-step admin action or a delete page: sent with the second POST.
CONFIRM = {"confirm": "yes", "post": "yes", "reason": "tenant sweep"}


# --- The sweep's surroundings: no throttling, no AWS, fast passwords --------------------------


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, monkeypatch):
    # Argon2 costs ~0.1 s a user; the personas are created for every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The sweep sends far more than API_THROTTLE_USER requests a minute; throttling is not
    # what it tests (and a 429 would hide what the endpoint would have answered).
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)


@pytest.fixture(autouse=True)
def aws_calls(monkeypatch):
    """Every AWS API call, refused: nothing charlie or bob does here may reach AWS."""
    calls = []

    def refuse(client, operation_name, api_params):
        calls.append(operation_name)
        raise AssertionError(f"AWS {operation_name} was called during the tenant sweep")

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)
    return calls


# --- The world: acme with a row of everything, globex with the same, GHOST for neither ---------


@dataclass
class World:
    acme: object
    globex: object
    alice: object
    bob: object
    charlie: object
    charlie_token: str
    acme_users: list = field(default_factory=list)
    acme_rows: dict = field(default_factory=dict)  # model -> [pk], every row that is acme's
    globex_rows: dict = field(default_factory=dict)

    @property
    def operator(self):
        return self.acme_users[-1]  # acme's operator, the recipient of its alerts

    def pks(self, model) -> list:
        return self.acme_rows.get(model, [])

    def ref(self, model, slug_field: str = "pk"):
        """How a body names acme's first row of MODEL (None: acme has none)."""
        pks = self.pks(model)
        if not pks:
            return None
        return getattr(model._default_manager.get(pk=pks[0]), slug_field)

    def own_ref(self, model, slug_field: str = "pk"):
        pks = self.globex_rows.get(model, [])
        if not pks:
            return None
        return getattr(model._default_manager.get(pk=pks[0]), slug_field)

    def charlie_pks(self) -> set[str]:
        return {str(pk) for pks in self.globex_rows.values() for pk in pks}


# Each organisation's distinctive values; acme's are the markers above.
ACME = {
    "tag": TAG,
    "first_pk": 700_001,
    "account_id": ACME_ACCOUNT_ID,
    "billed_account": ACME_BILLED_ACCOUNT,
    "ip": ACME_IP,
    "figures": {"cost": COST, "saving": SAVING, "budget": BUDGET},
}
GLOBEX = {
    "tag": "globex-own",
    "first_pk": 900_001,
    "account_id": "271828182845",
    "billed_account": "141421356237",
    "ip": "203.0.113.9",
    "figures": {"cost": Decimal("12.34"), "saving": Decimal("5.55"), "budget": Decimal(100)},
}


def _seed(org, operator, today, *, tag, first_pk, figures, account_id, billed_account, ip):
    """A row of every kind for ORG, every string carrying TAG; explicit primary keys from
    FIRST_PK, so acme's keys are unique across models and never collide with globex's."""
    pk = count(first_pk)
    now = timezone.now()
    account = CloudAccount.objects.create(
        pk=next(pk),
        organization=org,
        name=f"{tag}-account",
        account_id=account_id,
        role_arn=f"arn:aws:iam::{account_id}:role/{tag}-role",
        regions=["us-east-1"],
        last_error=f"{tag}-last-error",
        last_error_at=now,
    )
    instances = [
        Instance.objects.create(
            pk=next(pk),
            account=account,
            region="us-east-1",
            instance_id=f"i-{tag}-{n}",
            name=f"{tag}-box-{n}",
            instance_type="m5.large",
            state=state,
            state_since=now - timedelta(days=20),
            auto_scaling_group=group,
            tags={"Name": f"{tag}-box-{n}", "team": f"{tag}-team"},
            verdict="idle",
            verdict_evidence={"why": f"{tag}-verdict"},
            verdict_at=now,
        )
        for n, (state, group) in enumerate(
            [("running", ""), ("stopped", ""), ("running", f"{tag}-asg")]
        )
    ]
    for back in (1, 2, 3):
        UtilizationDay.objects.create(
            pk=next(pk),
            instance=instances[0],
            day=today - timedelta(days=back),
            hours=24,
            cpu_avg=1.5,
            cpu_max=3.0,
            cpu_p95=2.0,
            network_bytes=1000,
        )
    Volume.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        volume_id=f"vol-{tag}",
        volume_type="gp2",
        size_gib=500,
        state="in-use",
        attached_instance_id=instances[0].instance_id,
    )
    ElasticIP.objects.create(
        pk=next(pk),
        account=account,
        region="us-east-1",
        allocation_id=f"eipalloc-{tag}",
        public_ip=ip,
    )
    billing = BillingImport.objects.create(
        pk=next(pk),
        organization=org,
        uri=f"s3://{tag}-bucket/focus.csv",
        status=BillingImport.Status.FAILED,
        finished_at=now,
        rows_read=3,
        rows_rejected=1,
        sub_accounts=[billed_account],
        rejects=[{"row": 2, "reason": f"{tag}-reject"}],
        reject_reasons={f"{tag}-reason": 1},
        error=f"{tag}-import-error",
    )
    for day in (today, today - timedelta(days=32)):
        CostRecord.objects.create(
            pk=next(pk),
            organization=org,
            account=account,
            source="explorer",
            metric="unblended",
            sub_account_id=account_id,
            usage_date=day,
            service=f"{tag}-service",
            region="us-east-1",
            resource_id=f"arn:aws:rds:us-east-1:{account_id}:db:{tag}-db",
            usage_type=f"{tag}-usage",
            amount=figures["cost"],
            tags={"team": f"{tag}-team"},
        )
        for dimension, key in (
            ("service", f"{tag}-service"),
            ("region", "us-east-1"),
            ("account", account_id),
        ):
            CostRollup.objects.create(
                pk=next(pk),
                organization=org,
                usage_date=day,
                dimension=dimension,
                key=key,
                amount=figures["cost"],
            )
    CostRecord.objects.create(
        pk=next(pk),
        organization=org,
        source="focus",
        metric="billed",
        sub_account_id=billed_account,  # billed in the export, not connected
        usage_date=today,
        service=f"{tag}-focus-service",
        amount=figures["cost"],
        billing_import=billing,
        billing_period=today.replace(day=1),
    )
    for status, error in ((SyncRun.Status.FAILED, f"{tag}-sync-error"), ("succeeded", "")):
        SyncRun.objects.create(
            pk=next(pk),
            account=account,
            status=status,
            finished_at=now,
            window_start=today - timedelta(days=3),
            window_end=today,
            requests_made=3,
            error=error,
        )
    DetectionSettings.objects.create(pk=next(pk), organization=org, protect_tag=f"{tag}:keep=1")
    recommendations = {
        kind: Recommendation.objects.create(
            pk=next(pk),
            account=account,
            kind=kind,
            resource_id=f"{tag}-{kind}"[:64],
            region="us-east-1",
            instance=instances[2] if kind == "idle_asg_member" else instances[0],
            summary=f"{tag}-rec-{kind}",
            action=f"{tag}-do-this",
            target_type="m5.small" if kind == "rightsize" else "",
            monthly_saving=figures["saving"],
            saving_basis=Recommendation.SavingBasis.PRICE_TABLE,
            evidence={"why": f"{tag}-evidence"},
        )
        for kind in Recommendation.Kind.values
    }
    budget = Budget.objects.create(
        pk=next(pk),
        organization=org,
        account=account,
        name=f"{tag}-budget",
        monthly_amount=figures["budget"],
    )
    for percent, basis in ((80, "actual"), (100, "forecast")):
        BudgetThreshold.objects.create(pk=next(pk), budget=budget, percent=percent, basis=basis)
    AlertEvent.objects.create(
        pk=next(pk),
        organization=org,
        kind=AlertKind.BUDGET,
        subject=f"budget:{budget.pk}",
        title=f"{tag}-alert",
        recipient=operator,
        address=operator.email,
        status=AlertEvent.Status.FAILED,
        evidence={"lines": [f"{tag}-evidence"]},
        link="/admin/alerts/budget/",
        error=f"{tag}-alert-error",
    )
    Cooldown.objects.create(
        pk=next(pk),
        user=operator,
        kind=AlertKind.BUDGET,
        subject=f"{tag}-cooldown",
        until=now + timedelta(hours=1),
    )
    action = InstanceAction.objects.create(
        pk=next(pk),
        organization=org,
        account=account,
        instance=instances[0],
        aws_instance_id=instances[0].instance_id,
        region="us-east-1",
        action="stop",
        actor=operator,
        actor_label=operator.username,
        recommendation=recommendations["idle_instance"],
        reason=f"{tag}-reason",
        finished_at=now,
        result=InstanceAction.Result.DRY_RUN,
        message=f"{tag}-action-message",
        state_before="running",
        state_after="running",
    )
    AutoStopPolicy.objects.create(pk=next(pk), account=account, enabled=True, dry_run=True)
    AutoStopNotice.objects.create(
        pk=next(pk),
        account=account,
        recommendation=recommendations["idle_instance"],
        instance=instances[0],
        dry_run=True,
        stop_after=now + timedelta(hours=5),
        recipients=[operator.email],
        outcome=f"{tag}-outcome",
        action=action,
    )
    LogEntry.objects.create(
        user=operator,
        content_type=ContentType.objects.get_for_model(Budget),
        object_id=str(budget.pk),
        object_repr=f"{tag}-budget",
        action_flag=CHANGE,
        change_message=f"{tag}-change-message",
    )


def _rows_of(organization, users) -> dict:
    """Every row of ORGANIZATION (tenant models) or of its USERS (their profiles, tokens...)."""
    user_fks = (models.ForeignKey, models.OneToOneField)
    rows = {User: sorted(user.pk for user in users)}
    for model in apps.get_models():
        manager = model._default_manager
        if hasattr(model, "tenant_path") and hasattr(manager, "for_organizations"):
            queryset = manager.for_organizations([organization.pk])
        else:
            links = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, user_fks) and f.related_model is User
            ]
            if not links:
                continue
            queryset = model._base_manager.filter(**{f"{links[0]}__in": users})
        pks = sorted(queryset.order_by().values_list("pk", flat=True).distinct())
        if pks:
            rows[model] = pks
    return rows


@pytest.fixture
def world(django_user_model, acme, globex, alice, bob, charlie):
    today = timezone.localdate()
    acme.name = f"Acme {TAG}-org"
    acme.save()
    operator = django_user_model.objects.create_user(
        f"{TAG}-operator", email=f"operator@{TAG}.example", first_name=f"{TAG}-first-name"
    )
    Membership.objects.create(user=operator, organization=acme, role=Role.OPERATOR)
    for user in (alice, bob, operator, charlie):
        Profile.objects.create(user=user, alert_email=f"{user.username}-alerts@example.com")
    Profile.objects.filter(user=operator).update(alert_email=f"alerts@{TAG}.example")
    _seed(acme, operator, today, **ACME)
    _seed(globex, charlie, today, **GLOBEX)
    AuthToken.objects.create(user=alice)
    _, charlie_token = AuthToken.objects.create(user=charlie)
    acme_users = [alice, bob, operator]
    return World(
        acme=acme,
        globex=globex,
        alice=alice,
        bob=bob,
        charlie=charlie,
        charlie_token=charlie_token,
        acme_users=acme_users,
        acme_rows=_rows_of(acme, acme_users),
        globex_rows=_rows_of(globex, [charlie]),
    )


def remove_acme(world):
    """The world as charlie should see it anyway: acme, its people and all their rows gone."""
    User.objects.filter(pk__in=[u.pk for u in world.acme_users]).delete()
    world.acme.delete()


# --- What a response reveals ------------------------------------------------------------------

VOLATILE_FIELDS = {"last_login"}
SKIPPED_MODELS = {"sessions.session"}  # charlie's own session, written on every request


def snapshot() -> dict:
    """Every row of every table (sessions aside), to prove a request changed nothing."""
    state = {}
    for model in apps.get_models():
        if model._meta.label_lower in SKIPPED_MODELS:
            continue
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in VOLATILE_FIELDS]
        rows = model._base_manager.order_by("pk").values_list(*names)
        state[model._meta.label] = {row[names.index(model._meta.pk.attname)]: row for row in rows}
    return state


def changes(before: dict, after: dict) -> dict:
    """label -> {"added"|"removed"|"changed": [rows]} for every table that differs."""
    diff = {}
    for label, rows in after.items():
        old = before.get(label, {})
        added = [rows[k] for k in rows.keys() - old.keys()]
        removed = [old[k] for k in old.keys() - rows.keys()]
        changed = [(old[k], rows[k]) for k in rows.keys() & old.keys() if rows[k] != old[k]]
        entry = {"added": added, "removed": removed, "changed": changed}
        if added or removed or changed:
            diff[label] = {k: v for k, v in entry.items() if v}
    return diff


# Messages left by earlier requests are shown by whichever page comes next; each request's own
# messages are compared separately (queued_messages).
LEFTOVER_MESSAGES = re.compile(r'<ul class="(?:messagelist|messages)".*?</ul>', re.DOTALL)
NOISE = [
    (re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+'), r"\1<csrf>"),
    (re.compile(r'(nonce=")[^"]+'), r"\1<nonce>"),
    (re.compile(r'("csrfToken": ")[^"]+'), r"\1<csrf>"),
]


def text_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def cleaned(response) -> str:
    """The body without per-request noise (CSRF tokens, CSP nonces)."""
    body = text_of(response)
    for pattern, replacement in NOISE:
        body = pattern.sub(replacement, body)
    return body


def normalized(response, keys=()) -> str:
    """The body to compare: no noise, no leftover messages, KEYS written as <key>."""
    body = LEFTOVER_MESSAGES.sub("", cleaned(response))
    body = re.sub(r"\s*\n\s*", "\n", body)  # without the messages block's blank lines
    # A short key (the personas' rows: 1, 2...) is also an ordinary number in a page (an SVG's
    # "1.5rem"); a body only names a row by key if it shows the row, which leaks() catches.
    return _mask(body, [key for key in keys if len(str(key)) > 3])


def _mask(text: str, keys) -> str:
    """KEYS written as <key> where a page names a key: in a path or between quotes (a short
    key such as 1 is also an ordinary number elsewhere on the page)."""
    for key in {str(k) for k in keys}:
        text = re.sub(rf"(?<=[/“\"']){re.escape(key)}(?=[/”\"'.])", "<key>", text)
    return text


def leaks(response, sent=()) -> list[str]:
    """acme's markers in the body or headers; values the request itself SENT do not count."""
    text = " ".join([cleaned(response), response.get("Location", ""), *queued_messages(response)])
    for value in sorted({str(v) for v in sent if v not in (None, "")}, key=len, reverse=True):
        text = text.replace(value, "")
    return [marker for marker in MARKERS if marker in text]


def queued_messages(response) -> list[str]:
    """The messages this request added (not those left over from earlier ones)."""
    storage = getattr(response.wsgi_request, "_messages", None)
    return [str(m) for m in getattr(storage, "_queued_messages", [])]


def outcome(response, keys=()) -> tuple:
    """What a client learns from RESPONSE, with the keys it asked about masked."""
    return (
        response.status_code,
        _mask(response.get("Location", ""), keys),
        [_mask(m, keys) for m in queued_messages(response)],
        normalized(response, keys),
    )


def difference(a: tuple, b: tuple) -> str:
    """The first differing line of two outcomes' bodies (when status and messages agree)."""
    if a[:3] != b[:3]:
        return ""
    lines = difflib.unified_diff(a[3].splitlines(), b[3].splitlines(), lineterm="", n=0)
    return " | ".join(list(lines)[2:6])


COVERAGE = Counter()  # requests checked, by kind, over the module's run


@pytest.fixture(autouse=True, scope="module")
def _report_coverage():
    yield
    print(f"\ntenant sweep coverage: {dict(COVERAGE)}")  # shown with -s


class Findings:
    """Collects every problem of a sweep, so one run reports them all."""

    def __init__(self):
        self.problems: list[str] = []
        self.checked = Counter()

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)

    def assert_none(self) -> None:
        COVERAGE.update(self.checked)
        shown = "\n".join(self.problems[:40])
        more = f"\n... and {len(self.problems) - 40} more" if len(self.problems) > 40 else ""
        assert not self.problems, f"{len(self.problems)} tenant problems:\n{shown}{more}"


@pytest.fixture
def unchanged(aws_calls):
    """Asserts, at the end of the test, that the database is as it was when first called."""
    state = {}

    def start():
        state["before"] = snapshot()

    yield start
    if "before" in state:
        diff = changes(state["before"], snapshot())
        assert not diff, f"the sweep changed the database: {diff}"
    assert not aws_calls, f"AWS was called: {aws_calls}"
    assert not mail.outbox, f"mail was sent: {[m.subject for m in mail.outbox]}"


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
}


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
        for value in spec.get("enum") or [known.get(name, TAG)]:
            variants.append({**window, name: value})
    return variants


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


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("name", API_NAMES)
def test_charlie_finds_nothing_of_acme_through_the_api(name, auth, world, unchanged):
    """Detail and action routes: acme's keys answer like GHOST (a 404); lists and summaries: a
    200 with none of acme's rows; bodies naming acme's rows: refused like bodies naming none."""
    client = api_client(world, auth)
    found = Findings()
    unchanged()
    for route in (r for r in api_routes() if r.name == name):
        if auth == "session" and "format" in route.params:
            continue  # the session repeats the token's sweep on the plain routes only
        model = api_model(route)
        for fmt in api_formats(route):
            values = {"format": fmt} if fmt else {}
            # The suffixed routes only repeat the plain ones: one of acme's keys is enough.
            pks = world.pks(model) if model else []
            pks = pks if fmt is None else pks[:1]
            for method in api_methods(route):
                serializer = request_serializer(route, method) if method not in SAFE else None
                own_body, _ = body_for(serializer, world.own_ref)
                if "pk" in route.params:
                    _detail(found, client, route, values, method, pks, own_body)
                    if fmt is None and method in BODY_METHODS:
                        _hostile_body(found, client, route, world, method, serializer)
                elif method == "GET":
                    _listing(found, client, route, world, values, model)
                elif method in SAFE:
                    response = call(client, method, route.url(**values))
                    found.check(not leaks(response), f"{method} {route.url(**values)} leaks")
                    found.checked["api operations"] += 1
                else:
                    _hostile_body(found, client, route, world, method, serializer, values)
    found.assert_none()


def _detail(found, client, route, values, method, pks, body):
    ghost = call(client, method, route.url(pk=GHOST, **values), body)
    expected = outcome(ghost, [GHOST])
    if method != "OPTIONS" and ghost.status_code < 500:  # crashes: see api_client()
        found.check(ghost.status_code == 404, f"{method} {route.name} GHOST: {ghost.status_code}")
    for pk in pks:
        url = route.url(pk=pk, **values)
        response = call(client, method, url, body)
        found.checked["api operations"] += 1
        found.check(
            outcome(response, [pk]) == expected,
            f"{method} {url}: {response.status_code} {text_of(response)[:200]!r}, but GHOST "
            f"gets {ghost.status_code}",
        )
        found.check(not leaks(response), f"{method} {url} shows {leaks(response)}")


def _listing(found, client, route, world, values, model):
    pks = set(world.pks(model)) if model else set()
    for params in query_variants(route, world):
        response = client.get(route.url(**values), params)
        found.checked["api operations"] += 1
        where = f"GET {route.url(**values)}?{params}"
        ok = response.status_code == 200 or response.status_code >= 500  # crashes: see above
        found.check(ok, f"{where}: {response.status_code}")
        found.check(not leaks(response, params.values()), f"{where} shows {leaks(response)}")
        if response.get("Content-Type", "").startswith("application/json"):
            data = response.json()
            rows = data.get("results", data) if isinstance(data, dict) else data
            ids = {row.get("id") for row in rows if isinstance(row, dict)}
            found.check(not ids & pks, f"{where} lists acme's {sorted(ids & pks)}")


def _hostile_body(found, client, route, world, method, serializer, values=None):
    """A write naming acme's rows in its body (on charlie's own row, for a detail route) is
    refused exactly like one naming rows that do not exist."""
    values = dict(values or {})
    if "pk" in route.params:
        own = world.globex_rows.get(api_model(route), [])
        if not own:
            return
        values["pk"] = own[0]
    hostile, refs = body_for(serializer, world.ref)
    if not refs:
        return  # nothing in the body points anywhere: it would only change charlie's own row
    ghost, _ = body_for(serializer, ghost_ref)
    url = route.url(**values)
    response = call(client, method, url, hostile)
    expected = call(client, method, url, ghost)
    found.checked["api operations"] += 1
    found.check(
        error_fields(response) == error_fields(expected),
        f"{method} {url} {hostile}: {error_fields(response)}, naming nothing: "
        f"{error_fields(expected)}",
    )
    found.check(not leaks(response, refs), f"{method} {url} {hostile} shows {leaks(response)}")


def test_a_viewer_can_read_but_every_api_write_is_a_403(world, aws_calls):
    """bob (acme's viewer) on his own organisation's rows: GET works, every write is a 403 and
    changes nothing but the audit log's record of a refused stop/start."""
    client = APIClient()
    client.force_authenticate(world.bob)
    found = Findings()
    before = snapshot()
    writes = 0
    for route in api_routes():
        if "format" in route.params:
            continue
        model = api_model(route)
        for method in api_methods(route):
            if method in SAFE:
                continue
            body, _ = body_for(request_serializer(route, method), world.ref)
            pks = world.pks(model) if "pk" in route.params else [None]
            for pk in pks:
                url = route.url(pk=pk) if pk is not None else route.url()
                response = call(client, method, url, body)
                writes += 1
                found.check(response.status_code == 403, f"{method} {url}: {response.status_code}")
        if "pk" in route.params and "GET" in api_methods(route) and model is not None:
            response = client.get(route.url(pk=world.pks(model)[0]))
            found.check(response.status_code == 200, f"bob cannot read {route.name}")
    found.assert_none()
    COVERAGE["viewer api writes"] += writes
    diff = changes(before, snapshot())
    refused = diff.pop("costs.InstanceAction", {})
    assert not diff, f"bob's writes changed {diff}"
    assert set(refused) == {"added"}, refused
    result = [f.attname for f in InstanceAction._meta.concrete_fields].index("result")
    assert {row[result] for row in refused["added"]} == {"refused"}
    assert not aws_calls and not mail.outbox
    assert writes >= 20  # stop/start on 3 instances, dismiss/snooze on 7, the budget's writes


def test_no_api_operation_crashes(world):
    client = api_client(world, "token")
    crashes = []
    for route in api_routes():
        for fmt in api_formats(route):
            values = {"format": fmt} if fmt else {}
            if "pk" in route.params:
                values["pk"] = GHOST
            for method in api_methods(route):
                response = call(client, method, route.url(**values))
                if response.status_code >= 500:
                    crashes.append(f"{method} {route.url(**values)}")
    assert not crashes, crashes


# --- The admin ------------------------------------------------------------------------------------


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


@pytest.fixture
def staff_charlie(world, client):
    make_staff(world.charlie)
    client.force_login(world.charlie)
    return client


@pytest.mark.parametrize("model", admin_models(), ids=lambda model: model._meta.label)
def test_charlie_finds_nothing_of_acme_in_the_admin(model, world, staff_charlie, unchanged):
    """Every URL of the model's admin (change, delete, history, custom ones) with acme's keys
    answers what GHOST's does; its change list, add page and charlie's own change page show
    nothing of acme's; its actions on acme's rows, its autocompletes and its forms naming acme's
    rows change and find nothing."""
    client, model_admin = staff_charlie, admin.site._registry[model]
    found = Findings()
    pks = [str(pk) for pk in world.pks(model)]
    if pks and model._meta.app_label in OURS:
        # Not vacuous: acme's own staff opens the page the sweep expects charlie not to find.
        insider = Client()
        insider.force_login(make_staff(world.operator))
        page = insider.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/{pks[0]}/")
        found.check(insider.get(page["Location"]).status_code == 200, f"acme cannot open {pks[0]}")
    unchanged()
    for route in model_routes(model):
        object_params = [p for p in route.params if p in ("object_id", "id")]
        if object_params:
            param = object_params[0]
            for method in ("GET", "POST"):
                data = {"post": "yes", "_save": "Save"} if method == "POST" else None
                ghost = _request(client, method, route.url(**{param: GHOST}), data)
                expected = outcome(ghost, [GHOST])
                for pk in pks:
                    url = route.url(**{param: pk})
                    response = _request(client, method, url, data)
                    found.checked["admin urls"] += 1
                    found.check(
                        outcome(response, [pk]) == expected,
                        f"{method} {url}: {response.status_code} {response.get('Location')} "
                        f"{queued_messages(response)}, GHOST: {ghost.status_code} "
                        f"{ghost.get('Location')} {queued_messages(ghost)}",
                    )
                    found.check(not leaks(response), f"{method} {url} shows {leaks(response)}")
        elif route.params:
            found.problems.append(f"{route.route}: no values for {route.params}")
        else:
            response = client.get(route.url())
            found.checked["admin urls"] += 1
            found.check(not leaks(response), f"GET {route.url()} shows {leaks(response)}")
    _actions(found, client, model, model_admin, world)
    _autocompletes(found, client, model, model_admin, world)
    _own_and_add_forms(found, client, model, world)
    found.assert_none()


def _request(client, method, url, data=None):
    return client.get(url) if method == "GET" else client.post(url, data or {})


def _actions(found, client, model, model_admin, world):
    """Each action POSTed with acme's keys selected, then confirmed: what GHOST gets."""
    opts = model._meta
    url = f"/admin/{opts.app_label}/{opts.model_name}/"
    pks = [str(pk) for pk in world.pks(model)]
    if not pks:
        return
    future = str(timezone.localdate() + timedelta(days=30))
    for name in model_admin.get_actions(staff_request(world.charlie)):
        for extra in ({}, {**CONFIRM, "snooze_until": future}):
            data = {"action": name, "index": 0, **extra}
            response = client.post(url, {**data, "_selected_action": pks})
            ghost = client.post(url, {**data, "_selected_action": [GHOST]})
            found.checked["admin urls"] += 1
            got, expected = outcome(response, pks), outcome(ghost, [GHOST])
            found.check(
                got == expected,
                f"action {name} {extra} on {opts.label} {pks}: {response.status_code} "
                f"{queued_messages(response)}, GHOST: {ghost.status_code} {queued_messages(ghost)}"
                f" {difference(got, expected)}",
            )
            found.check(not leaks(response, pks), f"action {name} shows {leaks(response)}")


def _autocompletes(found, client, model, model_admin, world):
    """Each autocomplete field of the page and its inlines finds none of acme's rows."""
    request = staff_request(world.charlie)
    sources = [(model, model_admin.get_autocomplete_fields(request))]
    for inline in model_admin.get_inline_instances(request):
        sources.append((inline.model, inline.get_autocomplete_fields(request)))
    for source, names in sources:
        for name in names:
            remote = source._meta.get_field(name).related_model
            acme = {str(pk) for pk in world.pks(remote)}
            for term in ("", TAG, "a", "acme", "alice"):
                params = {
                    "app_label": source._meta.app_label,
                    "model_name": source._meta.model_name,
                    "field_name": name,
                    "term": term,
                }
                response = client.get("/admin/autocomplete/", params)
                found.checked["admin urls"] += 1
                where = f"autocomplete {source._meta.label}.{name} {term!r}"
                found.check(response.status_code == 200, f"{where}: {response.status_code}")
                ids = {r["id"] for r in response.json().get("results", [])}
                found.check(not ids & acme, f"{where} finds acme's {sorted(ids & acme)}")
                found.check(not leaks(response), f"{where} shows {leaks(response)}")


def _own_and_add_forms(found, client, model, world):
    """charlie's own change page and the add page list none of acme's rows as choices, and
    POSTing them with every foreign key set to one of acme's rows is refused like GHOST."""
    opts = model._meta
    pages = [f"/admin/{opts.app_label}/{opts.model_name}/add/"]
    own = world.globex_rows.get(model, [])
    if own:
        pages.append(f"/admin/{opts.app_label}/{opts.model_name}/{own[0]}/change/")
    for url in pages:
        page = client.get(url)
        found.checked["admin urls"] += 1
        found.check(not leaks(page), f"GET {url} shows {leaks(page)}")
        if page.status_code != 200 or "adminform" not in (page.context or {}):
            continue
        hostile, refs = admin_form_data(page, world.ref)
        if not refs:
            continue
        ghost, _ = admin_form_data(page, ghost_ref)
        response = client.post(url, hostile)
        expected = client.post(url, ghost)
        found.checked["admin urls"] += 1
        found.check(
            form_errors(response) == form_errors(expected),
            f"POST {url} naming acme's rows: {form_errors(response)}, naming none: "
            f"{form_errors(expected)}",
        )
        found.check(not leaks(response, refs), f"POST {url} shows {leaks(response, refs)}")


def admin_form_data(page, ref) -> tuple[dict, list]:
    """The page's form (and inline formsets, with one more row) as the browser would POST it,
    every foreign key set to REF(model) and every empty required field filled in."""
    data, refs = {}, []
    _form_fields(page.context["adminform"].form, data, refs, ref)
    for inline in page.context.get("inline_admin_formsets", []):
        formset = inline.formset
        total = len(formset.forms) + 1
        for bound in formset.management_form:
            data[bound.html_name] = bound.value()
        data[formset.management_form["TOTAL_FORMS"].html_name] = total
        for form in formset.forms:
            _form_fields(form, data, [], None)
        extra = formset.empty_form
        extra.prefix = extra.prefix.replace("__prefix__", str(total - 1))
        _form_fields(extra, data, refs, ref)
    return {k: v for k, v in data.items() if v is not None}, refs


def _form_fields(form, data, refs, ref):
    for bound in form:
        fld = bound.field
        if ref is not None and isinstance(fld, forms.ModelChoiceField):
            value = ref(fld.queryset.model)
            if value is not None:
                many = isinstance(fld, forms.ModelMultipleChoiceField)
                data[bound.html_name] = [value] if many else value
                refs.append(value)
                continue
        widget = getattr(fld.widget, "widget", fld.widget)  # RelatedFieldWidgetWrapper
        value = fld.prepare_value(bound.value())
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, sub, part in zip(widget.widgets_names, widget.widgets, parts, strict=True):
                data[bound.html_name + suffix] = sub.format_value(part) or ""
            continue
        if isinstance(widget, forms.CheckboxInput):
            if widget.check_test(value):
                data[bound.html_name] = "on"
            continue
        shown = widget.format_value(value)
        if getattr(widget, "allow_multiple_selected", False):
            data[bound.html_name] = shown
            continue
        if isinstance(shown, list):
            shown = shown[0] if shown and shown[0] else ""
        if not shown and fld.required:
            shown = _required_value(fld)
        data[bound.html_name] = shown if shown is not None else ""


def _required_value(fld) -> str:
    if isinstance(fld, forms.JSONField):
        return '["us-east-1"]'
    if isinstance(fld, forms.EmailField):
        return "sweep@example.com"
    if isinstance(fld, forms.DecimalField | forms.IntegerField | forms.FloatField):
        return str(max(fld.min_value or 1, 1))
    if isinstance(fld, forms.DateField):
        return str(timezone.localdate() + timedelta(days=30))
    if isinstance(fld, forms.ChoiceField):
        return next((str(k) for k, _ in fld.choices if k not in ("", None)), "")
    return "tenant-sweep"


def form_errors(response) -> tuple:
    """Status, redirect and the error codes of the form and its inline rows."""
    context = response.context or {}
    if "adminform" not in context:
        return (response.status_code, response.get("Location"))
    form = context["adminform"].form
    codes = {
        name: sorted(e.code or "" for e in errs) for name, errs in form.errors.as_data().items()
    }
    inline = [
        [
            {name: sorted(e.code or "" for e in errs) for name, errs in f.errors.as_data().items()}
            for f in formset.formset.forms
        ]
        for formset in context.get("inline_admin_formsets", [])
    ]
    return (response.status_code, codes, inline)


def test_charlie_finds_nothing_of_acme_on_the_admin_site_pages(world, staff_charlie, unchanged):
    """The site's own URLs: the index (stat cards, chart), each app's index, jsi18n, the
    password pages, the catch-all; and view-on-site for every one of acme's rows reveals no
    data (see the xfail below for what it does reveal)."""
    client, found = staff_charlie, Findings()
    unchanged()
    labels = sorted({model._meta.app_label for model in admin.site._registry})
    for route in admin_routes():
        if route.route.startswith(tuple(f"admin/{label}/" for label in labels)):
            continue  # the models' own pages: test_charlie_finds_nothing_of_acme_in_the_admin
        if route.pattern.name == "logout":
            continue  # charlie would be logged out for the rest of the sweep
        if route.pattern.name == "view_on_site":
            for model, pks in world.acme_rows.items():
                content_type = ContentType.objects.get_for_model(model)
                for pk in pks[:1]:
                    response = client.get(route.url(content_type_id=content_type.pk, object_id=pk))
                    found.checked["admin urls"] += 1
                    found.check(not leaks(response), f"view on site {model} {pk} shows data")
            continue
        for values in _site_values(route, labels):
            url = route.url(**values)
            response = client.get(url)
            found.checked["admin urls"] += 1
            found.check(not leaks(response), f"GET {url} shows {leaks(response)}")
            found.check(response.status_code < 500, f"GET {url}: {response.status_code}")
    found.assert_none()


def _site_values(route, labels) -> list[dict]:
    if "app_label" in route.params:
        return [{"app_label": label} for label in labels]
    if "url" in route.params:
        return [{"url": "no-such-page/"}]
    return [{}]


def test_view_on_site_does_not_confirm_that_an_acme_row_exists(world, staff_charlie):
    content_type = ContentType.objects.get_for_model(CloudAccount)
    acme = staff_charlie.get(f"/admin/r/{content_type.pk}/{world.pks(CloudAccount)[0]}/")
    ghost = staff_charlie.get(f"/admin/r/{content_type.pk}/{GHOST}/")

    assert acme.status_code == ghost.status_code


# --- The dashboard --------------------------------------------------------------------------------


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


def ghost_values(values: dict) -> dict:
    ghosts = {"pk": GHOST, "token_key": "ghost987", "uidb64": urlsafe_base64_encode(b"987654321")}
    return {k: ghosts.get(k, v) for k, v in values.items()}


def test_charlie_finds_nothing_of_acme_on_the_dashboard(world, client, unchanged):
    """/instances/<pk>/stop|start/, /aws-accounts/<pk>/ and /test/, token revocation and the
    auth pages with acme's keys: what GHOST gets, GET and POST (so a 404, and no stop reaches
    AWS); the pages without keys show nothing of acme's."""
    client.force_login(world.charlie)
    found = Findings()
    insider = Client()
    insider.force_login(world.alice)
    for route in site_routes():
        if route.params and route.module.startswith(OURS):
            # Not vacuous: alice opens what charlie must not (POST-only routes: GET is a 405).
            statuses = {insider.get(route.url(**v)).status_code for v in site_values(route, world)}
            found.check(200 in statuses or statuses == {405}, f"{route.route}: alice {statuses}")
    unchanged()
    ghosts = {}
    for route in site_routes():
        if route.pattern.name == "logout":
            continue
        methods = ("GET", "POST") if route.module.startswith(OURS) else ("GET",)
        if not route.params:
            response = client.get(route.url())
            found.checked["dashboard urls"] += 1
            found.check(not leaks(response), f"GET {route.url()} shows {leaks(response)}")
            continue
        for values in site_values(route, world):
            keys = [v for k, v in values.items() if k != "action"]
            masked = [*keys, *(v for k, v in ghost_values(values).items() if k != "action")]
            ghost_url = route.url(**ghost_values(values))
            for method in methods:
                if (method, ghost_url) not in ghosts:
                    ghost = _request(client, method, ghost_url)
                    ghosts[method, ghost_url] = (ghost, outcome(ghost, masked))
                ghost, expected = ghosts[method, ghost_url]
                url = route.url(**values)
                response = _request(client, method, url)
                found.checked["dashboard urls"] += 1
                found.check(
                    outcome(response, masked) == expected,
                    f"{method} {url}: {response.status_code} {response.get('Location')}, "
                    f"GHOST: {ghost.status_code} {ghost.get('Location')}",
                )
                found.check(not leaks(response, keys), f"{method} {url} shows {leaks(response)}")
    found.assert_none()


def test_dashboard_forms_naming_acme_rows_change_nothing_of_acme(world, client, aws_calls):
    """POSTing every form page of ours (no key in the URL) with every reference set to one of
    acme's rows: nothing of acme's changes, nothing is created for acme."""
    client.force_login(world.charlie)
    found = Findings()
    hostile = {name: world.ref(model) for name, model in tenant_models_by_name().items()}
    hostile.update(
        {  # what would make the forms valid but for the reference
            "name": "tenant-sweep",
            "account_id": "123456789012",
            "role_arn": "arn:aws:iam::123456789012:role/Sweep",
            "regions": "us-east-1",
            "alert_email": "sweep@example.com",
            "cooldown_minutes": "60",
        }
    )
    hostile = {k: v for k, v in hostile.items() if v is not None}
    before = snapshot()
    for route in site_routes():
        if route.params or not route.module.startswith(OURS) or route.pattern.name == "signup":
            continue
        response = client.post(route.url(), hostile)
        found.checked["dashboard urls"] += 1
        found.check(response.status_code < 500, f"POST {route.url()}: {response.status_code}")
        found.check(not leaks(response, hostile.values()), f"POST {route.url()} shows data")
    found.assert_none()
    after = snapshot()
    diff = changes(before, after)
    for model, pks in world.acme_rows.items():
        label = model._meta.label
        if label in before:
            altered = [pk for pk in pks if before[label][pk] != after[label].get(pk)]
            assert not altered, f"acme's {label} {altered} changed: {diff.get(label)}"
    touched = {
        model: set(pks) - set(world.acme_rows.get(model, []))
        for model, pks in _rows_of(world.acme, world.acme_users).items()
    }
    assert not any(touched.values()), f"new rows for acme: {touched}"
    assert not {label for label in diff if label.startswith("accounts.CloudAccount")}, diff
    assert not aws_calls and not mail.outbox


def test_a_viewer_changes_nothing_from_the_dashboard_or_the_admin(world, client, aws_calls):
    """bob, acme's viewer (and staff with every permission of our apps): stop/start and test
    connection from the dashboard, and every admin action on acme's rows, confirmed: nothing
    changes but the audit log's refused attempts, and AWS is never asked."""
    make_staff(world.bob)
    client.force_login(world.bob)
    before = snapshot()
    for route in site_routes():
        if route.module.startswith(OURS) and "pk" in route.params:
            for values in site_values(route, world):
                client.post(route.url(**values))
    future = str(timezone.localdate() + timedelta(days=30))
    for model in admin_models():
        opts, pks = model._meta, [str(pk) for pk in world.pks(model)]
        for name in admin.site._registry[model].get_actions(staff_request(world.bob)):
            if name == "delete_selected" or not pks:
                continue  # deleting is a Django permission, not a role (not a tenant matter)
            data = {"action": name, "index": 0, "_selected_action": pks, "snooze_until": future}
            client.post(f"/admin/{opts.app_label}/{opts.model_name}/", {**data, **CONFIRM})
    diff = changes(before, snapshot())
    refused = diff.pop("costs.InstanceAction", {"added": []})
    assert not diff, f"bob changed {diff}"
    result = [f.attname for f in InstanceAction._meta.concrete_fields].index("result")
    assert refused["added"] and {row[result] for row in refused["added"]} == {"refused"}
    assert not aws_calls and not mail.outbox


# --- Same pages, with and without acme -----------------------------------------------------------


def overview_urls(world: World) -> list[tuple[str, dict]]:
    """Every page that lists or sums rows: the API's lists and summaries with their query
    variants, every admin change list (searched for acme too), the admin's and the apps'
    indexes, the dashboard's pages without keys."""
    urls = []
    for route in api_routes():
        if "pk" in route.params or "format" in route.params:
            continue
        if "GET" in api_methods(route):
            urls += [(route.url(), params) for params in query_variants(route, world)]
    for model in admin_models():
        opts = model._meta
        changelist = f"/admin/{opts.app_label}/{opts.model_name}/"
        urls += [(changelist, {}), (changelist, {"q": TAG}), (changelist, {"q": "a"})]
    urls.append(("/admin/", {}))
    urls += [(f"/admin/{label}/", {}) for label in {m._meta.app_label for m in admin_models()}]
    for route in site_routes():
        if not route.params and route.pattern.name != "logout":
            urls.append((route.url(), {}))
    return urls


def test_every_list_and_overview_is_the_same_without_acme(world, client, unchanged):
    """Charlie's view of every list, summary, change list and overview page (stat cards, the
    chart's JSON) is byte for byte the same once acme and its people are deleted."""
    make_staff(world.charlie)
    client.force_login(world.charlie)
    api = api_client(world, "token")
    urls = overview_urls(world)

    def look():
        pages = {}
        for url, params in urls:
            reader = api if url.startswith("/api/") else client
            response = reader.get(url, params)
            pages[url, json.dumps(params, sort_keys=True)] = (
                response.status_code,
                normalized(response),
            )
        return pages

    with_acme = look()
    remove_acme(world)
    without_acme = look()
    COVERAGE["overview pages compared without acme"] += len(urls)

    differ = [key for key in with_acme if with_acme[key] != without_acme[key]]
    assert not differ, f"charlie's view depends on acme's rows: {differ}"
    assert len(with_acme) >= 80


def test_the_aws_guard_catches_a_stop_that_reaches_for_aws(world, aws_calls):
    """What the sweeps rely on: an instance stop that does get as far as AWS is caught."""
    instance = Instance.objects.get(pk=world.pks(Instance)[0])

    with pytest.raises(AssertionError, match="called during the tenant sweep"):
        actions.stop_instance(instance, actor=world.alice)

    assert aws_calls


# --- The sweep itself -----------------------------------------------------------------------------


def test_the_sweep_knows_every_url(world):
    """Every route is one the sweeps reach, with parameters they know how to fill; the counts
    below are what they cover (printed with -s)."""
    unknown = {(r.route, p) for r in all_routes() for p in r.params if p not in KNOWN_PARAMS}
    assert not unknown, f"routes with parameters the tenant sweep cannot fill: {unknown}"
    # Every API route the resolver has is also in the schema the bodies and parameters come from.
    _, views = _spectacular()
    undocumented = {r.name for r in api_routes() if r.callback not in views and r.params != ()}
    assert not undocumented - {"api:api-root"}, undocumented
    # Every model of our apps with a tenant has an admin page and acme has a row of it.
    ours = [m for m in apps.get_models() if hasattr(m, "tenant_path")]
    assert all(world.pks(model) for model in ours), [m for m in ours if not world.pks(m)]

    operations = sum(
        len(api_formats(r)) * len(api_methods(r)) for r in api_routes() if r.name in API_NAMES
    )
    admin_pages = sum(len(model_routes(m)) for m in admin_models())
    print(
        f"\nAPI: {len(api_routes())} routes, {operations} route x format x method operations; "
        f"admin: {len(admin_models())} ModelAdmins, {admin_pages} model URLs, "
        f"{len(admin_routes()) - admin_pages} site URLs; "
        f"dashboard and auth: {len(site_routes())} routes"
    )
    assert len(API_NAMES) >= 20 and len(admin_models()) >= 20
