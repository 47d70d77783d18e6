"""Google's granular consent and refresh-token lifetimes, through google-auth-oauthlib's Flow,
google-auth's Credentials and the Calendar client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import GOOGLE_SCOPE

REDIRECT_URI = "http://localhost:8000/calendars/google/callback"
GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
CLIENT = {"client_id": "app-client", "client_secret": "app-secret"}


class ConsentForm(HTMLParser):
    """The consent page's fields and scope checkboxes, as a browser submits them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.checkboxes: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"] or ""] = found.get("value") or ""
        if tag == "input" and found.get("type") == "checkbox":
            self.checkboxes.append(found.get("value") or "")


@pytest.fixture(autouse=True)
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox speaks plain http


def _flow(sandbox: Any, scopes: list[str]) -> Flow:
    config = {
        "web": {
            **CLIENT,
            "auth_uri": sandbox.http_url + "/o/oauth2/auth",
            "token_uri": sandbox.http_url + "/token",
        }
    }
    return Flow.from_client_config(config, scopes=scopes, redirect_uri=REDIRECT_URI)


def _consent(flow: Flow, keep: list[str] | None) -> tuple[ConsentForm, dict[str, str]]:
    """Open the consent page, tick only `keep` (None: leave every box as it is), submit."""
    url, _ = flow.authorization_url(access_type="offline", prompt="consent")
    form = ConsentForm(requests.get(url, timeout=10).text)
    ticked = form.checkboxes if keep is None else keep
    answer = requests.post(
        url,
        data={**form.fields, "email": "alice@example.com", "decision": "allow", "grant": ticked},
        allow_redirects=False,
        timeout=10,
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    return form, {key: values[0] for key, values in query.items()}


def _calendar(sandbox: Any, credentials: Credentials) -> Any:
    return build(
        "calendar",
        "v3",
        credentials=credentials,
        static_discovery=True,
        client_options={"api_endpoint": sandbox.http_url + "/calendar/v3/"},
    )


def test_the_user_can_untick_the_calendar_scope(
    sandbox_server: Any, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = _flow(sandbox_server, [GOOGLE_SCOPE, GMAIL_SCOPE])
    form, reply = _consent(flow, keep=[GMAIL_SCOPE])
    with pytest.raises(Warning, match="Scope has changed"):
        flow.fetch_token(code=reply["code"])  # oauthlib notices, as it does with Google

    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    flow = _flow(sandbox_server, [GOOGLE_SCOPE, GMAIL_SCOPE])
    _, reply = _consent(flow, keep=[GMAIL_SCOPE])
    token = flow.fetch_token(code=reply["code"])
    with pytest.raises(HttpError) as refused:
        _calendar(sandbox_server, flow.credentials).calendarList().list().execute()

    assert form.checkboxes == [GOOGLE_SCOPE, GMAIL_SCOPE]
    assert reply["scope"] == GMAIL_SCOPE and token["scope"] == [GMAIL_SCOPE]
    error = json.loads(refused.value.content)["error"]
    assert refused.value.resp.status == 403 and error["status"] == "PERMISSION_DENIED"
    assert error["errors"][0]["reason"] == "insufficientPermissions"
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert 'error="insufficient_scope"' in refused.value.resp["www-authenticate"]


def test_a_single_scope_is_all_or_nothing(sandbox_server: Any, alice: Any) -> None:
    flow = _flow(sandbox_server, [GOOGLE_SCOPE])
    form, reply = _consent(flow, keep=[])

    assert form.checkboxes == [] and reply["scope"] == GOOGLE_SCOPE


# --- refresh token lifetimes -------------------------------------------------------------


def _credentials(sandbox: Any, control: Any, scopes: list[str] | None = None) -> Credentials:
    tokens = control.post(
        "/tokens",
        {
            "provider": "google",
            "email": "alice@example.com",
            "scopes": scopes or [GOOGLE_SCOPE],
            **CLIENT,
        },
    )
    return Credentials(
        None,
        refresh_token=tokens["refresh_token"],
        token_uri=sandbox.http_url + "/token",
        **CLIENT,
    )


def _refused(credentials: Credentials) -> str:
    with pytest.raises(RefreshError) as refused:
        credentials.refresh(AuthRequest())
    return str(refused.value)


@pytest.mark.parametrize("cause", ["testing", "inactivity", "user_revoked"])
def test_expired_refresh_tokens_answer_invalid_grant(
    sandbox_server: Any, control: Any, alice: Any, cause: str
) -> None:
    credentials = _credentials(sandbox_server, control)
    credentials.refresh(AuthRequest())

    expired = control.post(
        "/faults",
        {
            "provider": "google",
            "kind": "expire_refresh_tokens",
            "email": alice["email"],
            "cause": cause,
        },
    )

    assert expired["affected"] == 1
    assert "invalid_grant: Token has been expired or revoked." in _refused(credentials)


def test_a_password_change_ends_only_tokens_with_gmail_scopes(
    sandbox_server: Any, control: Any, alice: Any
) -> None:
    calendar_only = _credentials(sandbox_server, control)
    with_gmail = _credentials(sandbox_server, control, [GOOGLE_SCOPE, GMAIL_SCOPE])

    control.post(
        "/faults",
        {
            "provider": "google",
            "kind": "expire_refresh_tokens",
            "email": alice["email"],
            "cause": "password_change",
        },
    )

    calendar_only.refresh(AuthRequest())
    assert "invalid_grant" in _refused(with_gmail)
    control.post(
        "/faults",
        {"provider": "google", "kind": "expire_refresh_tokens", "cause": "testing"},
        expect=201,
    )
    control.post(
        "/faults",
        {"provider": "microsoft", "kind": "expire_refresh_tokens", "cause": "testing"},
        expect=400,
    )


def test_a_testing_app_gets_seven_day_refresh_tokens(
    sandbox_server: Any, control: Any, alice: Any
) -> None:
    control.patch("/google/clients/app-client", {"publishing_status": "testing"})
    credentials = _credentials(sandbox_server, control)
    start = datetime.now(UTC)

    with time_machine.travel(start + timedelta(days=6), tick=True):
        credentials.refresh(AuthRequest())
    with time_machine.travel(start + timedelta(days=8), tick=True):
        assert "Token has been expired or revoked." in _refused(credentials)


def test_a_refresh_token_unused_for_six_months_expires(
    sandbox_server: Any, control: Any, alice: Any
) -> None:
    used = _credentials(sandbox_server, control)
    unused = _credentials(sandbox_server, control)
    start = datetime.now(UTC)

    with time_machine.travel(start + timedelta(days=120), tick=True):
        used.refresh(AuthRequest())  # production app: no 7-day limit
    with time_machine.travel(start + timedelta(days=200), tick=True):
        used.refresh(AuthRequest())  # used 80 days ago
        assert "invalid_grant" in _refused(unused)
