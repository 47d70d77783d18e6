"""The control API, the state file, TLS, and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import server
from tests.sandbox.conftest import Control

ROOT = Path(__file__).resolve().parents[2]


def test_mailboxes(control: Control, alice: dict[str, Any]) -> None:
    control.post(
        "/mailboxes", {"provider": "exchange", "email": "ex@corp.example", "password": "Secret1!"}
    )

    assert alice["calendars"][0] == {
        "id": "alice@example.com",
        "name": "alice@example.com",
        "timezone": "America/New_York",
        "access": "owner",
        "primary": True,
        "lost": False,
    }
    assert control.get("/mailboxes/ex@corp.example")["password"] == "Secret1!"
    assert [m["email"] for m in control.get("/mailboxes")] == [
        "alice@example.com",
        "ex@corp.example",
    ]
    control.post("/mailboxes", {"provider": "google", "email": "alice@example.com"}, expect=409)
    control.post("/mailboxes", {"provider": "yahoo", "email": "a@b.c"}, expect=400)
    control.post(
        "/mailboxes",
        {
            "provider": "google",
            "email": "half@example.com",
            "calendars": [{"name": "x", "access": "boss"}],
        },
        expect=400,
    )
    control.get("/mailboxes/half@example.com", expect=404)
    control.get("/mailboxes/nobody@example.com", expect=404)
    control.post("/tokens", {"provider": "google", "email": "nobody@example.com"}, expect=404)


def test_sharing_a_calendar_between_mailboxes(
    control: Control, alice: Any, calendar_api: Any
) -> None:
    control.post(
        "/mailboxes/alice@example.com/calendars/team@group.example.com/events",
        {
            "summary": "Team lunch",
            "start": "2026-06-01T12:00:00-04:00",
            "end": "2026-06-01T13:00:00-04:00",
        },
    )
    control.post("/mailboxes", {"provider": "google", "email": "bob@example.com"})

    control.post(
        "/mailboxes/bob@example.com/calendars",
        {"id": "team@group.example.com", "access": "reader"},
        expect=201,
    )

    items = (
        calendar_api("bob@example.com")
        .events()
        .list(calendarId="team@group.example.com")
        .execute()["items"]
    )
    assert [item["summary"] for item in items] == ["Team lunch"]


def test_user_events_can_be_listed_moved_and_deleted(control: Control, alice: Any) -> None:
    path = "/mailboxes/alice@example.com/calendars/primary/events"
    event = control.post(
        path,
        {
            "summary": "Dentist",
            "start": "2026-06-01T09:00:00-04:00",
            "end": "2026-06-01T10:00:00-04:00",
            "showAs": "oof",
        },
    )

    moved = control.patch(
        f"{path}/{event['id']}",
        {"start": "2026-06-01T11:00:00-04:00", "end": "2026-06-01T12:00:00-04:00"},
    )
    control.delete(f"{path}/{event['id']}")

    assert moved["start"] == "2026-06-01T11:00:00-04:00" and moved["show_as"] == "oof"
    assert [(e["id"], e["status"]) for e in control.get(path)] == [(event["id"], "cancelled")]
    control.post(path, {"summary": "no times"}, expect=400)
    control.post(
        path, {"start": "2026-06-01T09:00:00", "end": "2026-06-01T10:00:00"}, expect=400
    )  # no UTC offset


def test_writes_and_invitations_are_recorded(
    control: Control, alice: Any, calendar_api: Any
) -> None:
    events = calendar_api().events()
    body = {
        "summary": "Intro call",
        "start": {"dateTime": "2026-06-01T09:00:00Z"},
        "end": {"dateTime": "2026-06-01T09:30:00Z"},
        "attendees": [
            {"email": "alice@example.com"},
            {"email": "carol@client.example"},
            {"email": "dave@example.com"},
        ],
    }

    quiet = events.insert(calendarId="primary", body=body).execute()
    loud = events.insert(calendarId="primary", body=body, sendUpdates="externalOnly").execute()
    events.patch(
        calendarId="primary",
        eventId=loud["id"],
        sendUpdates="all",
        body={"attendees": [{"email": "erin@client.example"}]},
    ).execute()
    events.delete(calendarId="primary", eventId=quiet["id"], sendUpdates="none").execute()

    writes = control.get("/writes?email=alice@example.com")
    assert [(w["action"], w["send_updates"], w["invited"]) for w in writes] == [
        ("create", "none", []),
        ("create", "external", ["carol@client.example"]),
        ("update", "all", ["carol@client.example", "dave@example.com", "erin@client.example"]),
        ("delete", "none", []),
    ]
    assert writes[0]["body"]["summary"] == "Intro call"
    sent = control.get("/invitations?attendee=carol@client.example")
    assert [(i["kind"], i["event_id"]) for i in sent] == [
        ("invite", loud["id"]),
        ("cancel", loud["id"]),
    ]


def test_user_edits_are_not_app_writes(control: Control, alice: Any) -> None:
    control.post(
        "/mailboxes/alice@example.com/calendars/primary/events",
        {
            "start": "2026-06-01T09:00:00Z",
            "end": "2026-06-01T10:00:00Z",
            "attendees": ["carol@client.example"],
        },
    )

    assert control.get("/writes") == [] and control.get("/invitations") == []


def test_expired_access_tokens_are_refreshed_by_the_library(
    control: Control, alice: Any, calendar_api: Any
) -> None:
    api = calendar_api()
    control.post("/faults", {"provider": "google", "kind": "expire_access_tokens"})

    assert api.calendarList().list().execute()["items"]  # 401, refresh, retry


def test_unknown_fault_kind_is_refused(control: Control) -> None:
    control.post("/faults", {"provider": "google", "kind": "meteor"}, expect=400)
    control.post("/faults", {"provider": "google", "kind": "lose_calendar_access"}, expect=400)
    control.post("/faults", {"provider": "google", "kind": "slow", "delay": "soon"}, expect=400)


def test_https_port_is_trusted_through_the_ca_file(sandbox_server: Any) -> None:
    health = requests.get(
        sandbox_server.https_url + "/_sandbox/health",
        verify=str(sandbox_server.ca_file),
        timeout=10,
    )

    assert health.json()["status"] == "ok"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sandbox_server.https_url + "/_sandbox/health", verify=True, timeout=10)


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    first = server.start(http_port=0, https_port=0, ca_dir=tmp_path, state_path=state_path)
    control = Control(first.http_url)
    control.post("/mailboxes", {"provider": "google", "email": "kept@example.com"})
    control.post(
        "/mailboxes/kept@example.com/calendars/primary/events",
        {"start": "2026-06-01", "end": "2026-06-02", "recurrence": ["RRULE:FREQ=DAILY"]},
    )
    first.stop()

    second = server.start(http_port=0, https_port=0, ca_dir=tmp_path, state_path=state_path)
    try:
        events = Control(second.http_url).get(
            "/mailboxes/kept@example.com/calendars/primary/events"
        )
    finally:
        second.stop()

    assert [(e["start"], e["recurrence"]) for e in events] == [("2026-06-01", ["RRULE:FREQ=DAILY"])]


def test_command_line_prints_where_it_listens(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--https-port",
            "0",
            "--ca-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(3))
        health = requests.get(lines["CALENDAR_SANDBOX_URL"] + "/_sandbox/health", timeout=10)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert health.status_code == 200
    assert lines["CALENDAR_SANDBOX_CA_FILE"] == str(tmp_path / "sandbox-ca.pem")
    assert process.returncode == 0
