"""Connect the app's Microsoft adapter to a sandbox mailbox, as the OAuth flow would."""

from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings

from calendars.providers.microsoft import MicrosoftProvider


def connect(sandbox, email: str, on_credentials=None, expired: bool = False) -> MicrosoftProvider:
    """Tokens minted by the sandbox's control API for the app's client; `expired` makes the
    adapter refresh (through MSAL) before its first Graph call."""
    tokens = requests.post(
        f"{sandbox.http_url}/_sandbox/tokens",
        json={
            "provider": "microsoft",
            "email": email,
            "client_id": settings.MICROSOFT_CLIENT_ID,
            "client_secret": settings.MICROSOFT_CLIENT_SECRET,
        },
        timeout=10,
    ).json()
    lifetime = timedelta(seconds=-60 if expired else tokens["expires_in"])
    credentials = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": (datetime.now(UTC) + lifetime).isoformat(),
    }
    return MicrosoftProvider(credentials, on_credentials)
