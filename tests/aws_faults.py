"""A scripted-fault HTTP proxy in front of the emulator.

Requests whose X-Amz-Target matches a scripted operation get the scripted AWS error (or
answer) instead; everything else goes through to moto. boto3 talks to it over real HTTP, so
botocore's own retry and error parsing run exactly as they would against AWS.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.scripts: dict[str, deque] = defaultdict(deque)
        self.calls: dict[str, int] = defaultdict(int)
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
        self._server.shutdown()
        self._thread.join()

    def fail(self, operation: str, code: str, message: str = "", status: int = 400, times=1):
        """The next TIMES calls of OPERATION (e.g. 'GetCostAndUsage') get this JSON error."""
        body = {"__type": code, "message": message or code}
        for _ in range(times):
            self.scripts[operation].append((status, body))

    def answer(self, operation: str, body: dict):
        self.scripts[operation].append((200, body))

    def _app(self, environ, start_response):
        request = Request(environ)
        target = request.headers.get("X-Amz-Target", "")
        operation = target.rsplit(".", 1)[-1] if target else ""
        self.calls[operation] += 1
        if operation and self.scripts[operation]:
            status, body = self.scripts[operation].popleft()
            response = Response(
                json.dumps(body), status=status, content_type="application/x-amz-json-1.1"
            )
            return response(environ, start_response)
        upstream = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            headers={k: v for k, v in request.headers if k.lower() != "host"},
            data=request.get_data(),
            timeout=60,
        )
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(upstream.content, status=upstream.status_code, headers=headers)(
            environ, start_response
        )
