"""The state file under concurrent writes: every change is answered and saved, never a 500."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from sandbox import server

WRITERS = 8
WRITES_EACH = 15


def _control_write(base: str, number: int) -> int:
    answer = requests.post(
        f"{base}/_sandbox/mailboxes/busy@example.com/calendars/primary/events",
        json={
            "summary": f"Control {number}",
            "start": "2026-06-01T09:00:00+00:00",
            "end": "2026-06-01T10:00:00+00:00",
        },
        timeout=30,
    )
    return answer.status_code


def _api_write(base: str, token: str, number: int) -> int:
    answer = requests.post(
        f"{base}/calendar/v3/calendars/primary/events",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "summary": f"API {number}",
            "start": {"dateTime": "2026-06-02T09:00:00Z"},
            "end": {"dateTime": "2026-06-02T10:00:00Z"},
        },
        timeout=30,
    )
    return answer.status_code


def test_concurrent_writes_with_a_state_file_never_fail(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    running = server.start(http_port=0, https_port=0, ca_dir=tmp_path, state_path=state_path)
    try:
        base = running.http_url
        requests.post(
            f"{base}/_sandbox/mailboxes",
            json={"provider": "google", "email": "busy@example.com"},
            timeout=10,
        ).raise_for_status()
        token = requests.post(
            f"{base}/_sandbox/tokens",
            json={"provider": "google", "email": "busy@example.com"},
            timeout=10,
        ).json()["access_token"]
        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = list(
                pool.map(
                    lambda n: _control_write(base, n) if n % 2 else _api_write(base, token, n),
                    range(WRITERS * WRITES_EACH),
                )
            )
    finally:
        running.stop()

    assert set(statuses) == {200, 201}, statuses
    saved = json.loads(state_path.read_text())
    events = saved["calendars"]["busy@example.com"]["events"]
    assert len(events) == WRITERS * WRITES_EACH
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind
