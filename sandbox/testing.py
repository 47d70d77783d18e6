"""Run the sandbox inside a test process: both servers on free loopback ports, on threads."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sandbox.server import Running, start
from sandbox.state import Settings


def start_sandbox(
    ca_dir: Path | None = None, allow_http_push: bool = False, push_ca_file: str = ""
) -> Running:
    """Start a fresh sandbox; the caller must `stop()` it.

    The result has `http_url`, `https_url`, `ca_file` (trust it for the https port), `state`
    (to inspect or arrange directly) and `site.notifier.wait()` (block until queued push
    notifications were delivered). Push addresses must be https, as at Google and Microsoft,
    unless `allow_http_push` (a test's own receiver usually listens on plain http);
    `push_ca_file` is the CA bundle https deliveries trust (default: the system's).
    """
    directory = ca_dir or Path(tempfile.mkdtemp(prefix="sandbox-ca-"))
    settings = Settings(allow_http_push=allow_http_push, push_ca_file=push_ca_file)
    return start(host="127.0.0.1", http_port=0, https_port=0, ca_dir=directory, settings=settings)
