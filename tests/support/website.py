"""A customer's own website for browser tests: static pages served on another origin.

The live server is http://localhost:<port>; this serves http://127.0.0.1:<port>, which is
another origin and, for cookies (SameSite) and storage partitioning, another site too, as a
real customer's website would be.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@dataclass
class Website:
    root: Path
    origin: str
    server: ThreadingHTTPServer

    def page(self, name: str, html: str) -> str:
        """Publish a page; returns its URL."""
        (self.root / name).write_text(html, encoding="utf-8")
        return f"{self.origin}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_website(root: Path, host: str = "127.0.0.1") -> Website:
    server = ThreadingHTTPServer((host, 0), partial(_QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Website(root, f"http://{host}:{server.server_port}", server)
