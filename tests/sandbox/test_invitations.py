"""Invitations between sandbox mailboxes of every provider, through the real clients: the
attendee's copy, its answer flowing back to the organizer, and the organizer's updates and
cancellation reaching the copies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib import DELEGATE, UTC, Account, CalendarItem, Configuration, Credentials
from exchangelib import Attendee as EwsAttendee
from exchangelib import EWSDateTime as Moment
from exchangelib import Mailbox as EwsMailbox
from exchangelib.protocol import close_connections
from googleapiclient.errors import HttpError

from tests.sandbox.test_microsoft import Graph

ORGANIZER, GUS = "olga@gmail.example", "gus@gmail.example"  # Google
ANN = "ann@m365.example"  # Microsoft 365
ED = "ed@exchange.example"  # Exchange
START, END = "2027-05-04T09:00:00Z", "2027-05-04T10:00:00Z"


@pytest.fixture
def people(control: Any) -> None:
    for provider, email in (
        ("google", ORGANIZER),
        ("google", GUS),
        ("microsoft", ANN),
        ("exchange", ED),
    ):
        control.post("/mailboxes", {"provider": provider, "email": email})


@pytest.fixture
def olga(people: Any, calendar_api: Any) -> Any:
    return calendar_api(ORGANIZER)


@pytest.fixture
def ann(sandbox_server: Any, control: Any, people: Any) -> Graph:
    tokens = control.post("/tokens", {"provider": "microsoft", "email": ANN})
    return Graph(sandbox_server.http_url, tokens["access_token"])


@pytest.fixture
def ed(sandbox_server: Any, people: Any) -> Iterator[Account]:
    close_connections()
    config = Configuration(
        credentials=Credentials(ED, "sandbox"),
        service_endpoint=sandbox_server.http_url + "/EWS/Exchange.asmx",
    )
    yield Account(ED, config=config, autodiscover=False, access_type=DELEGATE)
    close_connections()


def invite(api: Any, guests: list[str], send_updates: str = "all", **fields: Any) -> dict:
    body = {
        "summary": "Roadmap",
        "start": {"dateTime": START},
        "end": {"dateTime": END},
        "attendees": [{"email": g} for g in guests],
        **fields,
    }
    return api.events().insert(calendarId="primary", body=body, sendUpdates=send_updates).execute()


def organizer_answers(api: Any, event_id: str) -> dict[str, str]:
    event = api.events().get(calendarId="primary", eventId=event_id).execute()
    return {a["email"]: a["responseStatus"] for a in event.get("attendees", [])}


def ews_items(account: Account) -> list[CalendarItem]:
    return list(
        account.calendar.view(
            start=Moment(2027, 5, 1, tzinfo=UTC), end=Moment(2027, 6, 1, tzinfo=UTC)
        )
    )


# --- delivery ------------------------------------------------------------------------------


def test_an_invitation_lands_on_every_attendees_calendar(
    olga: Any, ann: Graph, ed: Account, calendar_api: Any
) -> None:
    meeting = invite(olga, [GUS, ANN, ED, "outsider@elsewhere.example"])

    gus = calendar_api(GUS).events().get(calendarId="primary", eventId=meeting["id"]).execute()
    anns = ann.get("/me/events")["value"]
    eds = ews_items(ed)
    schedule = ann.call(
        "POST",
        "/me/calendar/getSchedule",
        json={
            "schedules": [ANN],
            "startTime": {"dateTime": "2027-05-04T08:00:00", "timeZone": "UTC"},
            "endTime": {"dateTime": "2027-05-04T11:00:00", "timeZone": "UTC"},
            "availabilityViewInterval": 60,
        },
    ).json()["value"][0]
    busy = (
        calendar_api(GUS)
        .freebusy()
        .query(body={"timeMin": START, "timeMax": END, "items": [{"id": GUS}]})
        .execute()
    )

    assert gus["iCalUID"] == anns[0]["iCalUId"] == eds[0].uid == meeting["iCalUID"]
    assert gus["organizer"]["email"] == ORGANIZER and gus["summary"] == "Roadmap"
    assert next(a for a in gus["attendees"] if a.get("self"))["responseStatus"] == "needsAction"
    assert busy["calendars"][GUS]["busy"]  # Google guests are busy until they decline
    assert [(e["subject"], e["isOrganizer"], e["showAs"]) for e in anns] == [
        ("Roadmap", False, "tentative")
    ]
    assert anns[0]["responseStatus"]["response"] == "notResponded"
    assert schedule["availabilityView"] == "010"  # tentative
    assert [(i.subject, i.my_response_type, i.legacy_free_busy_status) for i in eds] == [
        ("Roadmap", "NoResponseReceived", "Tentative")
    ]


def test_without_notifications_only_google_guests_see_it(
    olga: Any, ann: Graph, ed: Account, calendar_api: Any
) -> None:
    meeting = invite(olga, [GUS, ANN, ED], send_updates="none")

    assert calendar_api(GUS).events().get(calendarId="primary", eventId=meeting["id"]).execute()
    assert ann.get("/me/events")["value"] == [] and ews_items(ed) == []


def test_graph_and_ews_organizers_invite_too(
    ann: Graph, ed: Account, control: Any, calendar_api: Any
) -> None:
    ann.post(
        "/me/events",
        {
            "subject": "From Graph",
            "start": {"dateTime": "2027-05-04T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-05-04T10:00:00", "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": GUS}, "type": "required"}],
        },
    )
    item = CalendarItem(
        account=ed,
        folder=ed.calendar,
        subject="From EWS",
        start=Moment(2027, 5, 5, 9, tzinfo=UTC),
        end=Moment(2027, 5, 5, 10, tzinfo=UTC),
        required_attendees=[EwsAttendee(mailbox=EwsMailbox(email_address=ANN))],
    )
    item.save(send_meeting_invitations="SendToAllAndSaveCopy")
    quiet = CalendarItem(
        account=ed,
        folder=ed.calendar,
        subject="Not sent",
        start=Moment(2027, 5, 6, 9, tzinfo=UTC),
        end=Moment(2027, 5, 6, 10, tzinfo=UTC),
        required_attendees=[EwsAttendee(mailbox=EwsMailbox(email_address=ANN))],
    )
    quiet.save(send_meeting_invitations="SendToNone")

    gus = calendar_api(GUS).events().list(calendarId="primary").execute()["items"]
    assert [e["summary"] for e in gus] == ["From Graph"]
    assert [e["subject"] for e in ann.get("/me/events")["value"]] == ["From Graph", "From EWS"]


# --- answers -------------------------------------------------------------------------------


def test_answers_flow_back_to_the_organizer_and_its_sync(
    olga: Any, ann: Graph, ed: Account, calendar_api: Any, control: Any
) -> None:
    meeting = invite(olga, [GUS, ANN, ED])
    listing = olga.events().list(calendarId="primary").execute()
    anns = ann.get("/me/events")["value"][0]

    ann.call("POST", f"/me/events/{anns['id']}/accept", expect=202, json={"comment": "Sure"})
    ews_items(ed)[0].decline()
    calendar_api(GUS).events().patch(
        calendarId="primary",
        eventId=meeting["id"],
        # attendeesOmitted: only the caller's own entry is sent (events#resource).
        body={
            "attendeesOmitted": True,
            "attendees": [{"email": GUS, "responseStatus": "tentative"}],
        },
    ).execute()
    changes = olga.events().list(calendarId="primary", syncToken=listing["nextSyncToken"]).execute()

    assert organizer_answers(olga, meeting["id"]) == {
        GUS: "tentative",
        ANN: "accepted",
        ED: "declined",
    }
    assert [e["id"] for e in changes["items"]] == [meeting["id"]]
    assert ann.get(f"/me/events/{anns['id']}")["showAs"] == "busy"  # accepted: as meant
    assert ews_items(ed)[0].legacy_free_busy_status == "Free"  # declined
    replies = [i for i in control.get("/invitations") if i["kind"] == "reply"]
    assert {(r["email"], r["response"]) for r in replies} == {
        (GUS, "tentative"),
        (ANN, "accepted"),
        (ED, "declined"),
    }


def test_answers_that_are_not_sent_stay_with_the_attendee(
    olga: Any, ann: Graph, control: Any
) -> None:
    meeting = invite(olga, [ANN])
    anns = ann.get("/me/events")["value"][0]

    ann.call(
        "POST",
        f"/me/events/{anns['id']}/tentativelyAccept",
        expect=202,
        json={"sendResponse": False},
    )
    refused = ann.call(
        "POST", f"/me/events/{anns['id']}/accept", expect=400, json={"proposedNewTime": {}}
    ).json()

    assert ann.get(f"/me/events/{anns['id']}")["responseStatus"]["response"] == (
        "tentativelyAccepted"
    )
    assert organizer_answers(olga, meeting["id"]) == {ANN: "needsAction"}
    assert refused["error"]["code"] == "RequestBodyRead"


def test_the_control_api_answers_for_the_attendee(olga: Any, ed: Account, control: Any) -> None:
    meeting = invite(olga, [ED])
    copy = control.get(f"/mailboxes/{ED}/calendars/primary/events")[0]

    control.post(
        f"/mailboxes/{ED}/calendars/primary/events/{copy['id']}/respond", {"response": "accepted"}
    )
    control.post(
        f"/mailboxes/{ED}/calendars/primary/events/{copy['id']}/respond",
        {"response": "maybe"},
        expect=400,
    )

    assert organizer_answers(olga, meeting["id"]) == {ED: "accepted"}
    assert ews_items(ed)[0].my_response_type == "Accept"


def test_a_guest_cannot_change_the_organizers_meeting(olga: Any, calendar_api: Any) -> None:
    meeting = invite(olga, [GUS, ANN])
    guest = calendar_api(GUS).events()
    with pytest.raises(HttpError) as refused:
        guest.patch(calendarId="primary", eventId=meeting["id"], body={"summary": "Mine"}).execute()
    with pytest.raises(HttpError) as dropped:  # the whole list, without attendeesOmitted
        guest.patch(
            calendarId="primary",
            eventId=meeting["id"],
            body={"attendees": [{"email": GUS, "responseStatus": "accepted"}]},
        ).execute()

    assert refused.value.resp.status == dropped.value.resp.status == 403
    assert json.loads(refused.value.content)["error"]["errors"][0]["reason"] == (
        "forbiddenForNonOrganizer"
    )


# --- the organizer's changes ---------------------------------------------------------------


def test_updates_and_cancellation_reach_the_copies(
    olga: Any, ann: Graph, ed: Account, calendar_api: Any
) -> None:
    meeting = invite(olga, [GUS, ANN, ED])
    olga.events().patch(
        calendarId="primary",
        eventId=meeting["id"],
        body={
            "start": {"dateTime": "2027-05-04T13:00:00Z"},
            "end": {"dateTime": "2027-05-04T14:00:00Z"},
            "attendees": [{"email": GUS}, {"email": ANN}],
        },
        sendUpdates="all",
    ).execute()
    moved = ann.get("/me/events", headers={"Prefer": 'outlook.timezone="UTC"'})["value"][0]
    eds = ews_items(ed)

    olga.events().delete(calendarId="primary", eventId=meeting["id"], sendUpdates="all").execute()

    assert moved["start"]["dateTime"].startswith("2027-05-04T13:00:00")
    assert eds[0].is_cancelled and eds[0].subject == "Canceled: Roadmap"  # Ed was removed
    cancelled = ann.get(f"/me/events/{moved['id']}")
    assert cancelled["isCancelled"] and cancelled["subject"] == "Canceled: Roadmap"
    gus = calendar_api(GUS).events().list(calendarId="primary", showDeleted=True).execute()
    assert [e["status"] for e in gus["items"]] == ["cancelled"]
