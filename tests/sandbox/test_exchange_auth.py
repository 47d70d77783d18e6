"""EWS sign-in over https with NTLM and Basic, as the mailbox's server offers them, and Exchange
Online's refusal of Basic; through exchangelib (requests_ntlm and pyspnego underneath)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from exchangelib import BASIC, DELEGATE, NTLM, Account, Configuration, Credentials
from exchangelib.errors import UnauthorizedError
from exchangelib.protocol import close_connections

ED = "ed@corp.example"
PASSWORD = "S3cret!"
PROBE = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
<s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header>
<s:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>
<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder></s:Body>
</s:Envelope>"""


@pytest.fixture
def ews_https(sandbox_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The https EWS URL; requests (under exchangelib) trusts the sandbox's CA and nothing else."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox_server.ca_file))
    return sandbox_server.https_url + "/EWS/Exchange.asmx"


@pytest.fixture
def ed(control: Any) -> dict[str, Any]:
    return control.post("/mailboxes", {"provider": "exchange", "email": ED, "password": PASSWORD})


@pytest.fixture
def connect(ews_https: str) -> Iterator[Callable[..., Account]]:
    close_connections()

    def make(username: str = ED, password: str = PASSWORD, auth_type: str | None = None) -> Account:
        config = Configuration(
            credentials=Credentials(username, password),
            service_endpoint=ews_https,
            auth_type=auth_type,
        )
        return Account(ED, config=config, autodiscover=False, access_type=DELEGATE)

    yield make
    close_connections()


def _offers(response: requests.Response) -> list[str]:
    return [v.strip() for v in response.headers.get("WWW-Authenticate", "").split(",")]


def test_an_ntlm_only_server_is_guessed_and_signed_in_with_ntlm(
    control: Any, ed: Any, connect: Callable, ews_https: str
) -> None:
    control.patch(f"/exchange/mailboxes/{ED}", {"auth_methods": ["NTLM"]})

    probe = requests.post(ews_https, data=PROBE, timeout=10)
    basic = requests.post(ews_https, data=PROBE, auth=(ED, PASSWORD), timeout=10)
    account = connect()

    assert probe.status_code == 401 and _offers(probe) == ["NTLM"]
    assert basic.status_code == 401  # Basic is not offered, even with the right password
    assert account.protocol.auth_type == NTLM
    assert account.calendar.name == "Calendar"
    with pytest.raises(UnauthorizedError):
        connect(password="wrong").calendar  # noqa: B018


def test_ntlm_takes_domain_and_upn_user_names(control: Any, ed: Any, connect: Callable) -> None:
    control.patch(f"/exchange/mailboxes/{ED}", {"auth_methods": ["NTLM", "Basic"]})

    assert connect("CORP\\ed", auth_type=NTLM).calendar.name == "Calendar"
    assert connect(ED, auth_type=NTLM).calendar.name == "Calendar"
    assert connect(auth_type=BASIC).calendar.name == "Calendar"


def test_both_offered_prefers_ntlm_and_the_anchor_mailbox_picks_the_server(
    control: Any, ed: Any, connect: Callable, ews_https: str
) -> None:
    control.post("/mailboxes", {"provider": "exchange", "email": "old@corp.example"})
    control.patch(f"/exchange/mailboxes/{ED}", {"auth_methods": ["Basic", "NTLM"]})

    anonymous = requests.post(ews_https, data=PROBE, timeout=10)
    anchored = requests.post(
        ews_https, data=PROBE, headers={"X-AnchorMailbox": "old@corp.example"}, timeout=10
    )

    assert _offers(anonymous) == ["NTLM", 'Basic realm="127.0.0.1"']
    assert _offers(anchored) == ['Basic realm="127.0.0.1"']
    assert connect().protocol.auth_type == NTLM


def test_exchange_online_refuses_basic(
    control: Any, ed: Any, connect: Callable, ews_https: str
) -> None:
    settings = control.patch(f"/exchange/mailboxes/{ED}", {"online": True})

    probe = requests.post(ews_https, data=PROBE, timeout=10)
    basic = requests.post(ews_https, data=PROBE, auth=(ED, PASSWORD), timeout=10)

    assert settings["online"] is True
    assert probe.status_code == basic.status_code == 401
    assert probe.headers["WWW-Authenticate"].startswith("Bearer ")
    with pytest.raises(UnauthorizedError):
        connect().calendar  # noqa: B018
    control.patch(f"/exchange/mailboxes/{ED}", {"auth_methods": ["Kerberos"]}, expect=400)
