"""Microsoft emulation: the identity platform through the real, unmodified MSAL, and Graph
over plain requests, as the app talks to them."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import msal
import pytest
import requests

from tests.support.receiver import Receiver

# The app answers the authorization with a query (see calendars/providers/microsoft.py).
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post':UserWarning")

EMAIL = "megan@contoso.example"
REDIRECT_URI = "http://localhost:8000/calendars/microsoft/callback"
SCOPES = ["User.Read", "Calendars.ReadWrite"]
NY = "America/New_York"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def megan(control: Any) -> dict[str, Any]:
    """A Microsoft mailbox in New York with a writable, a readable and a free/busy-only share."""
    return control.post(
        "/mailboxes",
        {
            "provider": "microsoft",
            "email": EMAIL,
            "timezone": NY,
            "calendars": [
                {"id": "team-cal", "name": "Team", "access": "writer"},
                {"id": "boss-cal", "name": "Boss", "access": "reader"},
                {"id": "room-cal", "name": "Room", "access": "freeBusyReader"},
            ],
        },
    )


def https_session(sandbox: Any) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    return session


@pytest.fixture
def msal_app(sandbox_server: Any, megan: Any) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        "app-client",
        client_credential="app-secret",
        authority=sandbox_server.https_url + "/common",
        instance_discovery=False,
        http_client=https_session(sandbox_server),
    )


def consent(sandbox: Any, flow: dict[str, Any], decision: str = "allow") -> dict[str, str]:
    """Open the consent page, submit it as a browser would, return the redirect's query."""
    session = https_session(sandbox)
    page = session.get(flow["auth_uri"], timeout=10)
    assert page.status_code == 200 and EMAIL in page.text and "Calendars.ReadWrite" in page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    form = {name: html.unescape(value) for name, value in hidden.items()}
    answer = session.post(
        flow["auth_uri"],
        data={**form, "email": EMAIL, "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def sign_in(sandbox: Any, app: msal.ConfidentialClientApplication) -> dict[str, Any]:
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, login_hint=EMAIL)
    return app.acquire_token_by_auth_code_flow(flow, consent(sandbox, flow))


def decode(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Graph:
    """Graph over plain requests with a bearer token, as the app's adapter calls it."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url + "/graph/v1.0"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        url = path if path.startswith("http") else self.base_url + path
        response = self.session.request(method, url, timeout=15, **kwargs)
        assert response.status_code == expect, response.text
        return response

    def get(self, path: str, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, expect, **kwargs).json()

    def post(self, path: str, body: dict[str, Any], expect: int = 201, **kwargs: Any) -> Any:
        return self.call("POST", path, expect, json=body, **kwargs).json()


@pytest.fixture
def graph(sandbox_server: Any, control: Any, megan: Any) -> Graph:
    tokens = control.post("/tokens", {"provider": "microsoft", "email": EMAIL})
    return Graph(sandbox_server.http_url, tokens["access_token"])


def user_event(
    control: Any, start: str, end: str, calendar: str = "primary", **fields: Any
) -> dict[str, Any]:
    """An event the user made in Outlook (through the control API, not Graph)."""
    return control.post(
        f"/mailboxes/{EMAIL}/calendars/{calendar}/events",
        {"summary": "user event", "start": start, "end": end, **fields},
    )


def graph_event(start: str, end: str, **fields: Any) -> dict[str, Any]:
    return {
        "subject": "Intro",
        "start": {"dateTime": start, "timeZone": NY},
        "end": {"dateTime": end, "timeZone": NY},
        **fields,
    }


def delta_all(graph: Graph, first: str, **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
    """Follow nextLinks to the deltaLink; returns every item and the deltaLink."""
    items, link = [], first
    while True:
        page = graph.get(link, **kwargs)
        items += page["value"]
        if "@odata.deltaLink" in page:
            assert "@odata.nextLink" not in page
            return items, page["@odata.deltaLink"]
        link = page["@odata.nextLink"]


WINDOW = {"startDateTime": "2027-05-01T00:00:00Z", "endDateTime": "2027-06-01T00:00:00Z"}


# --- identity platform -----------------------------------------------------------------------


def test_openid_configuration_names_https_endpoints_of_the_tenant(sandbox_server: Any) -> None:
    session = https_session(sandbox_server)
    url = sandbox_server.https_url + "/contoso.example/v2.0/.well-known/openid-configuration"

    config = session.get(url, timeout=10).json()

    base = sandbox_server.https_url + "/contoso.example/oauth2/v2.0"
    assert config["authorization_endpoint"] == base + "/authorize"
    assert config["token_endpoint"] == base + "/token"


def test_msal_signs_in_with_pkce_nonce_and_client_info(sandbox_server: Any, msal_app: Any) -> None:
    flow = msal_app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, login_hint=EMAIL)
    reply = consent(sandbox_server, flow)
    assert reply["state"] == flow["state"] and "client_info" in reply

    result = msal_app.acquire_token_by_auth_code_flow(flow, reply)

    assert "error" not in result, result
    assert result["access_token"] and result["refresh_token"] and result["expires_in"] > 3000
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == EMAIL and claims["aud"] == "app-client"
    # MSAL checked it too: the claim echoes the authorize request's nonce (its sha256).
    assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert decode(result["id_token"].split(".")[0]) == {"typ": "JWT", "alg": "none"}
    info = decode(result["client_info"])
    assert (info["uid"], info["utid"]) == (claims["oid"], claims["tid"])
    me = Graph(sandbox_server.http_url, result["access_token"]).get("/me")
    assert me["mail"] == EMAIL and me["id"] == claims["oid"]


def test_a_replayed_code_is_refused(sandbox_server: Any, msal_app: Any) -> None:
    flow = msal_app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    reply = consent(sandbox_server, flow)
    assert "access_token" in msal_app.acquire_token_by_auth_code_flow(dict(flow), reply)

    again = msal_app.acquire_token_by_auth_code_flow(dict(flow), reply)

    assert again["error"] == "invalid_grant"


def test_a_wrong_code_verifier_is_refused(sandbox_server: Any, msal_app: Any) -> None:
    flow = msal_app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    reply = consent(sandbox_server, flow)
    flow["code_verifier"] = "x" * 43

    assert msal_app.acquire_token_by_auth_code_flow(flow, reply)["error"] == "invalid_grant"


def test_deny_redirects_with_access_denied(sandbox_server: Any, msal_app: Any) -> None:
    flow = msal_app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)

    reply = consent(sandbox_server, flow, decision="deny")

    assert reply["error"] == "access_denied" and reply["state"] == flow["state"]
    assert "code" not in reply
    assert msal_app.acquire_token_by_auth_code_flow(flow, reply)["error"] == "access_denied"


def test_form_post_answers_with_a_self_submitting_form(sandbox_server: Any, msal_app: Any) -> None:
    flow = msal_app.initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    session = https_session(sandbox_server)
    page = session.get(flow["auth_uri"], timeout=10).text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))

    answer = session.post(
        flow["auth_uri"], data={**form, "email": EMAIL, "decision": "allow"}, timeout=10
    )

    assert f'action="{REDIRECT_URI}"' in answer.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', answer.text))
    assert fields["state"] == flow["state"]
    assert "access_token" in msal_app.acquire_token_by_auth_code_flow(flow, fields)


def test_authorize_needs_a_redirect_uri(sandbox_server: Any) -> None:
    page = https_session(sandbox_server).get(
        sandbox_server.https_url + "/common/oauth2/v2.0/authorize",
        params={"client_id": "app", "response_type": "code", "scope": "openid"},
        timeout=10,
    )

    assert page.status_code == 400 and "redirect_uri" in page.text


def test_refresh_works_until_the_grant_is_revoked(
    sandbox_server: Any, msal_app: Any, control: Any
) -> None:
    first = sign_in(sandbox_server, msal_app)

    refreshed = msal_app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)

    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["id_token_claims"]["preferred_username"] == EMAIL
    control.post("/faults", {"provider": "microsoft", "email": EMAIL, "kind": "revoke_grant"})
    refused = msal_app.acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    assert refused["error"] == "invalid_grant"
    Graph(sandbox_server.http_url, refreshed["access_token"]).get("/me", expect=401)


# --- Graph: calendars and events -------------------------------------------------------------


def test_calendars_carry_graph_flags_and_free_busy_shares_refuse_reads(graph: Graph) -> None:
    calendars = {c["name"]: c for c in graph.get("/me/calendars", params={"$top": 50})["value"]}

    flags = {
        name: (c["canShare"], c["canEdit"], c["canViewPrivateItems"])
        for name, c in calendars.items()
    }
    assert flags == {
        EMAIL: (True, True, True),
        "Team": (False, True, True),
        "Boss": (False, False, False),
        "Room": (False, False, False),
    }
    assert calendars[EMAIL]["isDefaultCalendar"] and calendars[EMAIL]["owner"]["address"] == EMAIL
    assert graph.get("/me/calendars/boss-cal/events", params={"$top": 1})["value"] == []
    refused = graph.get("/me/calendars/room-cal/events", expect=403)
    assert refused["error"]["code"] == "ErrorAccessDenied"


def test_calendars_are_created_with_unique_names_and_deleted_with_their_events(
    graph: Graph,
) -> None:
    created = graph.post("/me/calendars", {"name": "CRM tasks"})
    assert (created["name"], created["canShare"], created["isDefaultCalendar"]) == (
        "CRM tasks",
        True,
        False,
    )
    twin = graph.post("/me/calendars", {"name": "crm TASKS"}, expect=409)
    assert twin["error"]["code"] == "ErrorFolderExists"
    event = graph.post(
        f"/me/calendars/{created['id']}/events",
        graph_event("2027-05-04T10:00:00", "2027-05-04T10:30:00", showAs="free"),
    )
    assert event["showAs"] == "free"

    graph.call("DELETE", f"/me/calendars/{created['id']}", expect=204)

    assert "CRM tasks" not in {c["name"] for c in graph.get("/me/calendars")["value"]}
    graph.get(f"/me/events/{event['id']}", expect=404)
    gone = graph.call("DELETE", f"/me/calendars/{created['id']}", expect=404).json()
    assert gone["error"]["code"] == "ErrorItemNotFound"
    graph.post("/me/calendars", {"name": "CRM tasks"})  # the name is free again


def test_the_default_and_shared_calendars_cannot_be_deleted(graph: Graph) -> None:
    default = graph.call("DELETE", f"/me/calendars/{EMAIL}", expect=400).json()
    shared = graph.call("DELETE", "/me/calendars/team-cal", expect=403).json()

    assert default["error"]["code"] == "ErrorDeleteDistinguishedFolder"
    assert shared["error"]["code"] == "ErrorAccessDenied"


def test_transaction_id_makes_a_retried_create_return_the_first_event(
    graph: Graph, control: Any
) -> None:
    body = graph_event(
        "2027-05-04T10:00:00",
        "2027-05-04T10:30:00",
        transactionId="key-1",
        attendees=[{"emailAddress": {"address": "cora@client.example"}, "type": "required"}],
    )

    first = graph.post("/me/calendars/team-cal/events", body)
    retried = graph.post("/me/calendars/team-cal/events", body)

    assert retried["id"] == first["id"] and first["transactionId"] == "key-1"
    assert first["start"] == {"dateTime": "2027-05-04T14:00:00.0000000", "timeZone": "UTC"}
    assert first["attendees"][0]["status"]["response"] == "notResponded"
    writes = control.get("/writes", params={"email": EMAIL})
    assert [w["action"] for w in writes] == ["create"]
    invited = control.get("/invitations", params={"email": EMAIL})
    assert [(i["attendee"], i["kind"]) for i in invited] == [("cora@client.example", "invite")]


def test_patch_changes_only_named_fields_and_delete_answers_404_once_gone(graph: Graph) -> None:
    key = "String {0b7e2ac4-5f1d-4c7b-9a3e-8d6f1e2c4b90} Name appKey"
    created = graph.post(
        "/me/events",
        graph_event(
            "2027-05-04T10:00:00",
            "2027-05-04T11:00:00",
            showAs="tentative",
            singleValueExtendedProperties=[{"id": key, "value": "k1"}],
        ),
    )

    graph.call("PATCH", f"/me/events/{created['id']}", json={"subject": "Renamed"})
    expand = {"$expand": f"singleValueExtendedProperties($filter=id eq '{key}')"}
    read = graph.get(
        f"/me/events/{created['id']}", params=expand, headers={"Prefer": f'outlook.timezone="{NY}"'}
    )

    assert read["subject"] == "Renamed" and read["showAs"] == "tentative"
    assert read["start"] == {"dateTime": "2027-05-04T10:00:00.0000000", "timeZone": NY}
    assert read["singleValueExtendedProperties"] == [{"id": key, "value": "k1"}]
    graph.call("DELETE", f"/me/events/{created['id']}", expect=204)
    gone = graph.call("DELETE", f"/me/events/{created['id']}", expect=404).json()
    assert gone["error"]["code"] == "ErrorItemNotFound"
    graph.get(f"/me/events/{created['id']}", expect=404)


def test_writes_to_a_read_only_share_are_denied(graph: Graph) -> None:
    refused = graph.post(
        "/me/calendars/boss-cal/events",
        graph_event("2027-05-04T10:00:00", "2027-05-04T11:00:00"),
        expect=403,
    )

    assert refused["error"]["code"] == "ErrorAccessDenied"


def test_all_day_events_float_at_midnight(graph: Graph, control: Any) -> None:
    user_event(control, "2027-05-10", "2027-05-11", summary="Holiday")

    view = graph.get("/me/calendarView", params=WINDOW)["value"]

    assert [(e["isAllDay"], e["start"]["dateTime"], e["end"]["dateTime"]) for e in view] == [
        (True, "2027-05-10T00:00:00.0000000", "2027-05-11T00:00:00.0000000")
    ]


# --- Graph: calendarView, recurrence and delta -----------------------------------------------


def test_weekly_series_keeps_its_local_time_across_dst(graph: Graph, control: Any) -> None:
    # US daylight saving time starts on 14 March 2027.
    user_event(
        control,
        "2027-03-01T09:00:00-05:00",
        "2027-03-01T09:30:00-05:00",
        summary="Standup",
        timezone=NY,
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"],
    )
    window = {"startDateTime": "2027-02-28T00:00:00Z", "endDateTime": "2027-04-01T00:00:00Z"}

    utc = graph.get("/me/calendarView", params=window)["value"]
    local = graph.get(
        "/me/calendarView", params=window, headers={"Prefer": f'outlook.timezone="{NY}"'}
    )["value"]

    assert [e["start"]["dateTime"][:16] for e in utc] == [
        "2027-03-01T14:00",
        "2027-03-08T14:00",
        "2027-03-15T13:00",
        "2027-03-22T13:00",
    ]
    assert {e["start"]["dateTime"][11:16] for e in local} == {"09:00"}
    assert {e["type"] for e in utc} == {"occurrence"} and len({e["id"] for e in utc}) == 4
    assert len({e["seriesMasterId"] for e in utc}) == 1


def test_patterned_recurrence_from_graph_expands_in_its_zone(graph: Graph) -> None:
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": "2027-03-08", "numberOfOccurrences": 2},
    }
    master = graph.post(
        "/me/events", graph_event("2027-03-08T09:00:00", "2027-03-08T10:00:00", recurrence=weekly)
    )
    window = {"startDateTime": "2027-03-01T00:00:00Z", "endDateTime": "2027-04-01T00:00:00Z"}

    view = graph.get("/me/calendarView", params=window)["value"]

    assert master["type"] == "seriesMaster" and master["recurrence"] == weekly
    assert [e["start"]["dateTime"][:16] for e in view] == ["2027-03-08T14:00", "2027-03-15T13:00"]


def test_delta_pages_then_reports_changes_and_removals(graph: Graph, control: Any) -> None:
    made = [
        user_event(
            control,
            f"2027-05-0{day}T10:00:00Z",
            f"2027-05-0{day}T11:00:00Z",
            summary=f"Event {day}",
        )
        for day in range(1, 6)
    ]
    prefer = {"Prefer": "odata.maxpagesize=2"}
    first = graph.get(
        "/me/calendars/" + EMAIL + "/calendarView/delta", params=WINDOW, headers=prefer
    )
    assert len(first["value"]) == 2 and "@odata.nextLink" in first
    items, delta_link = delta_all(graph, first["@odata.nextLink"], headers=prefer)
    assert len(first["value"] + items) == 5

    base = f"/mailboxes/{EMAIL}/calendars/primary/events/"
    control.patch(base + made[0]["id"], {"summary": "Renamed"})
    control.delete(base + made[1]["id"])
    control.patch(
        base + made[2]["id"], {"start": "2027-07-01T10:00:00Z", "end": "2027-07-01T11:00:00Z"}
    )  # out of the window
    added = user_event(control, "2027-05-20T10:00:00Z", "2027-05-20T11:00:00Z")
    changes, next_link = delta_all(graph, delta_link)

    removed = {item["id"] for item in changes if "@removed" in item}
    changed = {item["id"]: item for item in changes if "@removed" not in item}
    assert removed == {made[1]["id"], made[2]["id"]}
    assert set(changed) == {made[0]["id"], added["id"]}
    assert changed[made[0]["id"]]["subject"] == "Renamed"
    assert delta_all(graph, next_link)[0] == []
    assert delta_all(graph, delta_link)[0] == changes  # a link may be replayed


def test_expired_sync_state_answers_410(graph: Graph, control: Any) -> None:
    _, delta_link = delta_all(
        graph, "/me/calendarView/delta?" + "&".join(f"{k}={v}" for k, v in WINDOW.items())
    )
    control.post("/faults", {"provider": "microsoft", "email": EMAIL, "kind": "expire_sync_tokens"})

    gone = graph.get(delta_link, expect=410)

    assert gone["error"]["code"] == "SyncStateNotFound"


def test_delta_needs_a_window(graph: Graph) -> None:
    refused = graph.get("/me/calendarView/delta", expect=400)

    assert "StartDateTime" in refused["error"]["message"]


# --- Graph: getSchedule ----------------------------------------------------------------------


def test_get_schedule_leaves_out_free_declined_and_cancelled_time(
    graph: Graph, control: Any
) -> None:
    user_event(control, "2027-05-04T09:00:00Z", "2027-05-04T10:00:00Z", summary="Busy")
    user_event(control, "2027-05-04T10:00:00Z", "2027-05-04T11:00:00Z", showAs="tentative")
    user_event(control, "2027-05-04T11:00:00Z", "2027-05-04T12:00:00Z", showAs="free")
    user_event(control, "2027-05-04T12:00:00Z", "2027-05-04T13:00:00Z", showAs="oof")
    user_event(
        control,
        "2027-05-04T13:00:00Z",
        "2027-05-04T14:00:00Z",
        organizer="x@y.example",
        attendees=[{"email": EMAIL, "response": "declined"}],
    )
    body = {
        "schedules": [EMAIL, "nobody@elsewhere.example"],
        "availabilityViewInterval": 60,
        "startTime": {"dateTime": "2027-05-04T08:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2027-05-04T15:00:00", "timeZone": "UTC"},
    }

    mine, unknown = graph.post("/me/calendar/getSchedule", body, expect=200)["value"]

    assert [(i["status"], i["start"]["dateTime"][11:16]) for i in mine["scheduleItems"]] == [
        ("busy", "09:00"),
        ("tentative", "10:00"),
        ("oof", "12:00"),
    ]
    assert mine["availabilityView"] == "0210300"
    assert unknown["error"]["responseCode"] == "ErrorMailRecipientNotFound"


def test_get_schedule_refuses_more_than_62_days(graph: Graph) -> None:
    body = {
        "schedules": [EMAIL],
        "startTime": {"dateTime": "2027-05-01T00:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2027-07-03T00:00:00", "timeZone": "UTC"},
    }

    graph.post("/me/calendar/getSchedule", body, expect=400)


# --- Graph: subscriptions --------------------------------------------------------------------


def subscription(url: str, calendar: str = "team-cal", minutes: int = 60) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "resource": f"me/calendars/{calendar}/events",
        "clientState": "secret-state",
        "expirationDateTime": expires.isoformat().replace("+00:00", "Z"),
    }


def test_subscription_validates_the_endpoint_then_notifies_changes(
    graph: Graph, control: Any, sandbox_server: Any
) -> None:
    with Receiver() as receiver:
        created = graph.post("/subscriptions", subscription(receiver.url))
        handshake = receiver.wait_for(lambda r: "validationToken" in r.query)
        assert handshake.body == b"" and handshake.headers["Content-Type"].startswith("text/plain")

        event = user_event(
            control, "2027-05-04T10:00:00Z", "2027-05-04T11:00:00Z", calendar="team-cal"
        )
        sandbox_server.site.notifier.wait()

        note = receiver.wait_for(lambda r: bool(r.body))
        item = json.loads(note.body)["value"][0]
        assert item["subscriptionId"] == created["id"] and item["clientState"] == "secret-state"
        assert item["changeType"] == "created" and item["resource"].endswith(event["id"])

        renewed = graph.call(
            "PATCH",
            f"/subscriptions/{created['id']}",
            json={"expirationDateTime": subscription("", minutes=600)["expirationDateTime"]},
        ).json()
        assert renewed["expirationDateTime"] > created["expirationDateTime"]
        graph.call("DELETE", f"/subscriptions/{created['id']}", expect=204)
        user_event(control, "2027-05-05T10:00:00Z", "2027-05-05T11:00:00Z", calendar="team-cal")
        sandbox_server.site.notifier.wait()
        assert len([r for r in receiver.received if r.body]) == 1
        graph.get(f"/subscriptions/{created['id']}", expect=404)


def test_subscription_is_refused_when_the_endpoint_does_not_echo(graph: Graph) -> None:
    with Receiver(echo=False) as receiver:
        refused = graph.post("/subscriptions", subscription(receiver.url), expect=400)

    assert refused["error"]["code"] == "ValidationError"


def test_subscription_expiry_is_limited(graph: Graph) -> None:
    graph.post("/subscriptions", subscription("http://127.0.0.1:9/hook", minutes=20000), expect=400)


# --- faults and permissions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [
        ({"kind": "rate_limit", "retry_after": 7}, 429, "TooManyRequests", "7"),
        ({"kind": "server_error"}, 500, "generalException", None),
        ({"kind": "server_error", "status": 503, "retry_after": 3}, 503, "ServiceUnavailable", "3"),
    ],
)
def test_request_faults_answer_in_graphs_shape(
    graph: Graph, control: Any, fault: dict, status: int, code: str, retry_after: str | None
) -> None:
    control.post("/faults", {"provider": "microsoft", "email": EMAIL, **fault})

    answer = graph.call("GET", "/me/calendars", expect=status)

    assert answer.json()["error"]["code"] == code
    assert answer.headers.get("Retry-After") == retry_after
    graph.get("/me/calendars")  # one use only


def test_lost_calendar_access_hides_the_calendar(graph: Graph, control: Any) -> None:
    control.post(
        "/faults",
        {
            "provider": "microsoft",
            "email": EMAIL,
            "kind": "lose_calendar_access",
            "calendar_id": "boss-cal",
        },
    )

    gone = graph.get("/me/calendars/boss-cal/calendarView", params=WINDOW, expect=404)

    assert gone["error"]["code"] == "ErrorItemNotFound"
    assert "boss-cal" not in {c["id"] for c in graph.get("/me/calendars")["value"]}


def test_a_revoked_grant_makes_tokens_invalid(graph: Graph, control: Any) -> None:
    control.post("/faults", {"provider": "microsoft", "email": EMAIL, "kind": "revoke_grant"})

    refused = graph.call("GET", "/me/calendars", expect=401)

    assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_calendar_calls_need_a_calendar_scope(
    sandbox_server: Any, control: Any, megan: Any
) -> None:
    tokens = control.post(
        "/tokens", {"provider": "microsoft", "email": EMAIL, "scopes": ["openid", "User.Read"]}
    )
    graph = Graph(sandbox_server.http_url, tokens["access_token"])

    assert graph.get("/me")["mail"] == EMAIL
    assert graph.get("/me/calendars", expect=403)["error"]["code"] == "ErrorAccessDenied"


def test_times_are_rendered_in_the_preferred_zone(graph: Graph, control: Any) -> None:
    user_event(control, "2027-05-04T14:00:00Z", "2027-05-04T15:00:00Z")

    view = graph.get(
        "/me/calendarView", params=WINDOW, headers={"Prefer": 'outlook.timezone="Europe/Warsaw"'}
    )["value"]

    start = datetime.fromisoformat(view[0]["start"]["dateTime"])
    assert start.replace(tzinfo=ZoneInfo("Europe/Warsaw")) == datetime(2027, 5, 4, 14, tzinfo=UTC)
