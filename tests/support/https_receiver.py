"""A local HTTPS receiver for channel and webhook tests: it counts what it is sent.

Its certificate comes from a throwaway CA (trustme); point WEBHOOK_CA_BUNDLE at
`receiver.ca_path` and allow 127.0.0.1 with WEBHOOK_ALLOWED_PRIVATE_HOSTS.
Set `receiver.replies` to a list of (status, body, content_type) to answer in turn (the last
one repeats), or `receiver.hang = threading.Event()` to hold every request until it is set.
A reply may carry a fourth element, a dict of extra headers (a redirect's Location);
`receiver.trickle = seconds` sends the answer one byte at a time, that long apart (a slow
receiver that never lets a read time out).
"""

from __future__ import annotations

import contextlib
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
            status, text, content_type, *extra = receiver.replies[
                min(len(receiver.requests) - 1, len(receiver.replies) - 1)
            ]
        payload = text.encode()
        headers = {"Content-Type": content_type, "Content-Length": str(len(payload))}
        headers.update(extra[0] if extra else {})
        if receiver.trickle is not None:
            self._trickle(status, headers, payload, receiver.trickle)
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client read what it wanted (capped) and left
            self.wfile.write(payload)

    def _trickle(self, status, headers, payload, interval):
        """The whole answer, status line first, one byte every INTERVAL seconds."""
        lines = [f"{self.protocol_version} {status} {self.responses[status][0]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        pause = threading.Event()  # never set: a wait that is just a pause
        try:
            for index in range(len(raw)):
                self.wfile.write(raw[index : index + 1])
                self.wfile.flush()
                pause.wait(interval)
        except OSError:
            pass  # the client gave up, as it should

    def log_message(self, format, *args):
        pass


class HttpsReceiver:
    def __init__(self):
        self.ca = trustme.CA()
        self.requests: list[tuple[str, dict, bytes]] = []
        self.counts: Counter = Counter()
        self.replies = [(200, "ok", "text/plain")]
        self.hang: threading.Event | None = None
        self.trickle: float | None = None
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
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

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
