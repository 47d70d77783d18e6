"""Recurring events expand in their own time zone: wall-clock times survive DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.errors import HttpError

from sandbox import recurrence

NY = ZoneInfo("America/New_York")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=NY)  # the US moves to summer time on 8 March 2026
HOUR = timedelta(hours=1)


def utc_hours(starts: list[Any]) -> list[int]:
    return [start.astimezone(UTC).hour for start in starts]


def test_weekly_keeps_local_time_across_dst() -> None:
    starts = recurrence.occurrences(["RRULE:FREQ=WEEKLY;COUNT=4"], MONDAY, "America/New_York", HOUR)

    assert [s.hour for s in starts] == [9, 9, 9, 9]
    assert utc_hours(starts) == [14, 13, 13, 13]


def test_exdate_until_and_count() -> None:
    lines = [
        "RRULE:FREQ=WEEKLY;UNTIL=20260323T130000Z",
        "EXDATE;TZID=America/New_York:20260316T090000",
    ]

    starts = recurrence.occurrences(lines, MONDAY, "America/New_York", HOUR)

    assert [s.day for s in starts] == [2, 9, 23]


def test_local_until_is_read_in_the_events_zone() -> None:
    starts = recurrence.occurrences(
        ["RRULE:FREQ=DAILY;UNTIL=20260304T090000"], MONDAY, "America/New_York", HOUR
    )

    assert [s.day for s in starts] == [2, 3, 4]


def test_window_keeps_occurrences_that_overlap_it() -> None:
    window = (datetime(2026, 3, 9, 13, 30, tzinfo=UTC), datetime(2026, 3, 17, tzinfo=UTC))

    starts = recurrence.occurrences(["RRULE:FREQ=WEEKLY"], MONDAY, "America/New_York", HOUR, window)

    assert [s.day for s in starts] == [9, 16]


def test_open_series_stop_at_the_horizon() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)

    starts = recurrence.occurrences(["RRULE:FREQ=DAILY"], MONDAY, "America/New_York", HOUR, now=now)

    assert starts[-1] < now + recurrence.OPEN_SERIES_HORIZON
    assert len(starts) == recurrence.OPEN_SERIES_HORIZON.days


def test_monthly_and_all_day() -> None:
    monthly = recurrence.occurrences(
        ["RRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3"],
        datetime(2026, 1, 31, 9, tzinfo=NY),
        "America/New_York",
        HOUR,
    )
    all_day = recurrence.occurrences(
        ["RRULE:FREQ=DAILY;COUNT=3", "EXDATE;VALUE=DATE:20260302"],
        date(2026, 3, 1),
        "America/New_York",
        timedelta(days=1),
    )

    assert [(s.month, s.day) for s in monthly] == [(1, 31), (3, 31), (5, 31)]
    assert all_day == [date(2026, 3, 1), date(2026, 3, 3)]


def test_bad_rule_is_refused() -> None:
    with pytest.raises(recurrence.RecurrenceError):
        recurrence.parse(["RRULE:FREQ=SOMETIMES"], MONDAY, "America/New_York")


# --- through the Calendar API ---------------------------------------------------------------


@pytest.fixture
def weekly(control: Any, alice: Any) -> dict[str, Any]:
    return control.post(
        "/mailboxes/alice@example.com/calendars/primary/events",
        {
            "summary": "Standup",
            "start": "2026-03-02T09:00:00-05:00",
            "end": "2026-03-02T09:30:00-05:00",
            "timezone": "America/New_York",
            "recurrence": [
                "RRULE:FREQ=WEEKLY;COUNT=5",
                "EXDATE;TZID=America/New_York:20260316T090000",
            ],
        },
    )


def instances(api: Any, **params: Any) -> list[dict[str, Any]]:
    return (
        api.events()
        .list(calendarId="primary", singleEvents=True, orderBy="startTime", **params)
        .execute()["items"]
    )


def test_single_events_expand_with_instance_ids(calendar_api: Any, weekly: Any) -> None:
    items = instances(calendar_api())

    master = weekly["id"]
    assert [i["id"] for i in items] == [
        f"{master}_20260302T140000Z",
        f"{master}_20260309T130000Z",
        f"{master}_20260323T130000Z",
        f"{master}_20260330T130000Z",
    ]
    assert [i["start"]["dateTime"][11:] for i in items] == ["09:00:00-05:00"] + [
        "09:00:00-04:00"
    ] * 3
    assert {i["recurringEventId"] for i in items} == {master}
    assert items[1]["originalStartTime"] == {
        "dateTime": "2026-03-09T09:00:00-04:00",
        "timeZone": "America/New_York",
    }


def test_without_single_events_the_master_is_listed(calendar_api: Any, weekly: Any) -> None:
    items = calendar_api().events().list(calendarId="primary").execute()["items"]

    assert [i["id"] for i in items] == [weekly["id"]]
    assert items[0]["recurrence"][0] == "RRULE:FREQ=WEEKLY;COUNT=5"


def test_editing_and_deleting_one_instance(calendar_api: Any, weekly: Any) -> None:
    api = calendar_api()
    _, *rest = instances(api)
    token = api.events().list(calendarId="primary", singleEvents=True).execute()["nextSyncToken"]

    api.events().patch(
        calendarId="primary", eventId=rest[0]["id"], body={"summary": "Moved standup"}
    ).execute()
    api.events().delete(calendarId="primary", eventId=rest[1]["id"]).execute()
    changes = (
        api.events()
        .list(calendarId="primary", singleEvents=True, syncToken=token)
        .execute()["items"]
    )
    busy = (
        api.freebusy()
        .query(
            body={
                "timeMin": "2026-03-20T00:00:00Z",
                "timeMax": "2026-03-25T00:00:00Z",
                "items": [{"id": "primary"}],
            }
        )
        .execute()["calendars"]["primary"]["busy"]
    )

    assert [(c["id"], c["status"]) for c in changes] == [
        (rest[0]["id"], "confirmed"),
        (rest[1]["id"], "cancelled"),
    ]
    assert changes[1]["recurringEventId"] == weekly["id"]
    assert [i["summary"] for i in instances(api)] == ["Standup", "Moved standup", "Standup"]
    assert busy == []


def test_unknown_instance_is_not_found(calendar_api: Any, weekly: Any) -> None:
    with pytest.raises(HttpError) as missing:  # 16 March is an EXDATE
        calendar_api().events().get(
            calendarId="primary", eventId=f"{weekly['id']}_20260316T130000Z"
        ).execute()

    assert missing.value.resp.status == 404


def test_recurring_all_day_event(calendar_api: Any, alice: Any, control: Any) -> None:
    control.post(
        "/mailboxes/alice@example.com/calendars/primary/events",
        {
            "summary": "Offsite",
            "start": "2026-03-07",
            "end": "2026-03-08",
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        },
    )

    items = instances(calendar_api(), timeMin="2026-03-08T00:00:00-05:00")

    assert [i["start"] for i in items] == [{"date": "2026-03-08"}, {"date": "2026-03-09"}]


def test_deleting_a_series_cancels_every_instance_in_a_sync(
    calendar_api: Any, weekly: Any, control: Any
) -> None:
    api = calendar_api()
    edited = instances(api)[1]["id"]
    api.events().patch(calendarId="primary", eventId=edited, body={"summary": "Moved"}).execute()
    token = api.events().list(calendarId="primary", singleEvents=True).execute()["nextSyncToken"]

    control.delete(f"/mailboxes/alice@example.com/calendars/primary/events/{weekly['id']}")
    changes = (
        api.events()
        .list(calendarId="primary", singleEvents=True, syncToken=token)
        .execute()["items"]
    )

    assert len(changes) == 4
    assert {(c["status"], c["recurringEventId"]) for c in changes} == {("cancelled", weekly["id"])}
