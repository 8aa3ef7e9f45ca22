"""A scripted-fault HTTP proxy in front of the emulator.

Requests whose operation matches a scripted one get the scripted AWS error (or answer)
instead; everything else goes through to moto. boto3 talks to it over real HTTP, so botocore's
own retry and error parsing run exactly as they would against AWS.

The operation comes from X-Amz-Target (JSON protocol: Cost Explorer, CloudWatch), from the
form body's Action (query protocol: EC2, STS, RDS) or from the path (REST-JSON: Savings Plans,
POST /DescribeSavingsPlans); errors are answered in the caller's protocol.
Every request is also recorded in arrival order (`requests`), so a test can assert what went
over the wire and in which order, e.g. the DryRun StopInstances before the real one, or which
access key signed it (to see credentials being renewed).

Besides errors, a call can be hung (`hang`): the proxy holds it without answering, so the
client's own read timeout fires exactly as it would against a stalled AWS endpoint. A hung call
is never passed on to the emulator (it could otherwise consume a queued answer after its test).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from demo.aws_front import forward, parse_call

# A hung call is released after this long, or when the proxy stops, whichever is first.
MAX_HANG_SECONDS = 120


@dataclass(frozen=True)
class Hang:
    seconds: float


@dataclass
class SeenRequest:
    service: str
    operation: str
    params: dict = field(default_factory=dict)  # query-protocol form fields, e.g. DryRun
    access_key: str = ""  # the access key ID that signed the request

    @property
    def dry_run(self) -> bool:
        return self.params.get("DryRun", "").lower() == "true"


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.scripts: dict[str, deque] = defaultdict(deque)
        self.calls: dict[str, int] = defaultdict(int)
        self.requests: list[SeenRequest] = []
        self._released = threading.Event()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._released.set()
        self._server.shutdown()
        self._thread.join()

    def fail(
        self, operation: str, code: str, message: str = "", status: int = 400, times=1, skip=0
    ):
        """The next TIMES calls of OPERATION (e.g. 'GetCostAndUsage') get this AWS error.

        With SKIP, that many calls go through to the emulator first (e.g. skip=1 lets a
        DryRun StopInstances through and fails the real one).
        """
        body = {"__type": code, "message": message or code}
        self.scripts[operation].extend([None] * skip)
        for _ in range(times):
            self.scripts[operation].append((status, body))

    def hang(self, operation: str, seconds: float = MAX_HANG_SECONDS, times=1, skip=0):
        """The next TIMES calls of OPERATION get no answer for SECONDS (past the client's read
        timeout), then a 504; SKIP calls go through first. Hung calls never reach the emulator."""
        self.scripts[operation].extend([None] * skip)
        self.scripts[operation].extend([Hang(seconds)] * times)

    def seen(self, service: str) -> list[SeenRequest]:
        """The requests SERVICE (e.g. 'ec2') received, in order."""
        return [r for r in self.requests if r.service == service]

    def answer(self, operation: str, body: dict):
        """The next call of OPERATION gets BODY (JSON and REST-JSON operations)."""
        self.scripts[operation].append((200, body))

    def answer_xml(self, operation: str, xml: str):
        """The next call of OPERATION gets the XML document XML (query-protocol operations)."""
        self.scripts[operation].append((200, xml))

    def _app(self, environ, start_response):
        request = Request(environ)
        call = parse_call(request)
        service, operation = call.service, call.operation
        self.calls[operation] += 1
        self.requests.append(SeenRequest(service, operation, call.params, call.access_key))
        scripted = self.scripts[operation].popleft() if self.scripts[operation] else None
        if isinstance(scripted, Hang):
            self._released.wait(scripted.seconds)
            # The client gave up long ago; whatever is written here goes nowhere.
            scripted = (504, {"__type": "GatewayTimeout", "message": "hung by the fault proxy"})
        if scripted is None:
            return forward(request, self.upstream)(environ, start_response)
        status, body = scripted
        if isinstance(body, str):
            response = Response(body, status=status, content_type="text/xml")
        elif call.rest and status != 200:
            response = Response(
                json.dumps({"message": body["message"]}),
                status=status,
                content_type="application/json",
                headers={"x-amzn-ErrorType": body["__type"]},
            )
        elif call.json_protocol or status == 200:
            response = Response(
                json.dumps(body), status=status, content_type="application/x-amz-json-1.1"
            )
        else:
            response = Response(
                query_error(service, body["__type"], body["message"]),
                status=status,
                content_type="text/xml",
            )
        return response(environ, start_response)


def query_error(service: str, code: str, message: str) -> str:
    """An error body as the query-protocol services write it (EC2 has its own envelope)."""
    error = f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
    if service == "ec2":
        return (
            f"<Response><Errors><Error>{error}</Error></Errors>"
            "<RequestID>fault-proxy</RequestID></Response>"
        )
    return (
        f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error>"
        "<RequestId>fault-proxy</RequestId></ErrorResponse>"
    )
