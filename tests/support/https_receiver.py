"""A local HTTPS receiver for channel and webhook tests: it counts what it is sent.

Its certificate comes from a throwaway CA (trustme); point WEBHOOK_CA_BUNDLE at
`receiver.ca_path` and allow 127.0.0.1 with WEBHOOK_ALLOWED_PRIVATE_HOSTS.
Set `receiver.replies` to a list of (status, body, content_type) to answer in turn (the last
one repeats), or `receiver.hang = threading.Event()` to hold every request until it is set.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if receiver.hang is not None:
            receiver.hang.wait(timeout=30)
        with receiver.lock:
            receiver.requests.append((self.path, dict(self.headers), body))
            receiver.counts[self.path] += 1
            status, text, content_type = receiver.replies[
                min(len(receiver.requests) - 1, len(receiver.replies) - 1)
            ]
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


class HttpsReceiver:
    def __init__(self):
        self.ca = trustme.CA()
        self.requests: list[tuple[str, dict, bytes]] = []
        self.counts: Counter = Counter()
        self.replies = [(200, "ok", "text/plain")]
        self.hang: threading.Event | None = None
        self.lock = threading.Lock()
        self._ca_file = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)  # noqa: SIM115
        self.ca.cert_pem.write_to_path(self._ca_file.name)
        self.ca_path = self._ca_file.name
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.receiver = self
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def start(self) -> HttpsReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.hang is not None:
            self.hang.set()
        self.server.shutdown()
        self.server.server_close()
