"""One contract for every calendar provider, run against the sandbox over real HTTP with the
real client libraries (google-api-python-client, msal + requests, exchangelib).

Each provider's connector (tests/providers/connectors_<name>.py) gives the app's adapter for a
sandbox mailbox the way the connect flow would; everything else here is provider-neutral.
"""

import importlib
import uuid

import pytest

from calendars.providers.base import (
    Access,
    Attendee,
    CalendarAccessLost,
    EventWrite,
    PermanentError,
    RateLimited,
    ReconnectRequired,
    SyncTokenExpired,
    TransientError,
)
from tests.support.times import at as _at

PROVIDERS = ["google", "microsoft", "exchange"]
OAUTH_PROVIDERS = {"google", "microsoft"}
EMAIL = "owner@contract.example"


WINDOW = (_at(-2, 0), _at(60, 0))


@pytest.fixture(params=PROVIDERS)
def name(request):
    return request.param


@pytest.fixture
def mailbox(sandbox_client, name):
    return sandbox_client.mailbox(
        name,
        EMAIL,
        timezone="Europe/Warsaw",
        calendars=[
            {"id": "team-cal", "name": "Team", "access": "writer"},
            {"id": "boss-cal", "name": "Boss", "access": "reader"},
            {"id": "room-cal", "name": "Room", "access": "freeBusyReader"},
        ],
    )


@pytest.fixture
def primary(mailbox) -> str:
    return next(c["id"] for c in mailbox["calendars"] if c["primary"])


@pytest.fixture
def connect(sandbox, name, mailbox):
    connector = importlib.import_module(f"tests.providers.connectors_{name}")

    def make(**options):
        return connector.connect(sandbox, EMAIL, **options)

    return make


@pytest.fixture
def provider(connect):
    return connect()


def _sync(provider, calendar_id, token=None):
    """Run pages to the end: (events by id, removed ids, next token)."""
    events, removed, next_token = {}, set(), None
    for page in provider.changes(calendar_id, token, WINDOW):
        events.update({event.id: event for event in page.events})
        removed.update(page.removed_ids)
        next_token = page.next_sync_token or next_token
    assert next_token, "the last page must carry the next sync token"
    return events, removed, next_token


def _write(key=None, **fields) -> EventWrite:
    values = {
        "key": key or uuid.uuid4().hex,
        "title": "Intro call",
        "start": _at(3, 10),
        "end": _at(3, 11),
        "timezone": "Europe/Warsaw",
        "attendees": (Attendee("contact@client.example", "Cora Contact"),),
    }
    return EventWrite(**{**values, **fields})


def test_account_email_and_calendars_with_access_levels(provider, primary, name):
    assert provider.account_email().lower() == EMAIL
    calendars = {c.name: c for c in provider.list_calendars()}
    primary_calendar = next(c for c in calendars.values() if c.primary)
    assert primary_calendar.access == Access.OWNER
    if name == "exchange":
        # EWS lists a mailbox's own folders only: shared calendars are opened by delegate
        # access (sandbox/README.md), which the Exchange adapter does not do yet.
        assert set(calendars) == {primary_calendar.name}
        return
    assert calendars["Team"].access in {Access.WRITER, Access.OWNER}
    assert calendars["Boss"].access == Access.READER
    # Free/busy-only sharing is never offered as readable.
    if "Room" in calendars:
        assert calendars["Room"].access == Access.FREE_BUSY
        assert calendars["Room"].access not in Access.FULL_READ


def test_full_sync_then_incremental_sees_creates_updates_and_deletions(
    provider, sandbox_client, primary
):
    first = sandbox_client.add_event(
        EMAIL, primary, summary="Dentist", start=_at(1, 9).isoformat(), end=_at(1, 10).isoformat()
    )
    second = sandbox_client.add_event(
        EMAIL, primary, summary="Lunch", start=_at(2, 12).isoformat(), end=_at(2, 13).isoformat()
    )
    events, _, token = _sync(provider, primary)
    by_title = {event.title: event for event in events.values()}
    assert by_title["Dentist"].start == _at(1, 9) and by_title["Dentist"].busy
    assert by_title["Lunch"].end == _at(2, 13)

    sandbox_client.update_event(
        EMAIL, primary, first["id"], start=_at(1, 15).isoformat(), end=_at(1, 16).isoformat()
    )
    sandbox_client.delete_event(EMAIL, primary, second["id"])
    sandbox_client.add_event(
        EMAIL, primary, summary="Gym", start=_at(4, 7).isoformat(), end=_at(4, 8).isoformat()
    )
    changed, removed, next_token = _sync(provider, primary, token)
    titles = {event.title: event for event in changed.values()}
    assert titles["Dentist"].start == _at(1, 15)
    assert "Gym" in titles
    assert "Lunch" not in titles
    assert by_title["Lunch"].id in removed
    assert next_token != token

    quiet, quiet_removed, _ = _sync(provider, primary, next_token)
    assert not quiet and not quiet_removed


def test_free_and_declined_and_cancelled_events_are_not_busy(provider, sandbox_client, primary):
    sandbox_client.add_event(
        EMAIL,
        primary,
        summary="Focus (free)",
        transparency="transparent",
        start=_at(1, 9).isoformat(),
        end=_at(1, 10).isoformat(),
    )
    sandbox_client.add_event(
        EMAIL,
        primary,
        summary="Real meeting",
        start=_at(1, 11).isoformat(),
        end=_at(1, 12).isoformat(),
    )
    events, _, _ = _sync(provider, primary)
    busy = {event.title: event.busy for event in events.values()}
    assert busy == {"Focus (free)": False, "Real meeting": True}


def test_expired_sync_state_asks_for_a_full_resync(provider, sandbox_client, primary, name):
    _, _, token = _sync(provider, primary)
    sandbox_client._call(
        "POST", "/faults", json={"provider": name, "kind": "expire_sync_tokens", "email": EMAIL}
    )
    with pytest.raises(SyncTokenExpired):
        _sync(provider, primary, token)
    _, _, fresh = _sync(provider, primary)  # a full sync works again
    assert fresh


def test_free_busy_over_a_window(provider, sandbox_client, primary):
    sandbox_client.add_event(
        EMAIL, primary, summary="Busy", start=_at(5, 9).isoformat(), end=_at(5, 10).isoformat()
    )
    sandbox_client.add_event(
        EMAIL,
        primary,
        summary="Free",
        transparency="transparent",
        start=_at(5, 13).isoformat(),
        end=_at(5, 14).isoformat(),
    )
    result = provider.free_busy([primary], _at(5, 0), _at(6, 0))
    assert not result.lost
    assert [(b.start, b.end) for b in result.busy[primary]] == [(_at(5, 9), _at(5, 10))]


def test_create_update_delete_and_a_retried_create_does_not_duplicate(
    provider, sandbox_client, primary
):
    write = _write()
    event_id = provider.create_event(primary, write)
    assert provider.create_event(primary, write) == event_id  # the retry finds the first
    stored = [e for e in sandbox_client.events(EMAIL, primary) if e.get("summary") == "Intro call"]
    assert len(stored) == 1
    invited = {i["attendee"].lower() for i in sandbox_client.invitations(EMAIL)}
    assert "contact@client.example" in invited

    events, _, token = _sync(provider, primary)
    assert events[event_id].app_key == write.key  # the app recognises its own events

    provider.update_event(primary, event_id, _write(write.key, start=_at(3, 14), end=_at(3, 15)))
    changed, _, token = _sync(provider, primary, token)
    assert changed[event_id].start == _at(3, 14)

    provider.delete_event(primary, event_id)
    provider.delete_event(primary, event_id)  # already gone: still a success
    _, removed, _ = _sync(provider, primary, token)
    assert event_id in removed


def test_rate_limit_carries_the_providers_delay(provider, sandbox_client, primary, name):
    sandbox_client.fault(name, "rate_limit", email=EMAIL, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        provider.free_busy([primary], _at(1, 0), _at(2, 0))
    assert caught.value.retry_after == pytest.approx(7, abs=0.01)
    assert not caught.value.permanent


def test_server_error_is_transient(provider, sandbox_client, primary, name):
    sandbox_client.fault(name, "server_error", email=EMAIL, status=503, count=5)
    with pytest.raises((TransientError, RateLimited)) as caught:
        provider.list_calendars()
    assert not caught.value.permanent


def test_lost_calendar_access(provider, sandbox_client, name):
    sandbox_client.fault(name, "lose_calendar_access", email=EMAIL, calendar_id="boss-cal")
    with pytest.raises(CalendarAccessLost) as caught:
        _sync(provider, "boss-cal")
    assert caught.value.calendar_id == "boss-cal"
    assert "Boss" not in {c.name for c in provider.list_calendars()}


def test_a_revoked_grant_or_password_means_reconnect(provider, sandbox_client, primary, name):
    sandbox_client.fault(name, "revoke_grant", email=EMAIL)
    with pytest.raises(ReconnectRequired) as caught:
        provider.list_calendars()
    assert caught.value.permanent


def test_refreshed_tokens_are_handed_back_to_be_stored(connect, name, primary):
    if name not in OAUTH_PROVIDERS:
        pytest.skip("Exchange signs in with a password: there is no token to refresh")
    stored = []
    provider = connect(on_credentials=stored.append, expired=True)
    before = dict(provider.credentials)
    provider.list_calendars()
    assert stored, "the refreshed access token must reach the caller"
    assert stored[-1] != before and stored[-1] == provider.credentials


# --- a calendar the app owns (CRM task sync) ---------------------------------------------


def _task(key=None, **fields) -> EventWrite:
    """A CRM task as the app writes it: nobody invited, and the user's time left free."""
    values = {"title": "Call Cora back", "attendees": (), "send_invitations": False, "busy": False}
    return _write(key, **{**values, **fields})


def test_a_created_calendar_is_listed_as_owned_and_creating_it_again_finds_it(provider):
    created = provider.create_calendar("CRM tasks")
    assert created.access == Access.OWNER and not created.primary
    assert created.name == "CRM tasks"

    listed = {c.id: c for c in provider.list_calendars()}
    assert listed[created.id].name == "CRM tasks"
    assert listed[created.id].access == Access.OWNER
    # A retried create (say after a timeout) must not leave a second calendar behind.
    assert provider.create_calendar("CRM tasks").id == created.id
    assert [c.name for c in provider.list_calendars()].count("CRM tasks") == 1


def test_a_free_event_is_not_busy_in_changes_nor_in_free_busy_and_stays_free(provider):
    provider.list_calendars()  # what an adapter learnt before must not hide the new calendar
    calendar_id = provider.create_calendar("CRM tasks").id
    task = _task()
    task_id = provider.create_event(calendar_id, task)
    meeting_id = provider.create_event(
        calendar_id, _task(start=_at(3, 12), end=_at(3, 13), busy=True)
    )

    events, _, token = _sync(provider, calendar_id)
    assert not events[task_id].busy and events[meeting_id].busy
    day = (_at(3, 0), _at(4, 0))
    result = provider.free_busy([calendar_id], *day)
    assert [(b.start, b.end) for b in result.busy[calendar_id]] == [(_at(3, 12), _at(3, 13))]

    provider.update_event(calendar_id, task_id, _task(task.key, start=_at(3, 15), end=_at(3, 16)))
    changed, _, _ = _sync(provider, calendar_id, token)
    assert changed[task_id].start == _at(3, 15) and not changed[task_id].busy
    result = provider.free_busy([calendar_id], *day)
    assert [(b.start, b.end) for b in result.busy[calendar_id]] == [(_at(3, 12), _at(3, 13))]


def test_an_update_sends_busy_either_way(provider, primary):
    write = _task()
    event_id = provider.create_event(primary, write)
    _, _, token = _sync(provider, primary)

    provider.update_event(primary, event_id, _task(write.key, busy=True))
    changed, _, token = _sync(provider, primary, token)
    assert changed[event_id].busy
    assert provider.free_busy([primary], _at(3, 0), _at(4, 0)).busy[primary]

    provider.update_event(primary, event_id, _task(write.key, busy=False))
    changed, _, _ = _sync(provider, primary, token)
    assert not changed[event_id].busy
    assert provider.free_busy([primary], _at(3, 0), _at(4, 0)).busy[primary] == []


def test_a_deleted_calendar_is_gone_and_deleting_it_again_is_fine(provider):
    calendar_id = provider.create_calendar("CRM tasks").id
    provider.create_event(calendar_id, _task())

    provider.delete_calendar(calendar_id)
    assert calendar_id not in {c.id for c in provider.list_calendars()}
    provider.delete_calendar(calendar_id)  # already gone: still a success
    # The name is free again.
    assert provider.create_calendar("CRM tasks").id != calendar_id


def test_deleting_the_primary_or_a_shared_calendar_is_refused_for_good(provider, primary, name):
    for calendar_id in (primary, "team-cal"):
        with pytest.raises(PermanentError):
            provider.delete_calendar(calendar_id)
    kept = {primary} if name == "exchange" else {primary, "team-cal"}  # EWS: own folders only
    assert kept <= {c.id for c in provider.list_calendars()}
