"""Push notifications really reach a local HTTP receiver, as Google's webhooks would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver(ThreadingHTTPServer):
    """Collects the headers and body of every POST it gets."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.received.append(
                    {"headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/calendars/google/webhook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield server
    server.shutdown()
    server.server_close()


def test_changes_to_a_watched_calendar_are_pushed(
    calendar_api: Any, alice: Any, control: Any, receiver: Receiver, sandbox_server: Any
) -> None:
    api = calendar_api()
    channel = (
        api.events()
        .watch(
            calendarId="primary",
            body={
                "id": "channel-1",
                "type": "web_hook",
                "address": receiver.url,
                "token": "secret-token",
            },
        )
        .execute()
    )
    control.post(
        "/mailboxes/alice@example.com/calendars/primary/events",
        {"summary": "by the user", "start": "2026-06-01T09:00:00Z", "end": "2026-06-01T10:00:00Z"},
    )
    api.events().insert(
        calendarId="primary",
        body={
            "start": {"dateTime": "2026-06-02T09:00:00Z"},
            "end": {"dateTime": "2026-06-02T10:00:00Z"},
        },
    ).execute()
    sandbox_server.site.notifier.wait()

    headers = [message["headers"] for message in receiver.received]
    assert [h["X-Goog-Resource-State"] for h in headers] == ["sync", "exists", "exists"]
    assert [h["X-Goog-Message-Number"] for h in headers] == ["1", "2", "3"]
    assert {h["X-Goog-Channel-ID"] for h in headers} == {"channel-1"}
    assert {h["X-Goog-Channel-Token"] for h in headers} == {"secret-token"}
    assert {h["X-Goog-Resource-ID"] for h in headers} == {channel["resourceId"]}
    assert all(message["body"] == b"" for message in receiver.received)
    assert channel["resourceUri"].endswith("/calendars/alice@example.com/events?alt=json")


def test_stopped_channels_get_nothing(
    calendar_api: Any, alice: Any, control: Any, receiver: Receiver, sandbox_server: Any
) -> None:
    api = calendar_api()
    channel = (
        api.events()
        .watch(
            calendarId="primary",
            body={"id": "channel-2", "type": "web_hook", "address": receiver.url},
        )
        .execute()
    )
    api.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
    control.post(
        "/mailboxes/alice@example.com/calendars/primary/events",
        {"start": "2026-06-01T09:00:00Z", "end": "2026-06-01T10:00:00Z"},
    )
    sandbox_server.site.notifier.wait()

    assert [m["headers"]["X-Goog-Resource-State"] for m in receiver.received] == ["sync"]
    deliveries = control.get("/channels?email=alice@example.com")[0]["deliveries"]
    assert [(d["number"], d["status"]) for d in deliveries] == [(1, 200)]


def test_unreachable_receiver_is_recorded(
    calendar_api: Any, alice: Any, control: Any, sandbox_server: Any
) -> None:
    calendar_api().events().watch(
        calendarId="primary",
        body={"id": "channel-3", "type": "web_hook", "address": "http://127.0.0.1:9/nowhere"},
    ).execute()
    sandbox_server.site.notifier.wait()

    delivery = control.get("/channels")[0]["deliveries"][0]
    assert delivery["status"] == 0 and delivery["error"]
