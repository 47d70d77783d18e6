"""Connect the app's Google adapter to a sandbox mailbox, as the OAuth flow would."""

from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings

from calendars.providers.google import GoogleProvider


def connect(sandbox, email: str, on_credentials=None, expired: bool = False) -> GoogleProvider:
    tokens = requests.post(
        f"{sandbox.http_url}/_sandbox/tokens",
        json={
            "provider": "google",
            "email": email,
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
        },
        timeout=10,
    ).json()
    lifetime = timedelta(seconds=-60 if expired else tokens["expires_in"])
    credentials = {
        "token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expiry": (datetime.now(UTC) + lifetime).isoformat(),
    }
    return GoogleProvider(credentials, on_credentials)
