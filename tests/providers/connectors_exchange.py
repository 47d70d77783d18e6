"""Connect the app's Exchange adapter to a sandbox mailbox, as the connect form would: the
credentials are checked against the server first and the checked set is what gets stored."""

import requests

from calendars.providers.exchange import ExchangeProvider, check_credentials


def ews_url(sandbox) -> str:
    return f"{sandbox.http_url}/EWS/Exchange.asmx"


def connect(sandbox, email: str, on_credentials=None) -> ExchangeProvider:
    """Needs settings.EXCHANGE_ALLOW_PRIVATE_URLS (the sandbox listens on loopback, over http)."""
    mailbox = requests.get(f"{sandbox.http_url}/_sandbox/mailboxes/{email}", timeout=10).json()
    credentials = check_credentials(
        email=email, password=mailbox["password"], username="", ews_url=ews_url(sandbox)
    )
    return ExchangeProvider(credentials, on_credentials)
