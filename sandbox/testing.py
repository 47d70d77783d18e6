"""Run the sandbox inside a test process: both servers on free loopback ports, on threads."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sandbox.server import Running, start


def start_sandbox(ca_dir: Path | None = None) -> Running:
    """Start a fresh sandbox; the caller must `stop()` it.

    The result has `http_url`, `https_url`, `ca_file` (trust it for the https port), `state`
    (to inspect or arrange directly) and `site.notifier.wait()` (block until queued push
    notifications were delivered).
    """
    directory = ca_dir or Path(tempfile.mkdtemp(prefix="sandbox-ca-"))
    return start(host="127.0.0.1", http_port=0, https_port=0, ca_dir=directory)
