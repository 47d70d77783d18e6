"""Fixtures for the sandbox's own tests: one sandbox per session, a clean world per test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from sandbox.server import Running

GOOGLE_SCOPE = "https://www.googleapis.com/auth/calendar"


@pytest.fixture(scope="session")
def sandbox_server(sandbox: Running) -> Running:
    """The session's sandbox (started by the root conftest), under the name these tests use."""
    return sandbox


class Control:
    """The control API over HTTP, raising on any error status unless told otherwise."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def call(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base_url + "/_sandbox" + path, **kwargs)
        if expect is not None:
            assert response.status_code == expect, response.text
        else:
            response.raise_for_status()
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=body or {}, **kwargs)

    def patch(self, path: str, body: dict[str, Any], **kwargs: Any) -> Any:
        return self.call("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def control(sandbox_server: Running) -> Control:
    control = Control(sandbox_server.http_url)
    control.post("/reset")
    return control


@pytest.fixture
def alice(control: Control) -> dict[str, Any]:
    """A Google mailbox in New York with a writable team calendar and two shared ones."""
    return control.post(
        "/mailboxes",
        {
            "provider": "google",
            "email": "alice@example.com",
            "timezone": "America/New_York",
            "calendars": [
                {"id": "team@group.example.com", "name": "Team", "access": "writer"},
                {"id": "boss@example.com", "name": "Boss", "access": "reader"},
                {"id": "room@example.com", "name": "Room", "access": "freeBusyReader"},
            ],
        },
    )


@pytest.fixture
def calendar_api(sandbox_server: Running, control: Control) -> Callable[..., Any]:
    """Build the real Google Calendar client for a sandbox mailbox, tokens from the control API."""

    def make(email: str = "alice@example.com") -> Any:
        tokens = control.post("/tokens", {"provider": "google", "email": email})
        credentials = Credentials(
            tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            token_uri=sandbox_server.http_url + "/token",
            client_id="test-client",
            client_secret="test-secret",
            scopes=[GOOGLE_SCOPE],
        )
        return build(
            "calendar",
            "v3",
            credentials=credentials,
            static_discovery=True,
            client_options={"api_endpoint": sandbox_server.http_url + "/calendar/v3/"},
        )

    return make
