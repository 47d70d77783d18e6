"""Conditional writes, through the real clients: Google's If-Match with the event etag, Graph's
If-Match with `@odata.etag`, and EWS's ChangeKey with ConflictResolution."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib import DELEGATE, UTC, Account, CalendarItem, Configuration, Credentials
from exchangelib import EWSDateTime as Moment
from exchangelib.errors import ErrorIrresolvableConflict
from exchangelib.items import ALWAYS_OVERWRITE, AUTO_RESOLVE, NEVER_OVERWRITE
from exchangelib.protocol import close_connections
from googleapiclient.errors import HttpError

from tests.sandbox.test_microsoft import Graph

EVENT = {
    "summary": "Planning",
    "start": "2027-05-04T09:00:00+00:00",
    "end": "2027-05-04T10:00:00+00:00",
}


def _user_edit(control: Any, email: str, event_id: str, calendar: str = "primary") -> None:
    """The owner edits the event elsewhere (Outlook, the Google UI): its version moves on."""
    control.patch(
        f"/mailboxes/{email}/calendars/{calendar}/events/{event_id}", {"location": "Room 2"}
    )


def _reason(error: HttpError) -> str:
    return json.loads(error.content)["error"]["errors"][0]["reason"]


# --- Google --------------------------------------------------------------------------------


def test_google_if_match_with_a_stale_etag_is_412(
    control: Any, alice: Any, calendar_api: Any
) -> None:
    api = calendar_api()
    event_id = control.post("/mailboxes/alice@example.com/calendars/primary/events", EVENT)["id"]
    read = api.events().get(calendarId="primary", eventId=event_id).execute()

    patch = api.events().patch(calendarId="primary", eventId=event_id, body={"summary": "Mine"})
    patch.headers["If-Match"] = read["etag"]
    changed = patch.execute()
    stale = api.events().patch(calendarId="primary", eventId=event_id, body={"summary": "Lost"})
    stale.headers["If-Match"] = read["etag"]
    with pytest.raises(HttpError) as refused:
        stale.execute()

    assert changed["etag"] != read["etag"] and changed["summary"] == "Mine"
    assert refused.value.resp.status == 412 and _reason(refused.value) == "conditionNotMet"
    assert api.events().get(calendarId="primary", eventId=event_id).execute()["summary"] == "Mine"


def test_google_etag_moves_with_any_change_and_guards_deletes(
    control: Any, alice: Any, calendar_api: Any
) -> None:
    api = calendar_api()
    event_id = control.post("/mailboxes/alice@example.com/calendars/primary/events", EVENT)["id"]
    etag = api.events().get(calendarId="primary", eventId=event_id).execute()["etag"]
    unchanged = api.events().get(calendarId="primary", eventId=event_id)
    unchanged.headers["If-None-Match"] = etag
    with pytest.raises(HttpError) as not_modified:
        unchanged.execute()

    _user_edit(control, "alice@example.com", event_id)
    delete = api.events().delete(calendarId="primary", eventId=event_id)
    delete.headers["If-Match"] = etag
    with pytest.raises(HttpError) as refused:
        delete.execute()
    fresh = api.events().get(calendarId="primary", eventId=event_id).execute()["etag"]
    delete = api.events().delete(calendarId="primary", eventId=event_id)
    delete.headers["If-Match"] = fresh
    delete.execute()

    assert not_modified.value.resp.status == 304  # conditional retrieval
    assert fresh != etag and refused.value.resp.status == 412
    assert (
        control.get(f"/mailboxes/alice@example.com/calendars/primary/events/{event_id}")["status"]
        == "cancelled"
    )


# --- Graph ---------------------------------------------------------------------------------


@pytest.fixture
def graph(sandbox_server: Any, control: Any) -> Graph:
    control.post("/mailboxes", {"provider": "microsoft", "email": "megan@contoso.example"})
    tokens = control.post("/tokens", {"provider": "microsoft", "email": "megan@contoso.example"})
    return Graph(sandbox_server.http_url, tokens["access_token"])


def test_graph_if_match_with_a_stale_etag_is_412(graph: Graph, control: Any) -> None:
    event_id = control.post("/mailboxes/megan@contoso.example/calendars/primary/events", EVENT)[
        "id"
    ]
    etag = graph.get(f"/me/events/{event_id}")["@odata.etag"]

    changed = graph.call(
        "PATCH", f"/me/events/{event_id}", json={"subject": "Mine"}, headers={"If-Match": etag}
    ).json()
    refused = graph.call(
        "PATCH",
        f"/me/events/{event_id}",
        expect=412,
        json={"subject": "Lost"},
        headers={"If-Match": etag},
    ).json()
    graph.call("DELETE", f"/me/events/{event_id}", expect=412, headers={"If-Match": etag})
    graph.call(
        "DELETE", f"/me/events/{event_id}", expect=204, headers={"If-Match": changed["@odata.etag"]}
    )

    assert changed["@odata.etag"] != etag and changed["subject"] == "Mine"
    assert refused["error"]["code"] == "ErrorIrresolvableConflict"


# --- EWS -----------------------------------------------------------------------------------


@pytest.fixture
def account(sandbox_server: Any, control: Any) -> Iterator[Account]:
    close_connections()
    control.post("/mailboxes", {"provider": "exchange", "email": "ex@corp.example"})
    config = Configuration(
        credentials=Credentials("ex@corp.example", "sandbox"),
        service_endpoint=sandbox_server.http_url + "/EWS/Exchange.asmx",
    )
    yield Account("ex@corp.example", config=config, autodiscover=False, access_type=DELEGATE)
    close_connections()


def test_ews_change_keys_and_conflict_resolution(account: Account, control: Any) -> None:
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Planning",
        start=Moment(2027, 5, 4, 9, tzinfo=UTC),
        end=Moment(2027, 5, 4, 10, tzinfo=UTC),
    )
    item.save()
    event_id = next(
        e["id"] for e in control.get("/mailboxes/ex@corp.example/calendars/primary/events")
    )
    _user_edit(control, "ex@corp.example", event_id)

    item.subject = "Mine"
    with pytest.raises(ErrorIrresolvableConflict):
        item.save(update_fields=["subject"], conflict_resolution=NEVER_OVERWRITE)
    item.save(update_fields=["subject"], conflict_resolution=ALWAYS_OVERWRITE)
    stale_key = item.changekey
    item.refresh()
    item.subject = "Mine again"
    item.save(update_fields=["subject"], conflict_resolution=NEVER_OVERWRITE)  # key is current
    item.changekey = stale_key
    item.subject = "Resolved"
    item.save(update_fields=["subject"], conflict_resolution=AUTO_RESOLVE)

    stored = control.get(f"/mailboxes/ex@corp.example/calendars/primary/events/{event_id}")
    assert stored["summary"] == "Resolved" and stored["location"] == "Room 2"
