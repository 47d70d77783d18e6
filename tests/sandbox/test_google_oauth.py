"""Google OAuth through the real google-auth-oauthlib Flow and google-auth Credentials."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as AuthRequest
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from tests.sandbox.conftest import GOOGLE_SCOPE

REDIRECT_URI = "http://localhost:8000/calendars/google/callback"


class ConsentForm(HTMLParser):
    """The consent page's form fields, the way a browser would submit them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.accounts: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"] or ""] = found.get("value") or ""
        if tag == "option":
            self.accounts.append(found.get("value") or "")


@pytest.fixture(autouse=True)
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses plain http unless told; only ever for the sandbox.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def make_flow(sandbox_server: Any, alice: dict[str, Any]) -> Any:
    def make() -> Flow:
        return Flow.from_client_config(
            {
                "web": {
                    "client_id": "app-client",
                    "client_secret": "app-secret",
                    "auth_uri": sandbox_server.http_url + "/o/oauth2/auth",
                    "token_uri": sandbox_server.http_url + "/token",
                }
            },
            scopes=[GOOGLE_SCOPE],
            redirect_uri=REDIRECT_URI,
        )

    return make


def consent(flow: Flow, decision: str = "allow") -> dict[str, str]:
    """Open the consent page, submit it like a browser, return the redirect's query."""
    url, _ = flow.authorization_url(
        access_type="offline", prompt="consent", login_hint="alice@example.com"
    )
    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    form = ConsentForm(page.text)
    assert "alice@example.com" in form.accounts
    assert GOOGLE_SCOPE in page.text
    answer = requests.post(
        url,
        data={**form.fields, "email": "alice@example.com", "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def test_allow_exchanges_the_code_for_tokens_once(make_flow: Any, calendar_api: Any) -> None:
    flow = make_flow()
    reply = consent(flow)
    assert reply["state"] == flow.oauth2session._state

    token = flow.fetch_token(code=reply["code"])

    assert token["scope"] == [GOOGLE_SCOPE]
    assert token["token_type"] == "Bearer" and token["expires_in"] > 3000
    assert flow.credentials.token and flow.credentials.refresh_token
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(code=reply["code"])


def test_credentials_from_the_flow_call_the_api(make_flow: Any, sandbox_server: Any) -> None:
    flow = make_flow()
    flow.fetch_token(code=consent(flow)["code"])
    api = build(
        "calendar",
        "v3",
        credentials=flow.credentials,
        static_discovery=True,
        client_options={"api_endpoint": sandbox_server.http_url + "/calendar/v3/"},
    )

    primary = api.calendarList().get(calendarId="primary").execute()

    assert primary["id"] == "alice@example.com" and primary["accessRole"] == "owner"


def test_wrong_code_verifier_is_refused(make_flow: Any) -> None:
    flow = make_flow()
    reply = consent(flow)
    flow.code_verifier = "x" * 64

    with pytest.raises(InvalidGrantError, match="code verifier"):
        flow.fetch_token(code=reply["code"])


def test_deny_redirects_with_access_denied(make_flow: Any) -> None:
    flow = make_flow()

    reply = consent(flow, decision="deny")

    assert reply["error"] == "access_denied"
    assert reply["state"] == flow.oauth2session._state
    assert "code" not in reply


@pytest.mark.parametrize("missing", ["client_id", "redirect_uri"])
def test_authorize_needs_client_and_redirect(sandbox_server: Any, missing: str) -> None:
    params = {
        "client_id": "app",
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": GOOGLE_SCOPE,
    }
    del params[missing]

    page = requests.get(sandbox_server.http_url + "/o/oauth2/auth", params=params, timeout=10)

    assert page.status_code == 400
    assert missing in page.text


def test_refresh_works_until_the_grant_is_revoked(make_flow: Any, control: Any) -> None:
    flow = make_flow()
    flow.fetch_token(code=consent(flow)["code"])
    credentials = flow.credentials
    first = credentials.token

    credentials.refresh(AuthRequest())

    assert credentials.token != first and credentials.valid
    control.post(
        "/faults",
        {"provider": "google", "email": "alice@example.com", "kind": "revoke_grant"},
        expect=201,
    )
    with pytest.raises(RefreshError, match="invalid_grant"):
        credentials.refresh(AuthRequest())


def test_refresh_accepts_client_credentials_in_basic_header(
    make_flow: Any, sandbox_server: Any
) -> None:
    flow = make_flow()
    flow.fetch_token(code=consent(flow)["code"])

    answer = requests.post(
        sandbox_server.http_url + "/token",
        auth=("app-client", "app-secret"),
        data={"grant_type": "refresh_token", "refresh_token": flow.credentials.refresh_token},
        timeout=10,
    )
    wrong = requests.post(
        sandbox_server.http_url + "/token",
        auth=("app-client", "nope"),
        data={"grant_type": "refresh_token", "refresh_token": flow.credentials.refresh_token},
        timeout=10,
    )

    assert answer.status_code == 200 and answer.json()["scope"] == GOOGLE_SCOPE
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_revoked_access_token_is_refused_by_the_api(
    calendar_api: Any, alice: Any, control: Any
) -> None:
    api = calendar_api()
    api.calendarList().list().execute()
    control.post("/faults", {"provider": "google", "kind": "revoke_grant"})

    # The library refreshes on 401, and the refresh then fails for good.
    with pytest.raises(RefreshError, match="invalid_grant"):
        api.calendarList().list().execute()
