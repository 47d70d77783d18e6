"""The app's Exchange adapter (exchangelib) against the sandbox's EWS over real sockets, and the
URL safety it relies on. The provider-neutral behaviour is in test_contract.py; this module
covers what is particular to Exchange: series expansion, the credentials check, URL safety."""

import socket
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from calendars import netsafety
from calendars.providers.base import (
    Access,
    Attendee,
    CalendarAccessLost,
    EventWrite,
    InvalidServer,
    PermanentError,
    RateLimited,
    ReconnectRequired,
    SyncTokenExpired,
    TransientError,
)
from calendars.providers.exchange import ExchangeProvider, check_credentials
from tests.providers.connectors_exchange import connect, ews_url

EMAIL = "dana@exchange.example"
NY = ZoneInfo("America/New_York")
WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


@pytest.fixture
def mailbox(sandbox_client):
    return sandbox_client.mailbox(
        "exchange",
        EMAIL,
        timezone="America/New_York",
        calendars=[
            {"id": "team", "name": "Team", "access": "owner"},
            {"id": "shared", "name": "Shared", "access": "writer"},
            {"id": "boss", "name": "Boss", "access": "reader"},
            {"id": "room", "name": "Room", "access": "freeBusyReader"},
        ],
    )


@pytest.fixture
def provider(sandbox, mailbox) -> ExchangeProvider:
    return connect(sandbox, EMAIL)


def sync(provider, token=None, window=WINDOW, calendar=EMAIL):
    events, removed, next_token = {}, set(), None
    for page in provider.changes(calendar, token, window):
        events.update({event.id: event for event in page.events})
        removed.update(page.removed_ids)
        next_token = page.next_sync_token or next_token
    return events, removed, next_token


def add(sandbox_client, calendar=EMAIL, **fields):
    return sandbox_client.add_event(EMAIL, calendar, **fields)


def write(key=None, **fields) -> EventWrite:
    values = {
        "key": key or uuid.uuid4().hex,
        "title": "Intro call",
        "start": datetime(2026, 3, 10, 14, tzinfo=UTC),
        "end": datetime(2026, 3, 10, 15, tzinfo=UTC),
        "timezone": "America/New_York",
        "attendees": (Attendee("cora@client.example", "Cora"),),
    }
    return EventWrite(**{**values, **fields})


# --- calendars and events ----------------------------------------------------------------


def test_calendars_are_the_mailboxs_own(provider):
    # EWS lists a mailbox's own folders only; calendars shared with it are opened by
    # delegate access, by the owner's address (sandbox/README.md), which this adapter does
    # not do yet: the shared ones are not listed.
    calendars = {c.name: c for c in provider.list_calendars()}

    assert {name: c.access for name, c in calendars.items()} == {
        "Calendar": Access.OWNER,
        "Team": Access.OWNER,
    }
    assert [c.id for c in calendars.values() if c.primary] == [EMAIL]
    assert provider.account_email() == EMAIL


def test_event_fields_all_day_declined_and_out_of_office(provider, sandbox_client):
    add(sandbox_client, summary="Holiday", start="2026-03-05", end="2026-03-06", showAs="oof")
    add(
        sandbox_client,
        summary="Pitch",
        start="2026-03-06T15:00:00Z",
        end="2026-03-06T16:00:00Z",
        organizer="vendor@other.example",
        attendees=[{"email": EMAIL, "response": "declined"}, "sam@other.example"],
    )

    events = {e.title: e for e in sync(provider)[0].values()}

    holiday, pitch = events["Holiday"], events["Pitch"]
    assert holiday.all_day and holiday.busy
    assert (holiday.start, holiday.end) == (
        datetime(2026, 3, 5, tzinfo=NY).astimezone(UTC),
        datetime(2026, 3, 6, tzinfo=NY).astimezone(UTC),
    )
    assert not pitch.busy and pitch.organizer == "vendor@other.example"
    assert {(a.email, a.response) for a in pitch.attendees} == {
        (EMAIL, "declined"),
        ("sam@other.example", "needsAction"),
    }


def test_a_series_is_expanded_and_re_expanded_when_it_changes(provider, sandbox_client):
    series = add(
        sandbox_client,
        summary="Standup",
        start="2026-03-02T09:00:00-05:00",
        end="2026-03-02T09:15:00-05:00",
        timezone="America/New_York",
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
    )
    events, _, token = sync(provider)
    occurrences = sorted(events.values(), key=lambda e: e.start)
    assert [e.start.hour for e in occurrences] == [14, 13, 13, 13]  # 09:00 New York, DST
    master = occurrences[0].recurring_event_id
    assert master and all(e.recurring_event_id == master for e in occurrences)

    # The user cancels one occurrence: its series changed, that occurrence is gone.
    sandbox_client.delete_event(EMAIL, EMAIL, f"{series['id']}_20260316T130000Z")
    changed, removed, token = sync(provider, token)
    assert removed == {occurrences[2].id}
    assert set(changed) == {occurrences[0].id, occurrences[1].id, occurrences[3].id}

    # The user deletes the whole series.
    sandbox_client.delete_event(EMAIL, EMAIL, series["id"])
    changed, removed, _ = sync(provider, token)
    assert not changed
    assert {occurrences[0].id, occurrences[1].id, occurrences[3].id, master} <= removed


def test_a_moving_window_brings_in_later_occurrences(provider, sandbox_client):
    add(
        sandbox_client,
        summary="Weekly",
        start="2026-03-02T15:00:00Z",
        end="2026-03-02T16:00:00Z",
        timezone="UTC",
        recurrence=["RRULE:FREQ=WEEKLY"],
    )
    first = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC))
    events, _, token = sync(provider, window=first)
    assert sorted(e.start.day for e in events.values()) == [2, 9]

    later = (first[0] + timedelta(days=14), first[1] + timedelta(days=14))
    events, removed, _ = sync(provider, token, window=later)

    assert sorted(e.start.day for e in events.values()) == [16, 23]
    assert len(removed) == 2  # the occurrences that left the window


def test_an_expired_or_unreadable_sync_token_asks_for_a_full_sync(provider, sandbox_client):
    _, _, token = sync(provider)
    sandbox_client.fault("exchange", "expire_sync_tokens", email=EMAIL)

    with pytest.raises(SyncTokenExpired):
        sync(provider, token)
    with pytest.raises(SyncTokenExpired):
        sync(provider, "a token from somewhere else")


# --- free/busy -------------------------------------------------------------------------


def test_free_busy_merges_and_reports_lost_calendars(provider, sandbox_client):
    add(sandbox_client, summary="A", start="2026-03-02T14:00:00Z", end="2026-03-02T15:00:00Z")
    add(sandbox_client, summary="B", start="2026-03-02T14:30:00Z", end="2026-03-02T16:00:00Z")
    add(
        sandbox_client,
        summary="Lunch",
        start="2026-03-02T17:00:00Z",
        end="2026-03-02T18:00:00Z",
        transparency="transparent",
    )
    add(
        sandbox_client,
        "room",
        summary="Booked",
        start="2026-03-02T20:00:00Z",
        end="2026-03-02T21:00:00Z",
    )
    sandbox_client.fault("exchange", "lose_calendar_access", email=EMAIL, calendar_id="boss")

    day = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    result = provider.free_busy([EMAIL, "room", "boss"], *day)

    assert result.lost == {"boss"}
    assert [(b.start.hour, b.end.hour) for b in result.busy[EMAIL]] == [(14, 16)]
    assert [(b.start.hour, b.end.hour) for b in result.busy["room"]] == [(20, 21)]


# --- writes ----------------------------------------------------------------------------


def test_create_update_delete_with_invitations_and_no_duplicate_on_retry(provider, sandbox_client):
    event = write()
    event_id = provider.create_event(EMAIL, event)
    assert provider.create_event(EMAIL, event) == event_id
    assert len([e for e in sandbox_client.events(EMAIL, EMAIL) if not e["recurrence"]]) == 1

    stored = sync(provider)[0][event_id]
    assert stored.app_key == event.key and stored.title == "Intro call"

    provider.update_event(
        EMAIL,
        event_id,
        write(
            event.key,
            title="Intro call (moved)",
            start=datetime(2026, 3, 11, 14, tzinfo=UTC),
            end=datetime(2026, 3, 11, 15, tzinfo=UTC),
        ),
    )
    moved = sync(provider)[0][event_id]
    assert moved.title == "Intro call (moved)" and moved.start.day == 11

    provider.delete_event(EMAIL, event_id)
    provider.delete_event(EMAIL, event_id)  # already gone counts as deleted

    kinds = [(i["attendee"], i["kind"]) for i in sandbox_client.invitations(EMAIL)]
    assert kinds == [("cora@client.example", k) for k in ("invite", "update", "cancel")]
    with pytest.raises(PermanentError):
        provider.update_event(EMAIL, event_id, event)


def test_no_invitations_when_not_asked(provider, sandbox_client):
    event_id = provider.create_event(EMAIL, write(send_invitations=False))
    provider.delete_event(EMAIL, event_id, notify=False)

    assert sandbox_client.invitations(EMAIL) == []


def test_writing_to_a_read_only_calendar_is_refused(provider):
    with pytest.raises(CalendarAccessLost):
        provider.create_event("boss", write())


# --- failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("rate_limit", {"retry_after": 7}, RateLimited),
        ("server_error", {}, TransientError),
        ("server_error", {"status": 503}, TransientError),
        ("revoke_grant", {}, ReconnectRequired),
        ("lose_calendar_access", {"calendar_id": EMAIL}, CalendarAccessLost),
    ],
)
def test_injected_faults_become_typed_errors(provider, sandbox_client, kind, options, expected):
    provider.list_calendars()  # signed in: the fault hits the next call
    sandbox_client.fault("exchange", kind, email=EMAIL, **options)

    with pytest.raises(expected) as caught:
        sync(provider)

    if expected is RateLimited:
        assert caught.value.retry_after == 7
    if expected is CalendarAccessLost:
        assert caught.value.calendar_id == EMAIL


def test_a_wrong_password_means_reconnect(sandbox, mailbox):
    credentials = {**connect(sandbox, EMAIL).credentials, "password": "not-it"}

    with pytest.raises(ReconnectRequired):
        ExchangeProvider(credentials).list_calendars()


def test_an_unreachable_server_is_transient(sandbox, mailbox):
    credentials = {**connect(sandbox, EMAIL).credentials, "ews_url": _closed_port_url()}

    with pytest.raises(TransientError):
        ExchangeProvider(credentials).list_calendars()


def test_connections_re_check_the_address_when_private_urls_are_off(sandbox, mailbox, settings):
    provider = connect(sandbox, EMAIL)
    settings.EXCHANGE_ALLOW_PRIVATE_URLS = False

    with pytest.raises(InvalidServer, match="loopback"):
        ExchangeProvider(provider.credentials).list_calendars()


# --- checking credentials before they are stored -----------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/EWS/Exchange.asmx"


def test_check_credentials_returns_what_to_store(sandbox, mailbox):
    stored = check_credentials(EMAIL, "sandbox", "dana", ews_url(sandbox))

    assert stored["auth_type"] == "basic" and stored["version"] == "15.1.2507.6"
    assert ExchangeProvider(stored).list_calendars()


def test_check_credentials_refuses_a_wrong_password(sandbox, mailbox):
    with pytest.raises(ReconnectRequired, match="refused the password"):
        check_credentials(EMAIL, "wrong", "", ews_url(sandbox))


def test_check_credentials_cannot_reach_a_closed_port(sandbox_client):
    with pytest.raises(TransientError, match="Could not reach the server"):
        check_credentials(EMAIL, "sandbox", "", _closed_port_url())


def test_check_credentials_refuses_a_url_that_is_not_ews(sandbox, mailbox):
    with pytest.raises(InvalidServer, match="not an Exchange Web Services URL"):
        check_credentials(EMAIL, "sandbox", "", f"{sandbox.http_url}/owa/")


def test_check_credentials_refuses_a_server_older_than_2010_sp2(sandbox, mailbox, sandbox_client):
    sandbox_client._call(
        "PATCH", f"/exchange/mailboxes/{EMAIL}", json={"server_version": "14.1.218.15"}
    )

    with pytest.raises(InvalidServer, match="Exchange 2010 SP2 or newer is required"):
        check_credentials(EMAIL, "sandbox", "", ews_url(sandbox))


def test_check_credentials_refuses_private_urls_unless_allowed(sandbox, mailbox, settings):
    settings.EXCHANGE_ALLOW_PRIVATE_URLS = False

    with pytest.raises(InvalidServer, match="https"):
        check_credentials(EMAIL, "sandbox", "", ews_url(sandbox))


# --- URL safety --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/EWS/Exchange.asmx",
        "https://127.0.0.1/EWS/Exchange.asmx",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/EWS/Exchange.asmx",
        "https://192.168.0.10/EWS/Exchange.asmx",
        "https://[::1]/EWS/Exchange.asmx",
        "https://[::ffff:127.0.0.1]/EWS/Exchange.asmx",
        "https://localhost/EWS/Exchange.asmx",
        "https://user:secret@93.184.216.34/EWS/Exchange.asmx",
        "ftp://93.184.216.34/",
    ],
)
def test_check_public_url_refuses(url):
    with pytest.raises(netsafety.UnsafeURL):
        netsafety.check_public_url(url, allow_private=False)


def test_check_public_url_accepts_public_https_and_private_when_allowed():
    addresses = netsafety.check_public_url("https://93.184.216.34/EWS/Exchange.asmx", False)

    assert [str(a) for a in addresses] == ["93.184.216.34"]
    assert netsafety.check_public_url("http://127.0.0.1:8001/EWS/Exchange.asmx", True)


def test_a_name_that_does_not_resolve_is_not_called_unsafe():
    with pytest.raises(netsafety.UnresolvableHost):
        netsafety.check_public_url("https://no-such-host.invalid/EWS/Exchange.asmx", False)


def _guarded_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", netsafety.GuardedAdapter())
    session.mount("https://", netsafety.GuardedAdapter())
    return session


def test_the_guard_refuses_to_connect_to_a_private_address(sandbox):
    with pytest.raises(netsafety.UnsafeURL):
        _guarded_session().get(f"{sandbox.http_url}/_sandbox/health", timeout=5)


def test_the_guard_re_resolves_at_connect_time(monkeypatch):
    """DNS rebinding: the name looked public when checked, then points at loopback."""
    answers = iter(["93.184.216.34", "127.0.0.1"])
    real = socket.getaddrinfo

    def rebinding_dns(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(netsafety.socket, "getaddrinfo", rebinding_dns)
    netsafety.check_public_url("https://rebind.example/EWS/Exchange.asmx", allow_private=False)

    with pytest.raises(netsafety.UnsafeURL, match=r"127\.0\.0\.1"):
        _guarded_session().get("https://rebind.example/EWS/Exchange.asmx", timeout=5)


def test_guarded_https_still_verifies_the_host_name(sandbox, monkeypatch):
    # Pretend loopback is public, to reach the sandbox's TLS port through the guard.
    monkeypatch.setattr(netsafety, "_is_public", lambda address: True)
    session = _guarded_session()
    https_port = sandbox.https_url.rsplit(":", 1)[1]

    answer = session.get(
        f"https://localhost:{https_port}/_sandbox/health", verify=str(sandbox.ca_file), timeout=5
    )

    assert answer.status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"https://localhost:{https_port}/_sandbox/health", timeout=5)
