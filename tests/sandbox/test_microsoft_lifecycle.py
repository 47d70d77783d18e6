"""Microsoft lifecycles: refresh-token rotation and expiry through the real MSAL, and Graph
subscription lifecycle notifications over requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msal
import pytest
import time_machine

from tests.sandbox.test_microsoft import Graph, https_session
from tests.support.receiver import Receiver

EMAIL = "megan@contoso.example"
SCOPES = ["User.Read", "Calendars.ReadWrite"]


@pytest.fixture
def mailbox(control: Any) -> dict[str, Any]:
    return control.post("/mailboxes", {"provider": "microsoft", "email": EMAIL})


@pytest.fixture
def msal_app(sandbox_server: Any, mailbox: Any) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        "app-client",
        client_credential="app-secret",
        authority=sandbox_server.https_url + "/common",
        instance_discovery=False,
        http_client=https_session(sandbox_server),
    )


def _refresh_token(control: Any) -> str:
    tokens = control.post(
        "/tokens",
        {
            "provider": "microsoft",
            "email": EMAIL,
            "client_id": "app-client",
            "client_secret": "app-secret",
        },
    )
    return tokens["refresh_token"]


def test_every_refresh_rotates_the_refresh_token_and_old_ones_keep_working(
    control: Any, msal_app: Any
) -> None:
    first = _refresh_token(control)

    second = msal_app.acquire_token_by_refresh_token(first, SCOPES)
    third = msal_app.acquire_token_by_refresh_token(first, SCOPES)  # the old one still works
    fourth = msal_app.acquire_token_by_refresh_token(second["refresh_token"], SCOPES)

    tokens = [first, second["refresh_token"], third["refresh_token"], fourth["refresh_token"]]
    assert len(set(tokens)) == 4
    assert all("access_token" in answer for answer in (second, third, fourth))


def test_a_refresh_token_unused_for_90_days_expires(control: Any, msal_app: Any) -> None:
    first = _refresh_token(control)
    start = datetime.now(UTC)
    with time_machine.travel(start + timedelta(days=60), tick=True):
        rotated = msal_app.acquire_token_by_refresh_token(first, SCOPES)["refresh_token"]

    with time_machine.travel(start + timedelta(days=140), tick=True):
        fresh = msal_app.acquire_token_by_refresh_token(rotated, SCOPES)  # used 80 days ago
        stale = msal_app.acquire_token_by_refresh_token(first, SCOPES)  # 80 days too, but...
    with time_machine.travel(start + timedelta(days=260), tick=True):
        expired = msal_app.acquire_token_by_refresh_token(rotated, SCOPES)

    assert "access_token" in fresh and "access_token" in stale
    assert expired["error"] == "invalid_grant"
    assert expired["error_description"].startswith("AADSTS700082: The refresh token has expired")
    assert expired["error_codes"] == [700082]


def test_revoked_sessions_end_refresh_tokens_and_a_password_change_does_not(
    control: Any, msal_app: Any
) -> None:
    token = _refresh_token(control)
    fault = {"provider": "microsoft", "kind": "expire_refresh_tokens", "email": EMAIL}

    control.post("/faults", {**fault, "cause": "password_change"})
    survived = msal_app.acquire_token_by_refresh_token(token, SCOPES)
    control.post("/faults", {**fault, "cause": "user_revoked"})
    revoked = msal_app.acquire_token_by_refresh_token(survived["refresh_token"], SCOPES)
    control.post("/faults", {**fault, "cause": "inactivity"}, expect=201)

    assert "access_token" in survived  # a confidential client's tokens outlive the password
    assert revoked["error"] == "invalid_grant" and revoked["error_codes"] == [50173]


# --- subscription lifecycle ----------------------------------------------------------------


@pytest.fixture
def graph(sandbox_server: Any, control: Any, mailbox: Any) -> Graph:
    tokens = control.post("/tokens", {"provider": "microsoft", "email": EMAIL})
    return Graph(sandbox_server.http_url, tokens["access_token"])


def _subscribe(graph: Graph, changes: Receiver, lifecycle: Receiver) -> dict[str, Any]:
    return graph.post(
        "/subscriptions",
        {
            "changeType": "created,updated,deleted",
            "notificationUrl": changes.url,
            "lifecycleNotificationUrl": lifecycle.url,
            "resource": "me/events",
            "expirationDateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "clientState": "secret",
        },
    )


def _user_event(control: Any) -> None:
    control.post(
        f"/mailboxes/{EMAIL}/calendars/primary/events",
        {"start": "2027-05-04T09:00:00Z", "end": "2027-05-04T10:00:00Z"},
    )


def _notifications(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body)["value"][0] for r in receiver.received if r.body]


def test_reauthorization_required_pauses_notifications_until_reauthorized(
    graph: Graph, control: Any, sandbox_server: Any
) -> None:
    with Receiver() as changes, Receiver() as lifecycle:
        subscription = _subscribe(graph, changes, lifecycle)
        control.post("/microsoft/lifecycle", {"event": "reauthorizationRequired", "email": EMAIL})
        _user_event(control)  # lost: delivery is paused
        sandbox_server.site.notifier.wait()
        paused = len(_notifications(changes))

        graph.call("POST", f"/subscriptions/{subscription['id']}/reauthorize", expect=204)
        _user_event(control)
        sandbox_server.site.notifier.wait()

    assert subscription["lifecycleNotificationUrl"] == lifecycle.url
    assert "validationToken" in lifecycle.received[0].query  # both URLs were validated
    event = _notifications(lifecycle)[0]
    assert event["lifecycleEvent"] == "reauthorizationRequired"
    assert event["subscriptionId"] == subscription["id"] and event["clientState"] == "secret"
    assert "changeType" not in event and event["tenantId"]
    assert paused == 0 and len(_notifications(changes)) == 1


def test_subscription_removed_and_missed(graph: Graph, control: Any, sandbox_server: Any) -> None:
    with Receiver() as changes, Receiver() as lifecycle:
        subscription = _subscribe(graph, changes, lifecycle)
        control.post("/microsoft/lifecycle", {"event": "missed", "email": EMAIL})
        _user_event(control)
        sandbox_server.site.notifier.wait()
        control.post(
            "/microsoft/lifecycle",
            {"event": "subscriptionRemoved", "subscription_id": subscription["id"]},
        )
        _user_event(control)
        sandbox_server.site.notifier.wait()

    assert [n["lifecycleEvent"] for n in _notifications(lifecycle)] == [
        "missed",
        "subscriptionRemoved",
    ]
    assert len(_notifications(changes)) == 1  # before the removal only
    graph.call("GET", f"/subscriptions/{subscription['id']}", expect=404)
    refused = graph.call(
        "PATCH",
        "/subscriptions/unknown",
        expect=404,
        json={"expirationDateTime": datetime.now(UTC).isoformat()},
    )
    assert refused.json()["error"]["code"] == "ResourceNotFound"
    control.post("/microsoft/lifecycle", {"event": "vanished"}, expect=400)
