"""Caddy (Debian's package) in front of the live server gets certificates on demand only for
domains the app says yes to at /tls/ask, and serves the scheduling page over TLS."""

import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from meetings.models import SchedulingPage
from scheduler.models import Domain

VERIFIED, PENDING = "meet.verified.test", "meet.pending.test"

CADDYFILE = """\
{{
	admin off
	http_port {http_port}
	https_port {https_port}
	skip_install_trust
	storage file_system {{
		root {data}
	}}
	on_demand_tls {{
		ask {app}/tls/ask
	}}
}}
https:// {{
	tls internal {{
		on_demand
	}}
	@internal path /tls/*
	respond @internal 404
	reverse_proxy {upstream}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def caddy(live_server, tmp_path):
    binary = shutil.which("caddy")
    if binary is None:
        pytest.skip("caddy is not installed and could not be: run bin/ensure-caddy (apt-get)")
    http_port, https_port = _free_port(), _free_port()
    data = tmp_path / "caddy-data"
    config = tmp_path / "Caddyfile"
    config.write_text(
        CADDYFILE.format(
            http_port=http_port,
            https_port=https_port,
            data=data,
            app=live_server.url,
            upstream=live_server.url.removeprefix("http://"),
        )
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "caddy-config"),
        "XDG_DATA_HOME": str(data),
    }
    log = (tmp_path / "caddy.log").open("w+")
    process = subprocess.Popen(
        [binary, "run", "--config", str(config), "--adapter", "caddyfile"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(https_port, process, tmp_path / "caddy.log")
        yield https_port, data / "pki" / "authorities" / "local" / "root.crt"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _wait_listening(port: int, process: subprocess.Popen, log_path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"caddy exited: {log_path.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("caddy did not start listening")


def _get_over_tls(port: int, root_ca, server_name: str, path: str) -> str:
    """A GET through Caddy on loopback with SNI = the custom domain, trusting only Caddy's
    internal CA."""
    context = ssl.create_default_context(cafile=str(root_ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        request = f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n"
        tls.sendall(request.encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_caddy_gets_a_certificate_only_for_a_verified_domain(caddy, admin_user, transactional_db):
    port, root_ca = caddy
    Domain.objects.create(account=admin_user.account, hostname=VERIFIED, verified=True)
    Domain.objects.create(account=admin_user.account, hostname=PENDING)
    SchedulingPage.objects.create(
        account=admin_user.account, owner=admin_user, name="Intro over TLS", slug="tls-intro"
    )
    for _ in range(100):  # Caddy creates its internal CA just after it starts listening
        if root_ca.exists():
            break
        time.sleep(0.1)

    response = _get_over_tls(port, root_ca, VERIFIED, "/meetings/tls-intro")
    assert response.startswith("HTTP/1.1 200")
    assert "Intro over TLS" in response

    # The ask endpoint itself is not reachable through the proxy.
    assert _get_over_tls(port, root_ca, VERIFIED, "/tls/ask?domain=x").startswith("HTTP/1.1 404")

    with pytest.raises(ssl.SSLError):
        _get_over_tls(port, root_ca, PENDING, "/meetings/tls-intro")
    with pytest.raises(ssl.SSLError):
        _get_over_tls(port, root_ca, "unknown.example.test", "/meetings/tls-intro")
