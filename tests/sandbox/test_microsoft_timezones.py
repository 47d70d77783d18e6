"""Graph's time zone names: Windows ids ("Pacific Standard Time") as well as IANA names, in
what clients send and in what a mailbox reports; through plain requests, as the adapter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.test_microsoft import EMAIL, NY, Graph

EASTERN = "Eastern Standard Time"
PACIFIC = "Pacific Standard Time"


@pytest.fixture
def graph(sandbox_server: Any, control: Any) -> Graph:
    """Graph for a Microsoft mailbox in New York."""
    control.post("/mailboxes", {"provider": "microsoft", "email": EMAIL, "timezone": NY})
    tokens = control.post("/tokens", {"provider": "microsoft", "email": EMAIL})
    return Graph(sandbox_server.http_url, tokens["access_token"])


def _event(start: str, end: str, zone: str) -> dict[str, Any]:
    return {
        "subject": "Zoned",
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
    }


def test_a_mailbox_reports_windows_zone_names_by_default(graph: Graph, control: Any) -> None:
    control.post(
        f"/mailboxes/{EMAIL}/calendars/primary/events",
        {
            "summary": "Made in Outlook",
            "start": "2027-05-04T09:00:00-04:00",
            "end": "2027-05-04T10:00:00-04:00",
        },
    )

    settings = graph.get("/me/mailboxSettings")
    event = graph.get("/me/events")["value"][0]

    assert settings["timeZone"] == EASTERN  # the mailbox is in America/New_York
    assert event["originalStartTimeZone"] == event["originalEndTimeZone"] == EASTERN
    assert event["start"] == {"dateTime": "2027-05-04T13:00:00.0000000", "timeZone": "UTC"}


def test_windows_names_are_accepted_in_events_and_prefer(graph: Graph, control: Any) -> None:
    created = graph.post(
        "/me/events",
        _event("2027-05-04T09:00:00", "2027-05-04T10:00:00", PACIFIC),
        headers={"Prefer": f'outlook.timezone="{EASTERN}"'},
    )

    assert created["start"] == {"dateTime": "2027-05-04T12:00:00.0000000", "timeZone": EASTERN}
    assert created["originalStartTimeZone"] == PACIFIC
    stored = control.get(f"/mailboxes/{EMAIL}/calendars/primary/events/{created['id']}")
    assert stored["timezone"] == "America/Los_Angeles"  # kept as the IANA zone it names
    assert stored["start"] == "2027-05-04T09:00:00-07:00"
    read = graph.get(
        f"/me/events/{created['id']}", headers={"Prefer": 'outlook.timezone="Europe/Warsaw"'}
    )
    assert read["start"] == {"dateTime": "2027-05-04T18:00:00.0000000", "timeZone": "Europe/Warsaw"}
    bare = graph.get(f"/me/events/{created['id']}", headers={"Prefer": "outlook.timezone=UTC"})
    assert bare["start"]["timeZone"] == "UTC"


def test_getschedule_takes_windows_names_and_reports_the_owners_zone(
    graph: Graph, control: Any
) -> None:
    control.post(
        f"/mailboxes/{EMAIL}/calendars/primary/events",
        {
            "summary": "Busy",
            "start": "2027-05-04T09:00:00-04:00",
            "end": "2027-05-04T10:00:00-04:00",
        },
    )
    body = {
        "schedules": [EMAIL],
        "startTime": {"dateTime": "2027-05-04T08:00:00", "timeZone": EASTERN},
        "endTime": {"dateTime": "2027-05-04T12:00:00", "timeZone": EASTERN},
        "availabilityViewInterval": 60,
    }

    schedule = graph.call(
        "POST",
        "/me/calendar/getSchedule",
        json=body,
        headers={"Prefer": f'outlook.timezone="{EASTERN}"'},
    ).json()["value"][0]

    assert schedule["availabilityView"] == "0200"
    assert schedule["scheduleItems"][0]["start"]["timeZone"] == EASTERN
    assert schedule["workingHours"]["timeZone"] == {"name": EASTERN}


def test_a_mailbox_can_report_iana_names(graph: Graph, control: Any) -> None:
    setting = control.patch(f"/microsoft/mailboxes/{EMAIL}", {"timezone_names": "iana"})
    graph.post("/me/events", _event("2027-05-04T09:00:00", "2027-05-04T10:00:00", PACIFIC))

    assert setting == {"email": EMAIL, "timezone_names": "iana"}
    assert graph.get("/me/mailboxSettings")["timeZone"] == NY
    assert graph.get("/me/events")["value"][0]["originalStartTimeZone"] == "America/Los_Angeles"
    control.patch(f"/microsoft/mailboxes/{EMAIL}", {"timezone_names": "olson"}, expect=400)


def test_an_unknown_zone_is_refused_as_graph_does(graph: Graph) -> None:
    answer = graph.call(
        "POST",
        "/me/events",
        expect=400,
        json=_event("2027-05-04T09:00:00", "2027-05-04T10:00:00", "Mars Standard Time"),
    ).json()
    refused_view = graph.call(
        "GET", "/me/events", expect=400, headers={"Prefer": 'outlook.timezone="Nowhere/Land"'}
    ).json()

    assert answer["error"]["code"] == "TimeZoneNotSupportedException"
    assert refused_view["error"]["code"] == "TimeZoneNotSupportedException"
