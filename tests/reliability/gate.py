"""An HTTP proxy in front of the emulator that holds chosen AWS calls until the test says go;
and the Cost Explorer data and snapshots the reliability tests share.

Race tests need the work to be in flight at a known point without sleeping: a sync is "mid-way"
when its Cost Explorer call has reached the gate and is being held there. The test waits for
the arrival (an event, not a timer), does what it wants (start a rival, kill the worker), then
releases the held calls to the emulator, or drops them when their caller is dead.

Only the network edge is controlled: the code under test runs unchanged and talks real HTTP.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from accounts import aws as aws_module
from costs.models import CostRecord, CostRollup
from tests.conftest import queue_cost_explorer

HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}
# Long enough for any test; a held call never outlives its test (stop() releases it).
MAX_HOLD_SECONDS = 120


class Gate:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.held_operations: set[str] = set()
        self.arrivals: dict[str, int] = {}
        self.arrival_times: dict[str, list[float]] = {}  # time.monotonic() of each call
        self._generation = 0  # bumped by release()/drop(): calls held before it may go
        self._dropped: set[int] = set()
        self._cond = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Gate:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.drop()
        self._server.shutdown()
        self._thread.join()

    def hold(self, operation: str) -> None:
        """From now on, calls of OPERATION (e.g. 'GetCostAndUsage') wait at the gate."""
        with self._cond:
            self.held_operations.add(operation)

    def release(self) -> None:
        """Let the held calls through to the emulator; later calls pass freely."""
        with self._cond:
            self.held_operations.clear()
            self._generation += 1
            self._cond.notify_all()

    def drop(self) -> None:
        """Answer the held calls with an error without forwarding them (their caller is gone)."""
        with self._cond:
            self._dropped.add(self._generation)
            self.held_operations.clear()
            self._generation += 1
            self._cond.notify_all()

    def count(self, operation: str) -> int:
        with self._cond:
            return self.arrivals.get(operation, 0)

    def wait_for(self, operation: str, calls: int, timeout: float = 30) -> bool:
        """Block until CALLS calls of OPERATION have arrived in total; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.arrivals.get(operation, 0) >= calls, timeout)

    def _app(self, environ, start_response):
        request = Request(environ)
        data = request.get_data()
        target = request.headers.get("X-Amz-Target", "")
        if target:  # JSON protocol (Cost Explorer, CloudWatch); else the query protocol's Action
            operation = target.rsplit(".", 1)[-1]
        else:
            operation = dict(parse_qsl(data.decode("utf-8", "replace"))).get("Action", "")
        with self._cond:
            self.arrivals[operation] = self.arrivals.get(operation, 0) + 1
            self.arrival_times.setdefault(operation, []).append(time.monotonic())
            self._cond.notify_all()
            if operation in self.held_operations:
                generation = self._generation
                self._cond.wait_for(lambda: self._generation != generation, MAX_HOLD_SECONDS)
                if generation in self._dropped:
                    body = '{"__type": "ServiceUnavailable", "message": "dropped by the gate"}'
                    return Response(body, status=503)(environ, start_response)
        upstream = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            headers={k: v for k, v in request.headers if k.lower() != "host"},
            data=data,
            timeout=60,
        )
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(upstream.content, status=upstream.status_code, headers=headers)(
            environ, start_response
        )


# --- Cost Explorer data and what a sync stores ---

CE_CALL = "GetCostAndUsage"


def gated(aws, settings, monkeypatch):
    """Body of a `gate` fixture: the emulator behind a gate; boto3 clients talk to the gate."""
    proxy = Gate(aws).start()
    settings.AWS_ENDPOINT_URL = proxy.url
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    aws_module.clear_credential_cache()
    yield proxy
    proxy.stop()
    aws_module.clear_credential_cache()


def cost_page(today, days=30, scale=1):
    """Cost Explorer's answer for DAYS days up to TODAY: EC2 and S3, the last 2 estimated."""
    results = []
    for n in range(days, -1, -1):
        day = today - timedelta(days=n)
        groups = {
            ("Amazon Elastic Compute Cloud - Compute", "us-east-1"): Decimal(10 + day.day) * scale,
            ("Amazon Simple Storage Service", "NoRegion"): Decimal("1.25") * scale,
        }
        results.append(
            {
                "TimePeriod": {
                    "Start": day.isoformat(),
                    "End": (day + timedelta(days=1)).isoformat(),
                },
                "Total": {},
                "Groups": [
                    {
                        "Keys": list(keys),
                        "Metrics": {
                            "UnblendedCost": {"Amount": str(amount), "Unit": "USD"},
                            "AmortizedCost": {"Amount": str(amount), "Unit": "USD"},
                        },
                    }
                    for keys, amount in groups.items()
                ],
                "Estimated": n < 2,
            }
        )
    return {"ResultsByTime": results, "DimensionValueAttributes": [], "GroupDefinitions": []}


def reset_emulator(endpoint, pages: dict[str, dict]):
    """A fresh emulator (moto caches a Cost Explorer answer per request) with PAGES queued."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    aws_module.clear_credential_cache()
    for account_id, page in pages.items():
        queue_cost_explorer(endpoint, account_id, [page])


def stored_costs(organization):
    records = CostRecord.objects.filter(organization=organization).order_by(
        "sub_account_id", "metric", "usage_date", "service", "region"
    )
    return [
        (r.sub_account_id, r.metric, r.usage_date, r.service, r.region, r.amount, r.estimated)
        for r in records
    ]


def stored_rollups(organization):
    rows = CostRollup.objects.filter(organization=organization).order_by(
        "dimension", "usage_date", "key"
    )
    return list(rows.values_list("dimension", "usage_date", "key", "amount"))
