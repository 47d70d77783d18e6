"""EWS through the real, unmodified exchangelib against the sandbox over real sockets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import pytest
import requests
from exchangelib import (
    DELEGATE,
    UTC,
    Account,
    Attendee,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    FolderCollection,
    Mailbox,
)
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorDeleteDistinguishedFolder,
    ErrorFolderExists,
    ErrorFolderNotFound,
    ErrorInternalServerTransientError,
    ErrorInvalidSyncStateData,
    ErrorInvalidTimeInterval,
    ErrorItemNotFound,
    ErrorMailRecipientNotFound,
    ErrorServerBusy,
    UnauthorizedError,
)
from exchangelib.folders import DEEP
from exchangelib.folders import Calendar as CalendarFolder
from exchangelib.protocol import close_connections

from sandbox.server import Running

ALICE = "alice@example.com"
PASSWORD = "sandbox"  # the control API's default mailbox password
NY = EWSTimeZone("America/New_York")
SOAP_NAMESPACES = (
    'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"',
    'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"',
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"',
)
CONVERT_ID = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
<s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header>
<s:Body><m:ConvertId DestinationFormat="EntryId"><m:SourceIds>
<t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/></m:SourceIds></m:ConvertId>
</s:Body></s:Envelope>"""


class SandboxKey(ExtendedProperty):
    """An app-defined named property, as clients mark the items they write."""

    property_set_id = "3b1c2c6e-0d55-4a3f-9d0b-6f1f7d7a0c11"
    property_name = "sandboxTestKey"
    property_type = "String"


with suppress(ValueError):  # registered once per process
    CalendarItem.register("sandbox_key", SandboxKey)


@pytest.fixture
def ews_url(sandbox_server: Running) -> str:
    return sandbox_server.http_url + "/EWS/Exchange.asmx"


@pytest.fixture
def alice(control: Any) -> dict[str, Any]:
    """An Exchange mailbox in New York with an own calendar and three shared ones."""
    return control.post(
        "/mailboxes",
        {
            "provider": "exchange",
            "email": ALICE,
            "timezone": "America/New_York",
            "calendars": [
                {"id": "team", "name": "Team", "access": "owner"},
                {"id": "boss", "name": "Boss", "access": "reader"},
                {"id": "shared", "name": "Shared", "access": "writer"},
                {"id": "room", "name": "Room", "access": "freeBusyReader"},
            ],
        },
    )


@pytest.fixture
def connect(ews_url: str) -> Iterator[Callable[..., Account]]:
    """exchangelib signed in to a sandbox mailbox, probing auth type and version itself."""
    close_connections()  # no protocol (version, sessions) cached from another test

    def make(email: str = ALICE, password: str = PASSWORD) -> Account:
        config = Configuration(credentials=Credentials(email, password), service_endpoint=ews_url)
        return Account(email, config=config, autodiscover=False, access_type=DELEGATE)

    yield make
    close_connections()


def user_event(control: Any, calendar: str = ALICE, **fields: Any) -> dict[str, Any]:
    """An event the user made in Outlook (through the control API)."""
    return control.post(f"/mailboxes/{ALICE}/calendars/{calendar}/events", fields)


def folder(account: Account, calendar_id: str) -> CalendarFolder:
    return CalendarFolder(root=account.root, id=calendar_id, changekey=None)


def utc(*parts: int) -> EWSDateTime:
    return EWSDateTime(*parts, tzinfo=UTC)


# --- the wire --------------------------------------------------------------------------


def test_unauthenticated_probe_gets_basic_and_signed_in_calls_get_the_version(
    ews_url: str, alice: Any
) -> None:
    probe = requests.post(ews_url, data=CONVERT_ID, timeout=10)
    signed_in = requests.post(ews_url, data=CONVERT_ID, auth=(ALICE, "sandbox"), timeout=10)

    assert probe.status_code == 401
    assert probe.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert signed_in.status_code == 200
    assert signed_in.headers["Content-Type"].startswith("text/xml")
    assert all(namespace in signed_in.text for namespace in SOAP_NAMESPACES)
    assert '<t:ServerVersionInfo MajorVersion="15" MinorVersion="1"' in signed_in.text
    assert "ErrorInvalidIdMalformed" in signed_in.text


def test_exchangelib_learns_basic_auth_and_the_version(connect: Callable, alice: Any) -> None:
    account = connect()

    assert account.protocol.auth_type == "basic"
    assert str(account.version.build) == "15.1.2507.6"
    assert account.version.api_version == "Exchange2016"


def test_an_old_server_makes_the_client_step_down(
    connect: Callable, alice: Any, control: Any
) -> None:
    control.call("PATCH", f"/exchange/mailboxes/{ALICE}", json={"server_version": "14.1.218.15"})

    account = connect()

    assert account.calendar.name == "Calendar"
    assert str(account.version.build) == "14.1.218.15"
    assert account.version.api_version == "Exchange2010_SP1"


def test_a_wrong_password_is_a_401(connect: Callable, alice: Any) -> None:
    with pytest.raises(UnauthorizedError):
        connect(password="wrong").calendar  # noqa: B018


def test_a_revoked_grant_is_a_changed_password(connect: Callable, alice: Any, control: Any) -> None:
    account = connect()
    assert account.calendar.name == "Calendar"
    control.post("/faults", {"kind": "revoke_grant", "provider": "exchange", "email": ALICE})

    with pytest.raises(UnauthorizedError):
        list(folder(account, ALICE).all())


def test_other_paths_are_not_ews(sandbox_server: Running) -> None:
    answer = requests.post(sandbox_server.http_url + "/owa/", data=CONVERT_ID, timeout=10)

    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/html")


# --- folders ---------------------------------------------------------------------------


def test_find_folder_lists_own_calendars_and_shared_ones_open_by_id(
    connect: Callable, alice: Any
) -> None:
    account = connect()

    found = FolderCollection(account=account, folders=[account.root]).find_folders(depth=DEEP)
    calendars = {f.name: f for f in found if f.folder_class == "IPF.Appointment"}
    shared = FolderCollection(
        account=account, folders=[folder(account, cal) for cal in ("shared", "boss", "room")]
    ).get_folders()

    # Real EWS lists a mailbox's own folders only; calendars shared with it are not there.
    assert set(calendars) == {"Calendar", "Team"}
    assert type(calendars["Calendar"]).__name__ == "Calendar"
    assert calendars["Calendar"].id == account.calendar.id == ALICE
    assert calendars["Team"].effective_rights.create_hierarchy
    rights = {f.name: f.effective_rights for f in shared}
    assert rights["Shared"].modify and not rights["Shared"].create_hierarchy
    assert rights["Boss"].read and not rights["Boss"].modify
    assert not rights["Room"].read


def test_lost_calendar_access_hides_the_folder_and_denies_it(
    connect: Callable, alice: Any, control: Any
) -> None:
    account = connect()
    control.post(
        "/faults",
        {
            "kind": "lose_calendar_access",
            "provider": "exchange",
            "email": ALICE,
            "calendar_id": "boss",
        },
    )

    found = FolderCollection(account=account, folders=[account.root]).find_folders(depth=DEEP)

    assert "Boss" not in {f.name for f in found}
    with pytest.raises(ErrorAccessDenied):
        list(folder(account, "boss").view(start=utc(2026, 3, 1), end=utc(2026, 3, 2)))


def test_calendar_folders_are_created_under_the_calendar_and_deleted(
    connect: Callable, alice: Any
) -> None:
    account = connect()

    created = CalendarFolder(parent=account.calendar, name="CRM tasks").save()

    found = FolderCollection(account=account, folders=[account.root]).find_folders(depth=DEEP)
    listed = {f.name: f for f in found}["CRM tasks"]
    assert listed.id == created.id and listed.folder_class == "IPF.Appointment"
    assert listed.parent_folder_id.id == ALICE and listed.effective_rights.create_hierarchy
    with pytest.raises(ErrorFolderExists):
        CalendarFolder(parent=account.calendar, name="crm TASKS").save()
    item = CalendarItem(
        account=account,
        folder=created,
        subject="Task",
        start=utc(2026, 3, 2, 9),
        end=utc(2026, 3, 2, 10),
        legacy_free_busy_status="Free",
    )
    item.save()
    folder_id = created.id

    created.delete()

    found = FolderCollection(account=account, folders=[account.root]).find_folders(depth=DEEP)
    assert "CRM tasks" not in {f.name for f in found}
    with pytest.raises(ErrorFolderNotFound):
        folder(account, folder_id).delete()
    with pytest.raises(ErrorItemNotFound):
        item.refresh()


def test_the_calendar_and_shared_calendars_cannot_be_deleted(connect: Callable, alice: Any) -> None:
    account = connect()

    with pytest.raises(ErrorDeleteDistinguishedFolder):
        folder(account, ALICE).delete()
    with pytest.raises(ErrorAccessDenied):
        folder(account, "shared").delete()


# --- reading ---------------------------------------------------------------------------


def test_calendar_view_expands_a_series_across_a_dst_change(
    connect: Callable, alice: Any, control: Any
) -> None:
    series = user_event(
        control,
        summary="Standup",
        start="2026-03-02T09:00:00-05:00",
        end="2026-03-02T09:30:00-05:00",
        timezone="America/New_York",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
    )
    # The user moved the third occurrence and cancelled the last one.
    control.patch(
        f"/mailboxes/{ALICE}/calendars/{ALICE}/events/{series['id']}_20260316T130000Z",
        {"start": "2026-03-16T11:00:00-04:00", "end": "2026-03-16T11:30:00-04:00"},
    )
    control.delete(f"/mailboxes/{ALICE}/calendars/{ALICE}/events/{series['id']}_20260323T130000Z")

    view = connect().calendar.view(start=utc(2026, 3, 1), end=utc(2026, 4, 1))
    items = list(view.only("subject", "start", "end", "type", "uid"))

    local_starts = [(i.start.astimezone(NY).strftime("%m-%d %H:%M"), i.type) for i in items]
    assert local_starts == [
        ("03-02 09:00", "Occurrence"),
        ("03-09 09:00", "Occurrence"),  # still 09:00 local after the switch to EDT
        ("03-16 11:00", "Exception"),
    ]
    assert [i.start.hour for i in items] == [14, 13, 15]  # ... so its UTC time moved
    assert len({i.uid for i in items}) == 1


def test_items_carry_status_response_and_all_day_fields(
    connect: Callable, alice: Any, control: Any
) -> None:
    user_event(
        control,
        summary="Offsite",
        start="2026-03-04",
        end="2026-03-06",
        timezone="America/New_York",
        showAs="oof",
    )
    user_event(
        control,
        summary="Vendor pitch",
        start="2026-03-04T15:00:00Z",
        end="2026-03-04T16:00:00Z",
        organizer="vendor@other.example",
        attendees=[{"email": ALICE, "response": "declined"}, "bob@example.com"],
        transparency="transparent",
    )

    items = {
        i.subject: i for i in connect().calendar.view(start=utc(2026, 3, 3), end=utc(2026, 3, 8))
    }

    offsite, pitch = items["Offsite"], items["Vendor pitch"]
    assert offsite.is_all_day and offsite.legacy_free_busy_status == "OOF"
    assert (str(offsite.start), str(offsite.end)) == ("2026-03-04", "2026-03-05")
    assert pitch.legacy_free_busy_status == "Free"
    assert pitch.my_response_type == "Decline"
    assert pitch.organizer.email_address == "vendor@other.example"
    assert {a.mailbox.email_address for a in pitch.required_attendees} == {ALICE, "bob@example.com"}
    assert not pitch.is_cancelled


def test_free_busy_only_sharing_shows_times_but_nothing_else(
    connect: Callable, alice: Any, control: Any
) -> None:
    user_event(
        control,
        "room",
        summary="Board meeting",
        start="2026-03-02T14:00:00Z",
        end="2026-03-02T15:00:00Z",
    )
    room = folder(connect(), "room")

    view = room.view(start=utc(2026, 3, 2), end=utc(2026, 3, 3))
    items = list(view.only("start", "legacy_free_busy_status", "subject"))

    assert [(i.start, i.legacy_free_busy_status, i.subject) for i in items] == [
        (utc(2026, 3, 2, 14), "Busy", None)
    ]
    with pytest.raises(ErrorAccessDenied):
        list(room.all())


# --- writing ---------------------------------------------------------------------------


def _meeting(account: Account, **fields: Any) -> CalendarItem:
    values = {
        "subject": "Intro call",
        "start": EWSDateTime(2026, 5, 4, 10, tzinfo=NY),
        "end": EWSDateTime(2026, 5, 4, 11, tzinfo=NY),
        "required_attendees": [Attendee(mailbox=Mailbox(email_address="carol@client.example"))],
        "body": "Agenda",
        "location": "Zoom",
        "sandbox_key": "k-123",
    }
    return CalendarItem(account=account, folder=account.calendar, **{**values, **fields})


def test_create_with_invitations_then_update_and_delete(
    connect: Callable, alice: Any, control: Any
) -> None:
    account = connect()
    item = _meeting(account)
    item.save(send_meeting_invitations="SendToAllAndSaveCopy")

    stored = account.calendar.get(id=item.id)
    assert (stored.subject, stored.location, stored.body) == ("Intro call", "Zoom", "Agenda")
    assert stored.start == utc(2026, 5, 4, 14) and stored.sandbox_key == "k-123"
    assert stored.organizer.email_address == ALICE and stored.my_response_type == "Organizer"
    assert stored._start_timezone == NY

    stored.subject, stored.start, stored.end = (
        "Intro call (moved)",
        EWSDateTime(2026, 5, 4, 12, tzinfo=NY),
        EWSDateTime(2026, 5, 4, 13, tzinfo=NY),
    )
    stored.save(
        update_fields=["subject", "start", "end"], send_meeting_invitations="SendToAllAndSaveCopy"
    )
    assert account.calendar.get(id=item.id).start == utc(2026, 5, 4, 16)

    gone = CalendarItem(account=account, folder=account.calendar, id=item.id, changekey=None)
    gone.delete(send_meeting_cancellations="SendToAllAndSaveCopy")
    with pytest.raises(ErrorItemNotFound):
        CalendarItem(account=account, folder=account.calendar, id=item.id, changekey=None).delete()

    invitations = control.get("/invitations", params={"provider": "exchange"})
    assert [(i["attendee"], i["kind"]) for i in invitations] == [
        ("carol@client.example", "invite"),
        ("carol@client.example", "update"),
        ("carol@client.example", "cancel"),
    ]
    assert [w["action"] for w in control.get("/writes", params={"email": ALICE})] == [
        "create",
        "update",
        "delete",
    ]


def test_sending_no_invitations_records_none(connect: Callable, alice: Any, control: Any) -> None:
    _meeting(connect()).save(send_meeting_invitations="SendToNone")

    assert control.get("/invitations") == []
    assert control.get("/writes")[0]["send_updates"] == "none"


def test_writes_need_write_access(connect: Callable, alice: Any) -> None:
    account = connect()
    item = _meeting(account)
    item.folder = folder(account, "boss")

    with pytest.raises(ErrorAccessDenied):
        item.save()


def test_items_are_found_by_their_extended_property(connect: Callable, alice: Any) -> None:
    account = connect()
    _meeting(account, sandbox_key="mine").save()
    _meeting(account, sandbox_key="other").save()

    found = list(account.calendar.filter(sandbox_key="mine").only("subject", "sandbox_key"))

    assert [(i.subject, i.sandbox_key) for i in found] == [("Intro call", "mine")]


def test_a_series_created_through_ews_expands(connect: Callable, alice: Any) -> None:
    from exchangelib.recurrence import NumberedPattern, Recurrence, WeeklyPattern

    account = connect()
    item = _meeting(account, required_attendees=None)
    item.recurrence = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[1]),
        boundary=NumberedPattern(start=item.start.date(), number=3),
    )
    item.save()

    view = account.calendar.view(start=utc(2026, 5, 1), end=utc(2026, 6, 1))
    assert [i.start.day for i in view] == [4, 11, 18]
    master = account.calendar.get(id=item.id)
    assert master.type == "RecurringMaster" and master.recurrence.boundary.number == 3


# --- synchronisation -------------------------------------------------------------------


def test_sync_items_pages_then_reports_creates_updates_and_deletes(
    connect: Callable, alice: Any, control: Any
) -> None:
    events = [
        user_event(
            control,
            summary=f"Event {n}",
            start=f"2026-03-0{n}T14:00:00Z",
            end=f"2026-03-0{n}T15:00:00Z",
        )
        for n in (1, 2, 3)
    ]
    calendar = connect().calendar

    initial = list(calendar.sync_items(only_fields=["subject"], max_changes_returned=2))
    state = calendar.item_sync_state
    assert [(kind, item.subject) for kind, item in initial] == [
        ("create", "Event 1"),
        ("create", "Event 2"),
        ("create", "Event 3"),
    ]
    assert list(calendar.sync_items(sync_state=state)) == []

    control.patch(
        f"/mailboxes/{ALICE}/calendars/{ALICE}/events/{events[0]['id']}",
        {"summary": "Event 1 (moved)"},
    )
    control.delete(f"/mailboxes/{ALICE}/calendars/{ALICE}/events/{events[1]['id']}")
    user_event(control, summary="Event 4", start="2026-03-04T14:00:00Z", end="2026-03-04T15:00:00Z")
    changes = list(calendar.sync_items(sync_state=state, only_fields=["subject"]))

    summary = [(kind, getattr(item, "subject", None)) for kind, item in changes]
    assert summary == [("update", "Event 1 (moved)"), ("delete", None), ("create", "Event 4")]
    assert changes[1][1].id == initial[1][1].id


def test_a_changed_occurrence_reports_its_series(
    connect: Callable, alice: Any, control: Any
) -> None:
    series = user_event(
        control,
        summary="Weekly",
        start="2026-03-02T14:00:00Z",
        end="2026-03-02T15:00:00Z",
        timezone="UTC",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
    )
    calendar = connect().calendar
    list(calendar.sync_items())
    state = calendar.item_sync_state

    control.delete(f"/mailboxes/{ALICE}/calendars/{ALICE}/events/{series['id']}_20260309T140000Z")
    changes = list(calendar.sync_items(sync_state=state, only_fields=["type", "subject"]))

    assert [(kind, item.type) for kind, item in changes] == [("update", "RecurringMaster")]


def test_an_expired_or_unreadable_sync_state_is_refused(
    connect: Callable, alice: Any, control: Any
) -> None:
    calendar = connect().calendar
    list(calendar.sync_items())
    state = calendar.item_sync_state
    control.post("/faults", {"kind": "expire_sync_tokens", "provider": "exchange", "email": ALICE})

    with pytest.raises(ErrorInvalidSyncStateData):
        list(calendar.sync_items(sync_state=state))
    with pytest.raises(ErrorInvalidSyncStateData):
        list(calendar.sync_items(sync_state="not-a-state"))


# --- free/busy -------------------------------------------------------------------------


def test_get_user_availability_in_the_requested_time_zone(
    connect: Callable, alice: Any, control: Any
) -> None:
    user_event(control, summary="Busy", start="2026-03-09T14:00:00Z", end="2026-03-09T15:00:00Z")
    user_event(
        control,
        summary="Maybe",
        start="2026-03-09T15:00:00Z",
        end="2026-03-09T15:30:00Z",
        showAs="tentative",
    )
    account = connect()
    start = EWSDateTime(2026, 3, 9, 8, tzinfo=NY)
    end = EWSDateTime(2026, 3, 9, 12, tzinfo=NY)

    views = list(
        account.protocol.get_free_busy_info(
            accounts=[(account, "Organizer", False), ("nobody@example.com", "Required", False)],
            start=start,
            end=end,
            merged_free_busy_interval=30,
        )
    )

    mine = views[0]
    assert [(e.start, e.end, e.busy_type) for e in mine.calendar_events] == [
        (EWSDateTime(2026, 3, 9, 10, tzinfo=NY), EWSDateTime(2026, 3, 9, 11, tzinfo=NY), "Busy"),
        (
            EWSDateTime(2026, 3, 9, 11, tzinfo=NY),
            EWSDateTime(2026, 3, 9, 11, 30, tzinfo=NY),
            "Tentative",
        ),
    ]
    assert mine.merged == "00002210"
    assert mine.calendar_events[0].details.subject == "Busy"
    assert isinstance(views[1], ErrorMailRecipientNotFound)


# --- faults ----------------------------------------------------------------------------


def test_rate_limit_is_server_busy_with_a_back_off(
    connect: Callable, alice: Any, control: Any
) -> None:
    calendar = connect().calendar  # signed in: the fault hits the next call
    control.post(
        "/faults", {"kind": "rate_limit", "provider": "exchange", "email": ALICE, "retry_after": 7}
    )

    with pytest.raises(ErrorServerBusy) as caught:
        list(calendar.all().only("subject"))

    assert caught.value.back_off == 7


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient_for_exchangelib(
    connect: Callable, alice: Any, control: Any, status: int
) -> None:
    calendar = connect().calendar
    control.post(
        "/faults",
        {"kind": "server_error", "provider": "exchange", "email": ALICE, "status": status},
    )

    # exchangelib re-raises a transient server error as "busy" while handling it.
    with pytest.raises(ErrorServerBusy) as caught:
        list(calendar.all().only("subject"))

    assert isinstance(caught.value.__context__, ErrorInternalServerTransientError)


def test_a_slow_answer_still_succeeds(connect: Callable, alice: Any, control: Any) -> None:
    calendar = connect().calendar
    control.post("/faults", {"kind": "slow", "provider": "exchange", "email": ALICE, "delay": 0.3})

    started = time.monotonic()
    assert list(calendar.all().only("subject")) == []
    assert time.monotonic() - started >= 0.3


def test_an_availability_window_over_62_days_is_refused(connect: Callable, alice: Any) -> None:
    account = connect()

    with pytest.raises(ErrorInvalidTimeInterval):
        list(
            account.protocol.get_free_busy_info(
                accounts=[(account, "Organizer", False)],
                start=EWSDateTime(2026, 1, 1, tzinfo=NY),
                end=EWSDateTime(2026, 4, 1, tzinfo=NY),
            )
        )
