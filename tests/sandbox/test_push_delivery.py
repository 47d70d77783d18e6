"""Push delivery as the real services do it: https addresses only (unless the sandbox is told
otherwise), and injected delivery faults that really delay, repeat, drop or reorder messages.
Channels are opened through google-api-python-client and Graph over requests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sandbox.server import make_certificates
from tests.sandbox.test_microsoft import Graph
from tests.support.receiver import Receiver

ALICE = "alice@example.com"
EVENT = {"start": "2026-06-01T09:00:00Z", "end": "2026-06-01T10:00:00Z"}


@pytest.fixture
def https_receiver(tmp_path: Path, control: Any) -> Iterator[Receiver]:
    """An https receiver with a certificate from its own CA, which the sandbox is told to trust
    (the real services trust only publicly issued certificates)."""
    ca_file, server_pem = make_certificates(tmp_path, ["127.0.0.1"])
    control.patch("/settings", {"allow_http_push": False, "push_ca_file": str(ca_file)})
    with Receiver(certificate=str(server_pem)) as receiver:
        yield receiver


def _watch(api: Any, address: str, channel_id: str = "channel-1") -> dict[str, Any]:
    body = {"id": channel_id, "type": "web_hook", "address": address}
    return api.events().watch(calendarId="primary", body=body).execute()


def _user_event(control: Any, email: str = ALICE, **fields: Any) -> None:
    control.post(f"/mailboxes/{email}/calendars/primary/events", {**EVENT, **fields})


def _states(receiver: Receiver) -> list[tuple[str, str]]:
    return [
        (r.headers["X-Goog-Resource-State"], r.headers["X-Goog-Message-Number"])
        for r in receiver.received
    ]


# --- https -------------------------------------------------------------------------------


def test_google_refuses_an_http_address_unless_allowed(
    control: Any, alice: Any, calendar_api: Any
) -> None:
    control.patch("/settings", {"allow_http_push": False})
    with pytest.raises(HttpError) as refused:
        _watch(calendar_api(), "http://127.0.0.1:9/hook")

    error = json.loads(refused.value.content)["error"]
    assert refused.value.resp.status == 400
    assert error["errors"][0]["reason"] == "push.webhookUrlNotHttps"
    assert error["message"] == "WebHook callback must be HTTPS: http://127.0.0.1:9/hook"
    assert control.patch("/settings", {"allow_http_push": True})["allow_http_push"] is True
    assert _watch(calendar_api(), "http://127.0.0.1:9/hook")["id"] == "channel-1"


def test_graph_refuses_an_http_notification_url_unless_allowed(
    sandbox_server: Any, control: Any
) -> None:
    control.post("/mailboxes", {"provider": "microsoft", "email": "megan@contoso.example"})
    tokens = control.post("/tokens", {"provider": "microsoft", "email": "megan@contoso.example"})
    graph = Graph(sandbox_server.http_url, tokens["access_token"])
    control.patch("/settings", {"allow_http_push": False})
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": "http://127.0.0.1:9/hook",
        "resource": "me/events",
        "expirationDateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }

    refused = graph.call("POST", "/subscriptions", expect=400, json=body).json()["error"]
    lifecycle = graph.call(
        "POST",
        "/subscriptions",
        expect=400,
        json={
            **body,
            "notificationUrl": "https://127.0.0.1:9/hook",
            "lifecycleNotificationUrl": "http://127.0.0.1:9/life",
        },
    ).json()["error"]

    assert refused["code"] == "InvalidRequest"
    assert refused["message"] == "NotificationUrl scheme='http' is not supported."
    assert lifecycle["message"] == "LifecycleNotificationUrl scheme='http' is not supported."


def test_https_receivers_get_google_and_graph_notifications(
    sandbox_server: Any,
    control: Any,
    alice: Any,
    calendar_api: Any,
    https_receiver: Receiver,
) -> None:
    _watch(calendar_api(), https_receiver.url)
    control.post("/mailboxes", {"provider": "microsoft", "email": "megan@contoso.example"})
    tokens = control.post("/tokens", {"provider": "microsoft", "email": "megan@contoso.example"})
    Graph(sandbox_server.http_url, tokens["access_token"]).post(
        "/subscriptions",
        {
            "changeType": "created",
            "notificationUrl": https_receiver.url,
            "resource": "me/events",
            "expirationDateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
    )
    _user_event(control)
    _user_event(control, "megan@contoso.example")
    sandbox_server.site.notifier.wait()

    google = [r for r in https_receiver.received if "X-Goog-Channel-ID" in r.headers]
    graph = [json.loads(r.body)["value"][0] for r in https_receiver.received if r.body]
    assert [r.headers["X-Goog-Resource-State"] for r in google] == ["sync", "exists"]
    assert [n["changeType"] for n in graph] == ["created"]
    assert {d["status"] for c in control.get("/channels") for d in c["deliveries"]} == {202}


# --- delivery faults ---------------------------------------------------------------------


@pytest.fixture
def watched(control: Any, alice: Any, calendar_api: Any, sandbox_server: Any) -> Iterator[Receiver]:
    """Alice's primary calendar watched by a receiver that got the channel's sync message."""
    with Receiver() as receiver:
        _watch(calendar_api(), receiver.url)
        sandbox_server.site.notifier.wait()
        yield receiver


def _fault(control: Any, kind: str, **options: Any) -> None:
    control.post("/faults", {"provider": "google", "kind": kind, "email": ALICE, **options})


def test_push_delay_really_delays(control: Any, watched: Receiver, sandbox_server: Any) -> None:
    _fault(control, "push_delay", delay=1.5)
    changed = time.monotonic()
    _user_event(control)
    _user_event(control)
    sandbox_server.site.notifier.wait()

    prompt, delayed = watched.received[1:]
    assert delayed.at - changed >= 1.5 and prompt.at - changed < 1.5
    assert _states(watched) == [("sync", "1"), ("exists", "3"), ("exists", "2")]
    faults = [d["fault"] for d in control.get("/channels")[0]["deliveries"]]
    assert "delayed 1.5s" in faults


def test_push_duplicate_sends_a_message_twice(
    control: Any, watched: Receiver, sandbox_server: Any
) -> None:
    _fault(control, "push_duplicate")
    _user_event(control)
    sandbox_server.site.notifier.wait()

    assert _states(watched) == [("sync", "1"), ("exists", "2"), ("exists", "2")]


def test_push_drop_loses_messages_by_count_or_chance(
    control: Any, watched: Receiver, sandbox_server: Any
) -> None:
    _fault(control, "push_drop", count=2)
    for _ in range(3):
        _user_event(control)
    _fault(control, "push_drop", count=5, probability=0)  # never drops
    _user_event(control)
    sandbox_server.site.notifier.wait()

    assert _states(watched) == [("sync", "1"), ("exists", "4"), ("exists", "5")]
    deliveries = control.get("/channels")[0]["deliveries"]
    assert [(d["number"], d["fault"]) for d in deliveries if d["fault"]] == [
        (2, "dropped"),
        (3, "dropped"),
    ]


def test_push_reorder_sends_newer_messages_first(
    control: Any, watched: Receiver, sandbox_server: Any
) -> None:
    _fault(control, "push_reorder", count=2)
    _user_event(control)
    _user_event(control)
    sandbox_server.site.notifier.wait()

    assert _states(watched) == [("sync", "1"), ("exists", "3"), ("exists", "2")]


def test_push_faults_are_per_mailbox(
    control: Any, calendar_api: Any, watched: Receiver, sandbox_server: Any
) -> None:
    control.post("/mailboxes", {"provider": "google", "email": "bob@example.com"})
    control.post(
        "/faults",
        {"provider": "google", "kind": "push_drop", "email": "bob@example.com", "count": 5},
    )
    _user_event(control)
    sandbox_server.site.notifier.wait()

    assert _states(watched) == [("sync", "1"), ("exists", "2")]
    assert [f["kind"] for f in control.get("/faults")] == ["push_drop"]
