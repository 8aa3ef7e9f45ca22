"""The demo's AWS endpoint: the emulator (moto server) behind a small front that answers, from
recorded AWS answers, the commitment APIs moto does not serve (Savings Plans, reservations, Cost
Explorer's coverage, utilization and purchase recommendations; see demo/commitments.py), and the
public Price List's GetProducts, whoever signs it (demo/pricing.py); and it gives the demo's
snapshot, database, NAT gateway and load balancer the ages of the demo's story
(demo/backdate.py).

Everything else goes through to moto untouched. Answers are per account: the front watches
AssumeRole go through (the role ARN names the account, the answer holds the access key) and
so knows which account signed each later request. `make demo` runs it on MOTO_PORT with moto on
a private port behind it; the tests' fault proxy (tests/aws_faults.py) reads requests the same
way (parse_call, forward).

Run: python -m demo.aws_front --upstream http://127.0.0.1:5001 --port 5000
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}
# The SigV4 credential scope names the service: Credential=AKID/20260101/us-east-1/ec2/...
CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/[^/]+/([^/]+)/aws4_request")
ROLE_ACCOUNT = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/")
ACCESS_KEY = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")


@dataclass(frozen=True)
class Call:
    """One AWS request as the front (or the fault proxy) sees it."""

    service: str
    operation: str
    params: dict = field(default_factory=dict)  # query-protocol form fields
    access_key: str = ""  # the access key ID that signed it
    json_protocol: bool = False  # X-Amz-Target (Cost Explorer, CloudWatch)
    rest: bool = False  # REST-JSON: the operation is the path (Savings Plans)


def parse_call(request: Request) -> Call:
    scope = CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
    access_key, service = (scope[1], scope[2]) if scope else ("", "")
    target = request.headers.get("X-Amz-Target", "")
    if target:
        return Call(service, target.rsplit(".", 1)[-1], {}, access_key, json_protocol=True)
    params = dict(parse_qsl(request.get_data(as_text=True)))
    operation = params.get("Action", "")
    if operation:
        return Call(service, operation, params, access_key)
    operation = request.path.rstrip("/").rsplit("/", 1)[-1]
    return Call(service, operation, params, access_key, rest=True)


def forward(request: Request, upstream: str) -> Response:
    """REQUEST passed on to UPSTREAM, and its answer back."""
    answer = requests.request(
        request.method,
        upstream + request.full_path.rstrip("?"),
        headers={k: v for k, v in request.headers if k.lower() != "host"},
        data=request.get_data(),
        timeout=60,
    )
    headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
    return Response(answer.content, status=answer.status_code, headers=headers)


class DemoFront:
    """The WSGI app: recorded commitment answers for the demo's accounts, moto for the rest."""

    def __init__(self, upstream: str, answers, operations, public_answers=None, rewrite=None):
        self.upstream = upstream
        self.answers = answers  # (operation, account_id, call, body) -> Response | None
        self.operations = frozenset(operations)  # the ones ANSWERS may answer
        # (operation, body) -> Response | None, for the Price List: public prices, asked with
        # the platform's own identity rather than an account's assumed role.
        self.public_answers = public_answers
        # (operation, body) -> body, for moto's answers to the demo's accounts (demo/backdate.py).
        self.rewrite = rewrite
        self._accounts: dict[str, str] = {}  # access key -> account ID
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        call = parse_call(request)
        if call.operation == "AssumeRole":
            response = forward(request, self.upstream)
            self._remember(call, response)
            return response(environ, start_response)
        if self.public_answers is not None and call.service == "pricing":
            recorded = self.public_answers(call.operation, json.loads(request.get_data() or b"{}"))
            if recorded is not None:
                return recorded(environ, start_response)
        with self._lock:
            account_id = self._accounts.get(call.access_key)
        if account_id is not None and call.operation in self.operations:
            body = json.loads(request.get_data() or b"{}") if call.json_protocol else {}
            recorded = self.answers(call.operation, account_id, call, body)
            if recorded is not None:
                return recorded(environ, start_response)
        response = forward(request, self.upstream)
        if account_id is not None and self.rewrite is not None and response.status_code == 200:
            response.set_data(self.rewrite(call.operation, response.get_data()))
        return response(environ, start_response)

    def _remember(self, call: Call, response: Response) -> None:
        role = ROLE_ACCOUNT.match(call.params.get("RoleArn", ""))
        key = ACCESS_KEY.search(response.get_data(as_text=True))
        if role and key and response.status_code == 200:
            with self._lock:
                self._accounts[key[1]] = role[1]


def main() -> None:
    from demo import backdate, pricing
    from demo.commitments import RECORDED_OPERATIONS, recorded_answer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="the moto server's URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    app = DemoFront(
        options.upstream.rstrip("/"),
        recorded_answer,
        RECORDED_OPERATIONS,
        public_answers=pricing.recorded_answer,
        rewrite=backdate.rewrite,
    )
    make_server(options.host, options.port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
