"""Connect the app's Google adapter to a sandbox mailbox, as the OAuth flow would."""

from calendars.providers.google import GoogleProvider
from tests.support.sandbox import google_credentials


def connect(sandbox, email: str, on_credentials=None, expired: bool = False) -> GoogleProvider:
    return GoogleProvider(google_credentials(sandbox.http_url, email, expired), on_credentials)
