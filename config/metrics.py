"""GET /metrics: django-prometheus' HTTP and database metrics plus Spendlens' business metrics.

HTTP metrics are counted in each gunicorn worker; with PROMETHEUS_MULTIPROC_DIR set (the
container sets it) prometheus_client writes them to files there and every scrape, whichever
worker answers it, adds all workers' files up (config/gunicorn.py clears the directory at start
and marks exited workers dead).

Business metrics are read from the database at scrape time instead of being counted in memory:
syncs, alerts and actions mostly happen in the django-q2 workers, another container that this
web process cannot see, and the database already records every one of them. Counters derived
from append-only tables (sync runs, alert events, the action log) only ever grow, as Prometheus
expects of a counter.
"""

from __future__ import annotations

import hmac
import logging
import os
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, F, Q, Sum
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.utils import floatToGoString

logger = logging.getLogger(__name__)

# Cost syncs take from under a second (one account, a few days) to minutes (a backfill).
SYNC_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
ALERT_OUTCOMES = {"sent": "sent", "suppressed": "suppressed", "skipped": "suppressed"}


def _sync_metrics():
    from costs.models import SyncRun

    finished = SyncRun.objects.exclude(finished_at=None).exclude(status=SyncRun.Status.RUNNING)
    duration = F("finished_at") - F("started_at")
    buckets = {
        f"le_{i}": Count("pk", filter=Q(duration__lte=timedelta(seconds=b)))
        for i, b in enumerate(SYNC_BUCKETS)
    }
    totals = finished.annotate(duration=duration).aggregate(
        count=Count("pk"),
        seconds=Sum("duration"),
        failures=Count("pk", filter=Q(status=SyncRun.Status.FAILED)),
        requests=Sum("requests_made"),
        **buckets,
    )
    histogram = HistogramMetricFamily(
        "spendlens_sync_duration_seconds",
        "Duration of finished syncs, from the sync-run history.",
        labels=["kind"],
    )
    seconds = totals["seconds"] or timedelta(0)
    histogram.add_metric(
        ["costs"],
        [(floatToGoString(b), totals[f"le_{i}"]) for i, b in enumerate(SYNC_BUCKETS)]
        + [("+Inf", totals["count"])],
        sum_value=seconds.total_seconds(),
    )
    failures = CounterMetricFamily("spendlens_sync_failures", "Syncs that failed.", labels=["kind"])
    failures.add_metric(["costs"], totals["failures"])
    requests = CounterMetricFamily(
        "spendlens_cost_explorer_requests",
        "Cost Explorer API requests made by syncs (each one is billed by AWS).",
    )
    requests.add_metric([], totals["requests"] or 0)
    return [histogram, failures, requests]


def _cost_metrics():
    from costs.models import CostRollup

    today = timezone.localdate()
    month_to_date = GaugeMetricFamily(
        "spendlens_month_to_date_cost_usd",
        "Spend since the 1st of this month (USD), each cost counted once.",
        labels=["organization", "account"],
    )
    rows = (
        CostRollup.objects.filter(
            dimension=CostRollup.Dimension.ACCOUNT,
            usage_date__gte=today.replace(day=1),
            usage_date__lte=today,
        )
        .values("organization__slug", "key")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    for row in rows:
        month_to_date.add_metric([row["organization__slug"], row["key"]], float(row["amount"]))
    return [month_to_date]


def _recommendation_metrics():
    from findings.models import Recommendation

    count = GaugeMetricFamily(
        "spendlens_open_recommendations",
        "Open recommendations.",
        labels=["organization", "kind"],
    )
    savings = GaugeMetricFamily(
        "spendlens_open_recommendations_savings_usd",
        "Monthly saving (USD) if every open recommendation were applied.",
        labels=["organization", "kind"],
    )
    rows = (
        Recommendation.objects.filter(status=Recommendation.Status.OPEN)
        .values("account__organization__slug", "kind")
        .annotate(count=Count("pk"), saving=Sum("monthly_saving"))
        .order_by()
    )
    for row in rows:
        labels = [row["account__organization__slug"], row["kind"]]
        count.add_metric(labels, row["count"])
        savings.add_metric(labels, float(row["saving"] or 0))
    return [count, savings]


def _realised_metrics():
    from actions import realised
    from actions.models import InstanceAction

    saved = GaugeMetricFamily(
        "spendlens_realised_savings_usd",
        "Savings realised by the fixes applied through Spendlens (USD), accrued this month or "
        "to date.",
        labels=["organization", "account", "period"],
    )
    in_force = GaugeMetricFamily(
        "spendlens_realised_savings_in_force_monthly_usd",
        "Monthly saving (USD) of the fixes still in force (instances still stopped).",
        labels=["organization", "account"],
    )
    found = realised.realised_savings(InstanceAction.objects.select_related("organization"))
    for account, figures in found.accounts:
        labels = [account.organization.slug, account.account_id]
        saved.add_metric([*labels, "month"], float(figures.this_month))
        saved.add_metric([*labels, "to_date"], float(figures.to_date))
        in_force.add_metric(labels, float(figures.in_force_monthly))
    return [saved, in_force]


def _event_metrics():
    from actions.models import InstanceAction
    from alerts.models import AlertEvent

    alerts = CounterMetricFamily(
        "spendlens_alerts",
        "Alerts by outcome: sent, suppressed (cooldown or opted out) or failed.",
        labels=["kind", "outcome"],
    )
    outcomes: dict[tuple[str, str], int] = {}
    rows = AlertEvent.objects.values("kind", "status").annotate(n=Count("pk")).order_by()
    for row in rows:
        outcome = ALERT_OUTCOMES.get(row["status"], row["status"])
        if outcome in ("sent", "suppressed", "failed"):
            key = (row["kind"], outcome)
            outcomes[key] = outcomes.get(key, 0) + row["n"]
    for (kind, outcome), n in sorted(outcomes.items()):
        alerts.add_metric([kind, outcome], n)
    actions = CounterMetricFamily(
        "spendlens_instance_actions",
        "Stop and start attempts, refusals included, from the audit log.",
        labels=["action", "result"],
    )
    rows = InstanceAction.objects.values("action", "result").annotate(n=Count("pk")).order_by()
    for row in rows:
        actions.add_metric([row["action"], row["result"]], row["n"])
    return [alerts, actions]


class BusinessCollector:
    """Read at every scrape; a database outage shows as spendlens_database_up 0, not a 500."""

    def collect(self):
        up = GaugeMetricFamily(
            "spendlens_database_up", "1 if the business metrics could be read from the database."
        )
        try:
            families = [
                *_sync_metrics(),
                *_cost_metrics(),
                *_recommendation_metrics(),
                *_realised_metrics(),
                *_event_metrics(),
            ]
        except DatabaseError:
            logger.exception("business metrics: database unavailable")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def registry() -> CollectorRegistry:
    combined = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(combined)  # registers itself: every worker's files, summed
    else:
        combined.register(_Default())
    combined.register(BusinessCollector())
    return combined


class _Default:
    """The process's default registry (django-prometheus' metrics) inside another registry."""

    def collect(self):
        return REGISTRY.collect()


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return settings.DEBUG or settings.METRICS_PUBLIC
    supplied = request.headers.get("Authorization", "")
    return hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode())


def metrics(request):
    if not _authorized(request):
        return HttpResponse(
            "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'.\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
