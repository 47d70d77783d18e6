"""Connect the app's Microsoft adapter to a sandbox mailbox, as the OAuth flow would."""

from datetime import UTC, datetime, timedelta

from calendars.providers.microsoft import MicrosoftProvider
from tests.support.sandbox import app_tokens


def connect(sandbox, email: str, on_credentials=None, expired: bool = False) -> MicrosoftProvider:
    """Tokens minted by the sandbox's control API for the app's client; `expired` makes the
    adapter refresh (through MSAL) before its first Graph call."""
    tokens = app_tokens(sandbox.http_url, "microsoft", email)
    lifetime = timedelta(seconds=-60 if expired else tokens["expires_in"])
    credentials = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": (datetime.now(UTC) + lifetime).isoformat(),
    }
    return MicrosoftProvider(credentials, on_credentials)
