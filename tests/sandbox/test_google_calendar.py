"""Calendar API v3 through the real, unmodified googleapiclient."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import GOOGLE_SCOPE

NY = "America/New_York"


def reason(error: HttpError) -> str:
    return json.loads(error.content)["error"]["errors"][0]["reason"]


def timed(start: str, end: str, **fields: Any) -> dict[str, Any]:
    return {
        "start": {"dateTime": start, "timeZone": NY},
        "end": {"dateTime": end, "timeZone": NY},
        **fields,
    }


def user_event(
    control: Any, start: str, end: str, calendar: str = "primary", **fields: Any
) -> dict[str, Any]:
    """An event the user made in their own calendar (not through the API)."""
    return control.post(
        f"/mailboxes/alice@example.com/calendars/{calendar}/events",
        {"summary": "user event", "start": start, "end": end, **fields},
    )


def sync_all(api: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """Page through events.list; returns every item and the final nextSyncToken."""
    items, page_token = [], None
    while True:
        answer = api.events().list(calendarId="primary", pageToken=page_token, **params).execute()
        items += answer["items"]
        page_token = answer.get("nextPageToken")
        if not page_token:
            return items, answer["nextSyncToken"]
        assert "nextSyncToken" not in answer


def test_calendar_list_shows_access_roles_and_pages(calendar_api: Any, alice: Any) -> None:
    api = calendar_api()

    first = api.calendarList().list(maxResults=3).execute()
    rest = api.calendarList().list(maxResults=3, pageToken=first["nextPageToken"]).execute()

    roles = {entry["id"]: entry["accessRole"] for entry in first["items"] + rest["items"]}
    assert roles == {
        "alice@example.com": "owner",
        "team@group.example.com": "writer",
        "boss@example.com": "reader",
        "room@example.com": "freeBusyReader",
    }
    assert first["items"][0]["primary"] is True and first["items"][0]["timeZone"] == NY
    assert "nextPageToken" not in rest


def test_insert_with_client_id_is_idempotent(calendar_api: Any, alice: Any) -> None:
    api = calendar_api()
    event_id = uuid.uuid4().hex
    body = timed(
        "2026-05-04T10:00:00",
        "2026-05-04T10:30:00",
        id=event_id,
        summary="Demo",
        extendedProperties={"private": {"booking": "42"}},
        attendees=[{"email": "carol@client.example"}],
    )

    created = api.events().insert(calendarId="primary", body=body).execute()
    with pytest.raises(HttpError) as duplicate:
        api.events().insert(calendarId="primary", body=body).execute()

    assert created["id"] == event_id
    assert created["start"] == {"dateTime": "2026-05-04T10:00:00-04:00", "timeZone": NY}
    assert created["extendedProperties"]["private"] == {"booking": "42"}
    assert created["attendees"][0]["responseStatus"] == "needsAction"
    assert duplicate.value.resp.status == 409 and reason(duplicate.value) == "duplicate"


@pytest.mark.parametrize("bad_id", ["abc", "UPPERCASE123", "has-dash-123", "wxyz1"])
def test_insert_refuses_ids_outside_base32hex(calendar_api: Any, alice: Any, bad_id: str) -> None:
    with pytest.raises(HttpError) as refused:
        calendar_api().events().insert(
            calendarId="primary",
            body=timed("2026-05-04T10:00:00", "2026-05-04T11:00:00", id=bad_id),
        ).execute()

    assert refused.value.resp.status == 400


def test_get_patch_delete(calendar_api: Any, alice: Any) -> None:
    api = calendar_api()
    event = (
        api.events()
        .insert(
            calendarId="primary",
            body=timed("2026-05-04T10:00:00", "2026-05-04T11:00:00", summary="Old"),
        )
        .execute()
    )

    patched = (
        api.events()
        .patch(
            calendarId="primary",
            eventId=event["id"],
            body={"summary": "New", "transparency": "transparent"},
        )
        .execute()
    )
    fetched = api.events().get(calendarId="primary", eventId=event["id"]).execute()
    api.events().delete(calendarId="primary", eventId=event["id"]).execute()
    with pytest.raises(HttpError) as again:
        api.events().delete(calendarId="primary", eventId=event["id"]).execute()

    assert patched["summary"] == "New" and patched["start"] == event["start"]
    assert fetched["transparency"] == "transparent"
    assert (
        api.events().get(calendarId="primary", eventId=event["id"]).execute()["status"]
        == "cancelled"
    )
    assert again.value.resp.status == 410


def test_list_pages_and_filters_by_time(calendar_api: Any, alice: Any) -> None:
    api = calendar_api()
    for day in range(1, 6):
        api.events().insert(
            calendarId="primary",
            body=timed(
                f"2026-06-0{day}T09:00:00", f"2026-06-0{day}T10:00:00", summary=f"day {day}"
            ),
        ).execute()

    items, _ = sync_all(api, maxResults=2)
    # timeMin filters on the end and timeMax on the start, both exclusive.
    window = (
        api.events()
        .list(
            calendarId="primary",
            timeMin="2026-06-02T10:00:00-04:00",
            timeMax="2026-06-04T09:00:00-04:00",
            singleEvents=True,
            orderBy="startTime",
        )
        .execute()
    )

    assert sorted(item["summary"] for item in items) == [f"day {d}" for d in range(1, 6)]
    assert [item["summary"] for item in window["items"]] == ["day 3"]


def test_sync_token_reports_creates_updates_and_deletes(
    calendar_api: Any, alice: Any, control: Any
) -> None:
    api = calendar_api()
    kept = (
        api.events()
        .insert(
            calendarId="primary",
            body=timed("2026-06-01T09:00:00", "2026-06-01T10:00:00", summary="kept"),
        )
        .execute()
    )
    doomed = user_event(control, "2026-06-02T09:00:00-04:00", "2026-06-02T10:00:00-04:00")
    _, token = sync_all(api)

    added = user_event(control, "2026-06-03T09:00:00-04:00", "2026-06-03T10:00:00-04:00")
    api.events().patch(
        calendarId="primary", eventId=kept["id"], body={"summary": "moved"}
    ).execute()
    control.delete(f"/mailboxes/alice@example.com/calendars/primary/events/{doomed['id']}")
    changes, next_token = sync_all(api, syncToken=token, maxResults=1)

    by_id = {item["id"]: item for item in changes}
    assert set(by_id) == {added["id"], kept["id"], doomed["id"]}
    assert by_id[kept["id"]]["summary"] == "moved"
    assert by_id[doomed["id"]]["status"] == "cancelled"
    assert sync_all(api, syncToken=next_token)[0] == []


def test_expired_sync_token_answers_410(calendar_api: Any, alice: Any, control: Any) -> None:
    api = calendar_api()
    _, token = sync_all(api)
    control.post(
        "/faults",
        {"provider": "google", "email": "alice@example.com", "kind": "expire_sync_tokens"},
    )

    with pytest.raises(HttpError) as expired:
        api.events().list(calendarId="primary", syncToken=token).execute()
    with pytest.raises(HttpError) as combined:
        api.events().list(
            calendarId="primary", syncToken=sync_all(api)[1], timeMin="2026-01-01T00:00:00Z"
        ).execute()

    assert expired.value.resp.status == 410 and reason(expired.value) == "fullSyncRequired"
    assert combined.value.resp.status == 400


def test_free_busy(calendar_api: Any, alice: Any, control: Any) -> None:
    api = calendar_api()
    day = "2026-06-01T{}:00-04:00"
    user_event(control, day.format("09:00"), day.format("10:00"))
    user_event(control, day.format("09:30"), day.format("11:00"))  # overlaps: merged
    user_event(control, day.format("12:00"), day.format("13:00"), transparency="transparent")
    user_event(control, day.format("13:00"), day.format("14:00"), eventType="workingLocation")
    user_event(
        control,
        day.format("14:00"),
        day.format("15:00"),
        attendees=[{"email": "alice@example.com", "response": "declined"}],
    )
    cancelled = user_event(control, day.format("15:00"), day.format("16:00"))
    control.delete(f"/mailboxes/alice@example.com/calendars/primary/events/{cancelled['id']}")
    user_event(control, day.format("16:00"), day.format("17:00"), calendar="room@example.com")
    control.post(
        "/faults",
        {
            "provider": "google",
            "email": "alice@example.com",
            "kind": "lose_calendar_access",
            "calendar_id": "boss@example.com",
        },
    )

    answer = (
        api.freebusy()
        .query(
            body={
                "timeMin": "2026-06-01T00:00:00Z",
                "timeMax": "2026-06-02T00:00:00Z",
                "items": [
                    {"id": "alice@example.com"},
                    {"id": "room@example.com"},
                    {"id": "boss@example.com"},
                    {"id": "nobody@example.com"},
                ],
            }
        )
        .execute()
    )

    calendars = answer["calendars"]
    assert calendars["alice@example.com"]["busy"] == [
        {"start": "2026-06-01T13:00:00Z", "end": "2026-06-01T15:00:00Z"}
    ]
    assert calendars["room@example.com"]["busy"] == [
        {"start": "2026-06-01T20:00:00Z", "end": "2026-06-01T21:00:00Z"}
    ]
    for lost in ("boss@example.com", "nobody@example.com"):
        assert calendars[lost]["errors"] == [{"domain": "global", "reason": "notFound"}]


def test_access_roles_limit_reads_and_writes(calendar_api: Any, alice: Any) -> None:
    api = calendar_api()
    body = timed("2026-06-01T09:00:00", "2026-06-01T10:00:00")

    api.events().insert(calendarId="team@group.example.com", body=body).execute()
    api.events().list(calendarId="boss@example.com").execute()
    with pytest.raises(HttpError) as read_only:
        api.events().insert(calendarId="boss@example.com", body=body).execute()
    with pytest.raises(HttpError) as free_busy_only:
        api.events().list(calendarId="room@example.com").execute()

    assert read_only.value.resp.status == 403
    assert free_busy_only.value.resp.status == 404


def test_lost_access_hides_the_calendar_until_faults_are_cleared(
    calendar_api: Any, alice: Any, control: Any
) -> None:
    api = calendar_api()
    control.post(
        "/faults",
        {
            "provider": "google",
            "email": "alice@example.com",
            "kind": "lose_calendar_access",
            "calendar_id": "boss@example.com",
        },
    )

    listed = [entry["id"] for entry in api.calendarList().list().execute()["items"]]
    with pytest.raises(HttpError) as lost:
        api.events().list(calendarId="boss@example.com").execute()
    control.delete("/faults")

    assert "boss@example.com" not in listed
    assert lost.value.resp.status == 404 and reason(lost.value) == "notFound"
    assert api.events().list(calendarId="boss@example.com").execute()["items"] == []


@pytest.mark.parametrize(
    ("status", "expected_reason"), [(429, "rateLimitExceeded"), (403, "rateLimitExceeded")]
)
def test_rate_limit_fault(
    calendar_api: Any, alice: Any, control: Any, status: int, expected_reason: str
) -> None:
    api = calendar_api()
    control.post(
        "/faults",
        {
            "provider": "google",
            "email": "alice@example.com",
            "kind": "rate_limit",
            "status": status,
            "retry_after": 7,
        },
    )

    with pytest.raises(HttpError) as limited:
        api.calendarList().list().execute()

    assert limited.value.resp.status == status
    assert limited.value.resp["retry-after"] == "7"
    assert reason(limited.value) == expected_reason
    assert api.calendarList().list().execute()["items"]  # the fault was used up


def test_server_error_and_slow_faults(calendar_api: Any, alice: Any, control: Any) -> None:
    api = calendar_api()
    control.post(
        "/faults", {"provider": "google", "kind": "server_error", "count": 2, "status": 503}
    )
    control.post("/faults", {"provider": "google", "kind": "slow", "delay": 0.3})

    statuses = []
    for _ in range(2):
        with pytest.raises(HttpError) as failed:
            api.calendarList().list().execute()
        statuses.append(failed.value.resp.status)
    began = time.monotonic()
    api.calendarList().list().execute()

    assert statuses == [503, 503]
    assert time.monotonic() - began >= 0.3
    assert control.get("/faults") == []


def test_faults_for_another_mailbox_do_not_apply(
    calendar_api: Any, alice: Any, control: Any
) -> None:
    control.post("/mailboxes", {"provider": "google", "email": "bob@example.com"})
    control.post(
        "/faults", {"provider": "google", "email": "bob@example.com", "kind": "rate_limit"}
    )

    assert calendar_api().calendarList().list().execute()["items"]
    with pytest.raises(HttpError):
        calendar_api("bob@example.com").calendarList().list().execute()


def test_secondary_calendar_insert(calendar_api: Any, alice: Any) -> None:
    api = calendar_api()

    created = api.calendars().insert(body={"summary": "CRM tasks", "timeZone": NY}).execute()

    entry = api.calendarList().get(calendarId=created["id"]).execute()
    assert entry["summary"] == "CRM tasks" and entry["accessRole"] == "owner"


def test_deleting_a_secondary_calendar_drops_it_its_events_and_its_channels(
    calendar_api: Any, alice: Any, control: Any
) -> None:
    api = calendar_api()
    created = api.calendars().insert(body={"summary": "CRM tasks"}).execute()
    api.events().insert(
        calendarId=created["id"],
        body=timed("2026-05-04T10:00:00", "2026-05-04T10:30:00", transparency="transparent"),
    ).execute()
    api.events().watch(
        calendarId=created["id"],
        body={"id": "crm-channel", "type": "web_hook", "address": "http://127.0.0.1:9/hook"},
    ).execute()

    api.calendars().delete(calendarId=created["id"]).execute()

    listed = {entry["id"] for entry in api.calendarList().list().execute()["items"]}
    assert created["id"] not in listed
    for request in (
        api.events().list(calendarId=created["id"]),
        api.calendars().delete(calendarId=created["id"]),
    ):
        with pytest.raises(HttpError) as gone:
            request.execute()
        assert gone.value.resp.status == 404 and reason(gone.value) == "notFound"
    channels = control.get("/channels", params={"calendar_id": created["id"]})
    assert [channel["stopped"] for channel in channels] == [True]


@pytest.mark.parametrize(
    ("calendar_id", "expected"),
    [("primary", "cannotDeletePrimaryCalendar"), ("team@group.example.com", "requiredAccessLevel")],
)
def test_only_an_owned_secondary_calendar_can_be_deleted(
    calendar_api: Any, alice: Any, calendar_id: str, expected: str
) -> None:
    with pytest.raises(HttpError) as refused:
        calendar_api().calendars().delete(calendarId=calendar_id).execute()

    assert refused.value.resp.status == 403 and reason(refused.value) == expected


def test_read_only_scope_cannot_write(sandbox_server: Any, control: Any, alice: Any) -> None:
    tokens = control.post(
        "/tokens",
        {
            "provider": "google",
            "email": "alice@example.com",
            "scopes": [GOOGLE_SCOPE + ".readonly"],
        },
    )
    credentials = Credentials(tokens["access_token"])
    api = build(
        "calendar",
        "v3",
        credentials=credentials,
        static_discovery=True,
        client_options={"api_endpoint": sandbox_server.http_url + "/calendar/v3/"},
    )

    api.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as refused:
        api.events().insert(
            calendarId="primary", body=timed("2026-06-01T09:00:00", "2026-06-01T10:00:00")
        ).execute()

    assert refused.value.resp.status == 403 and reason(refused.value) == "insufficientPermissions"
