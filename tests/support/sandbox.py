"""Test helpers around the provider sandbox: its control API and settings pointing at it."""

from datetime import UTC, datetime, timedelta
from typing import Any

import requests


def point_settings_at(settings, sandbox) -> None:
    """Aim every provider endpoint setting at a running sandbox (pytest-django `settings`)."""
    http, https = sandbox.http_url, sandbox.https_url
    settings.CALENDAR_SANDBOX_URL = http
    settings.CALENDAR_SANDBOX_HTTPS_URL = https
    settings.CALENDAR_SANDBOX_CA_FILE = str(sandbox.ca_file)
    settings.GOOGLE_AUTH_URI = f"{http}/o/oauth2/auth"
    settings.GOOGLE_TOKEN_URI = f"{http}/token"
    settings.GOOGLE_CALENDAR_API_URL = f"{http}/calendar/v3/"
    settings.GOOGLE_REVOKE_URI = f"{http}/revoke"
    settings.MICROSOFT_AUTHORITY_HOST = https
    settings.MICROSOFT_GRAPH_URL = f"{http}/graph/v1.0"
    settings.EXCHANGE_ALLOW_PRIVATE_URLS = True


class SandboxClient:
    """The sandbox's control API (see sandbox/README.md) over real HTTP."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def _call(self, method: str, path: str, **kwargs) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox{path}", timeout=15, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self._call("POST", "/reset")

    def mailbox(self, provider: str, email: str, **fields) -> dict:
        return self._call(
            "POST", "/mailboxes", json={"provider": provider, "email": email, **fields}
        )

    def add_event(self, email: str, calendar_id: str, **fields) -> dict:
        return self._call("POST", f"/mailboxes/{email}/calendars/{calendar_id}/events", json=fields)

    def update_event(self, email: str, calendar_id: str, event_id: str, **fields) -> dict:
        path = f"/mailboxes/{email}/calendars/{calendar_id}/events/{event_id}"
        return self._call("PATCH", path, json=fields)

    def delete_event(self, email: str, calendar_id: str, event_id: str) -> None:
        self._call("DELETE", f"/mailboxes/{email}/calendars/{calendar_id}/events/{event_id}")

    def events(self, email: str, calendar_id: str) -> list[dict]:
        return self._call("GET", f"/mailboxes/{email}/calendars/{calendar_id}/events")

    def fault(self, provider: str, kind: str, **fields) -> None:
        self._call("POST", "/faults", json={"provider": provider, "kind": kind, **fields})

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def writes(self, email: str = "") -> list[dict]:
        return self._call("GET", "/writes", params={"email": email} if email else {})

    def invitations(self, email: str = "") -> list[dict]:
        return self._call("GET", "/invitations", params={"email": email} if email else {})

    def respond(self, email: str, calendar_id: str, event_id: str, response: str) -> dict:
        """The attendee answers a meeting on their calendar (accepted|tentative|declined)."""
        path = f"/mailboxes/{email}/calendars/{calendar_id}/events/{event_id}/respond"
        return self._call("POST", path, json={"response": response})

    def exchange_settings(self, email: str, **fields) -> dict:
        """password, server_version, auth_methods (["NTLM", "Basic"]), online."""
        return self._call("PATCH", f"/exchange/mailboxes/{email}", json=fields)

    def lifecycle(self, event: str, **fields) -> dict:
        """A Graph subscription lifecycle event (reauthorizationRequired, ...)."""
        return self._call("POST", "/microsoft/lifecycle", json={"event": event, **fields})


def app_tokens(base_url: str, provider: str, email: str) -> dict:
    """Tokens the sandbox mints for the app's own OAuth client, as a finished connect flow
    would hold them (so the adapters can refresh them with the app's credentials)."""
    from django.conf import settings

    prefix = "GOOGLE" if provider == "google" else "MICROSOFT"
    response = requests.post(
        f"{base_url}/_sandbox/tokens",
        json={
            "provider": provider,
            "email": email,
            "client_id": getattr(settings, f"{prefix}_CLIENT_ID"),
            "client_secret": getattr(settings, f"{prefix}_CLIENT_SECRET"),
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def google_credentials(base_url: str, email: str, expired: bool = False) -> dict:
    """What GoogleProvider stores for a connection to this sandbox mailbox."""
    tokens = app_tokens(base_url, "google", email)
    lifetime = timedelta(seconds=-60 if expired else tokens["expires_in"])
    return {
        "token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expiry": (datetime.now(UTC) + lifetime).isoformat(),
    }
