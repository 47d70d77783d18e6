"""`make run` from this checkout: SQLite, the filesystem broker, the demo admin signs in."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from meetings.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.browser import sign_in

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited with {process.returncode}")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return response.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError("make run did not become healthy")


@pytest.fixture
def make_run(tmp_path):
    port = _free_port()
    # A bare environment: no DATABASE_URL, no REDIS_URL, nothing from the test settings.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(
        PORT=str(port),
        VAR_DIR=str(tmp_path),
        SANDBOX_PORT=str(_free_port()),
        SANDBOX_HTTPS_PORT=str(_free_port()),
    )
    log = (tmp_path / "make-run.log").open("w+")
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", process, tmp_path / "make-run.log"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
@pytest.mark.e2e
def test_make_run_brings_the_app_up_and_the_demo_admin_signs_in(make_run, browser_page):
    base_url, process, log_path = make_run
    health = _wait_healthy(f"{base_url}/healthz", process)
    assert health["database"] == "ok" and health["broker"] == "ok"
    assert (Path(log_path.parent) / "db.sqlite3").exists()  # the embedded SQLite database

    page = browser_page(base_url)
    page.goto("/")  # the home page sends a visitor to the login form
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    assert page.get_by_role("heading", name="Meetings").is_visible()
    assert "Demo Company" in page.locator(".whoami").inner_text()

    # Worker and beat came up in the same terminal, on the filesystem broker.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        output = log_path.read_text()
        if "celery@" in output and " ready." in output and "beat: Starting" in output:
            break
        time.sleep(0.5)
    assert "Connected to filesystem://" in output
    assert "beat: Starting" in output
