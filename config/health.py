"""Liveness and readiness probes.

The load balancer probes targets by their private IP, which is never in ALLOWED_HOSTS, and over
plain HTTP. This middleware sits first in the stack and answers /health and /ready before
SecurityMiddleware (SSL redirect) or CommonMiddleware (host validation) can reject the probe.
Prometheus scrapes each task by IP too: /metrics is answered here as well, behind its token.
"""

import logging

from django.db import connections
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def liveness():
    # Cheap on purpose: a failing database must not make ECS kill healthy web tasks.
    return JsonResponse({"status": "ok"})


def check_database():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker():
    from django_q.brokers import get_broker

    broker = get_broker()
    # The ORM broker's ping() is always True; counting its queue proves the table answers.
    broker.ping()
    broker.queue_size()


READINESS_CHECKS = {"database": check_database, "broker": check_broker}


def readiness():
    failed = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            logger.warning("readiness check %s failed: %s", name, exc)
            failed[name] = exc.__class__.__name__
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    return JsonResponse({"status": "ok", "checks": list(READINESS_CHECKS)})


PROBES = {"/health": liveness, "/health/": liveness, "/ready": readiness, "/ready/": readiness}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            probe = PROBES.get(request.path_info)
            if probe is not None:
                return probe()
            if request.path_info in ("/metrics", "/metrics/"):
                from config.metrics import metrics

                return metrics(request)
        return self.get_response(request)
