"""`make run` from this checkout: SQLite, the filesystem broker, the demo admin signs in."""

import contextlib
import os
import re
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
        except requests.RequestException:  # not listening yet, or workers still booting
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
        DEMO_SITE_PORT=str(_free_port()),
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
        with contextlib.suppress(ProcessLookupError):
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

    # The demo customer website, on another origin, embeds the chat widget.
    site = re.search(r"Demo customer website with the chat widget: (\S+)", output).group(1)
    html = requests.get(site, timeout=10).text
    key = re.search(r'data-key="([^"]+)"', html).group(1)
    assert f'src="{base_url}/chat/widget.js"' in html
    frame = requests.get(f"{base_url}/chat/w/{key}/", timeout=10)
    assert f"frame-ancestors {site.rstrip('/')}" in frame.headers["Content-Security-Policy"]


def _children_of(pid: int) -> list[int]:
    """Every process started (directly or not) by `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


def _running(pids: list[int]) -> list[int]:
    """The processes still running (a zombie has exited; this machine's init may not reap)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def _process(pattern: str, among: list[int]) -> int:
    for pid in among:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if pattern in command:
            return pid
    raise AssertionError(f"no process matching {pattern!r}")


@pytest.mark.slow
def test_make_run_answers_a_burst_of_fifty_bookings_and_stops_when_a_process_dies(make_run):
    """gunicorn, not a development server: every one of 50 simultaneous connections gets an
    HTTP answer (one booking, the others 409); and when one of its processes dies, `make run`
    stops every other one and exits instead of running half an app."""
    import datetime as dt
    import threading

    base_url, process, log_path = make_run
    _wait_healthy(f"{base_url}/healthz", process)
    session = requests.Session()
    session.get(f"{base_url}/meetings/demo", timeout=10).raise_for_status()
    token = session.cookies["csrftoken"]
    today = dt.datetime.now(dt.UTC).date()
    window = {"start": str(today), "end": str(today + dt.timedelta(days=14)), "tz": "UTC"}
    slots = session.get(f"{base_url}/meetings/demo/slots", params=window, timeout=10).json()
    assert slots["mode"] == "booking"
    start = slots["slots"][0]["start"]
    barrier, answers = threading.Barrier(50), []

    def book(n: int) -> None:
        client = requests.Session()
        client.cookies.set("csrftoken", token)
        barrier.wait()
        try:
            response = client.post(
                f"{base_url}/meetings/demo/book",
                json={
                    "start": start,
                    "duration": 30,
                    "timezone": "UTC",
                    "first_name": "Guest",
                    "last_name": str(n),
                    "email": f"guest{n}@client.example",
                },
                headers={"X-CSRFToken": token, "Referer": base_url + "/"},
                timeout=60,
            )
            answers.append(response.status_code)
        except requests.RequestException as exc:  # a reset connection is the defect
            answers.append(type(exc).__name__)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(answers, key=str) == [201] + [409] * 49, answers

    everything = _children_of(process.pid)
    worker = _process("celery -A scheduler worker", everything)
    os.kill(worker, signal.SIGKILL)
    process.wait(timeout=60)  # make run notices and stops
    time.sleep(1)
    assert _running(everything) == []
    assert "exited" in log_path.read_text()


@pytest.mark.slow
def test_make_run_stops_on_sigterm_even_after_a_process_died(make_run):
    base_url, process, _ = make_run
    _wait_healthy(f"{base_url}/healthz", process)
    everything = _children_of(process.pid)
    runner = _process("bash bin/run", everything)
    os.kill(_process("celery -A scheduler beat", everything), signal.SIGKILL)
    os.kill(runner, signal.SIGTERM)
    process.wait(timeout=60)
    time.sleep(1)
    assert _running(everything) == []
