"""A local HTTP(S) endpoint for push-notification tests: records every POST it gets and, like
the app's Graph webhook, echoes a `validationToken` as text/plain."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() on arrival


class Receiver:
    """Use as a context manager; `echo=False` makes it fail Graph's validation handshake;
    `certificate` (a PEM file with the certificate chain and key) makes it serve https."""

    def __init__(self, echo: bool = True, certificate: str = "") -> None:
        self.echo = echo
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._scheme = "http"
        if certificate:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(certificate)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_port}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, wanted: Callable[[Received], bool], timeout: float = 10) -> Received:
        """The first request `wanted` accepts, waiting for it to arrive."""

        def first() -> Received | None:
            return next((request for request in self.received if wanted(request)), None)

        with self._arrived:
            found = self._arrived.wait_for(first, timeout)
        assert found is not None, f"nothing wanted arrived; got {self.received}"
        return found

    def _record(self, request: Received) -> None:
        with self._arrived:
            self.received.append(request)
            self._arrived.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received(parts.path, query, dict(self.headers), body, time.monotonic())
                receiver._record(received)
                token = query.get("validationToken")
                if token is not None and receiver.echo:
                    self._answer(200, token.encode(), "text/plain; charset=utf-8")
                else:
                    self._answer(202, b"", "text/plain")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass  # keep test output quiet

        return Handler
