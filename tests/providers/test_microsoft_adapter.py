"""The Microsoft adapter against the sandbox, beyond the shared contract (test_contract.py):
the MSAL connect flow, Graph's busy vocabulary, getSchedule windows, every fault, push."""

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from calendars.providers import microsoft
from calendars.providers.base import (
    Access,
    EventWrite,
    PermanentError,
    RateLimited,
    ReconnectRequired,
    SyncTokenExpired,
    TransientError,
)
from calendars.providers.microsoft import MicrosoftProvider
from tests.providers.connectors_microsoft import connect
from tests.support.receiver import Receiver
from tests.support.times import at as _at

EMAIL = "owner@adapter.example"
REDIRECT_URI = "http://testserver/settings/calendar/oauth/microsoft/callback"
WARSAW = "Europe/Warsaw"


WINDOW = (_at(-1), _at(40))


@pytest.fixture
def mailbox(sandbox_client):
    return sandbox_client.mailbox(
        "microsoft",
        EMAIL,
        timezone=WARSAW,
        calendars=[
            {"id": "team-cal", "name": "Team", "access": "writer"},
            {"id": "boss-cal", "name": "Boss", "access": "reader"},
            {"id": "room-cal", "name": "Room", "access": "freeBusyReader"},
        ],
    )


@pytest.fixture
def provider(sandbox, mailbox) -> MicrosoftProvider:
    return connect(sandbox, EMAIL)


def _event(sandbox_client, days: int, hour: int, calendar: str = EMAIL, **fields) -> dict:
    start, end = _at(days, hour), _at(days, hour + 1)
    return sandbox_client.add_event(
        EMAIL, calendar, start=start.isoformat(), end=end.isoformat(), **fields
    )


def _sync(provider, calendar_id, token=None):
    events, removed, next_token = {}, set(), None
    for page in provider.changes(calendar_id, token, WINDOW):
        events.update({event.id: event for event in page.events})
        removed.update(page.removed_ids)
        next_token = page.next_sync_token or next_token
    return events, removed, next_token


def _consent(sandbox, url: str, decision: str = "allow") -> dict:
    """Answer the consent page as the user's browser would; returns the callback's query."""
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would override `verify`
    session.verify = str(sandbox.ca_file)
    page = session.get(url, timeout=10)
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    form = {name: html.unescape(value) for name, value in hidden}
    answer = session.post(
        url, data={**form, "email": EMAIL, "decision": decision}, allow_redirects=False, timeout=10
    )
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


# --- connecting -------------------------------------------------------------------------


def test_connect_flow_from_consent_to_stored_credentials(sandbox, mailbox):
    url, pending = microsoft.begin_authorization(REDIRECT_URI)
    kept = json.loads(json.dumps(pending))  # it lives in the session as JSON
    query = _consent(sandbox, url)

    credentials = microsoft.complete_authorization(REDIRECT_URI, kept, query)

    assert {"access_token", "refresh_token", "expires_at"} <= set(credentials)
    assert MicrosoftProvider(credentials).account_email() == EMAIL
    with pytest.raises(ReconnectRequired):  # a code redeems once
        microsoft.complete_authorization(REDIRECT_URI, kept, query)


def test_a_denied_or_forged_answer_needs_a_new_sign_in(sandbox, mailbox):
    url, pending = microsoft.begin_authorization(REDIRECT_URI)
    denied = _consent(sandbox, url, decision="deny")
    with pytest.raises(ReconnectRequired):
        microsoft.complete_authorization(REDIRECT_URI, pending, denied)

    url, pending = microsoft.begin_authorization(REDIRECT_URI)
    forged = {**_consent(sandbox, url), "state": "someone-elses"}
    with pytest.raises(ReconnectRequired):
        microsoft.complete_authorization(REDIRECT_URI, pending, forged)


# --- reading ----------------------------------------------------------------------------


def test_access_levels_come_from_flags_and_a_read_probe(provider):
    access = {c.id: c.access for c in provider.list_calendars()}

    assert access == {
        EMAIL: Access.OWNER,
        "team-cal": Access.WRITER,
        "boss-cal": Access.READER,
        "room-cal": Access.FREE_BUSY,
    }


def test_graphs_busy_vocabulary(provider, sandbox, sandbox_client):
    titles = {
        "tentative": {"showAs": "tentative"},
        "oof": {"showAs": "oof"},
        "elsewhere": {"showAs": "workingElsewhere"},
        "free": {"showAs": "free"},
        "declined": {
            "organizer": "boss@adapter.example",
            "attendees": [{"email": EMAIL, "response": "declined"}],
        },
        "cancelled": {},
    }
    made = {
        title: _event(sandbox_client, 1, hour, summary=title, **fields)
        for hour, (title, fields) in enumerate(titles.items(), start=8)
    }
    with sandbox.state.lock:  # an organizer's cancellation has no control-API verb
        calendar = sandbox.state.data.calendars[EMAIL]
        calendar.events[made["cancelled"]["id"]].extra = {"isCancelled": True}

    events, _, _ = _sync(provider, EMAIL)

    busy = {event.title: event.busy for event in events.values()}
    assert busy == {
        "tentative": True,
        "oof": True,
        "elsewhere": False,
        "free": False,
        "declined": False,
        "cancelled": False,
    }


def test_all_day_events_cover_the_mailbox_s_own_days(provider, sandbox_client):
    day = _at(3).date()
    sandbox_client.add_event(
        EMAIL, EMAIL, summary="Holiday", start=day.isoformat(), end=(day + timedelta(1)).isoformat()
    )

    (event,) = _sync(provider, EMAIL)[0].values()

    midnight = datetime(day.year, day.month, day.day, tzinfo=microsoft.ZoneInfo(WARSAW))
    assert event.all_day and event.start == midnight and event.end == midnight + timedelta(1)


@pytest.mark.parametrize(
    "start",
    [
        {"dateTime": "2027-05-04T00:00:00.0000000", "timeZone": "UTC"},  # floating, as asked
        {"dateTime": "2027-05-03T22:00:00.0000000", "timeZone": "UTC"},  # Warsaw's midnight
    ],
)
def test_an_all_day_date_is_read_either_way_graph_writes_it(start):
    item = {"id": "e1", "isAllDay": True, "start": start, "end": start, "showAs": "busy"}

    event = microsoft.parse_event(item, microsoft.ZoneInfo(WARSAW))

    assert event.start == datetime(2027, 5, 4, tzinfo=microsoft.ZoneInfo(WARSAW))


def test_a_series_syncs_as_occurrences_and_deleting_it_removes_them(provider, sandbox_client):
    series = _event(
        sandbox_client, 2, 9, summary="Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"]
    )

    events, _, token = _sync(provider, EMAIL)
    assert len(events) == 3
    assert {e.recurring_event_id for e in events.values()} == {series["id"]}

    sandbox_client.delete_event(EMAIL, EMAIL, series["id"])
    _, removed, _ = _sync(provider, EMAIL, token)
    assert removed == set(events)


def test_a_delta_link_into_another_graph_needs_a_full_sync(provider):
    with pytest.raises(SyncTokenExpired):
        _sync(provider, EMAIL, "https://graph.elsewhere.example/v1.0/me/calendarView/delta?x=1")


def test_free_busy_across_calendars_and_beyond_62_days(provider, sandbox_client):
    _event(sandbox_client, 5, 9)
    _event(sandbox_client, 70, 9)  # only reachable through a second getSchedule
    _event(sandbox_client, 6, 9, calendar="team-cal")
    _event(sandbox_client, 6, 11, calendar="team-cal", showAs="free")
    sandbox_client.fault("microsoft", "lose_calendar_access", email=EMAIL, calendar_id="boss-cal")

    result = provider.free_busy([EMAIL, "team-cal", "boss-cal", "gone-cal"], _at(0), _at(80))

    spans = {cid: [(b.start, b.end) for b in busy] for cid, busy in result.busy.items()}
    assert spans == {
        EMAIL: [(_at(5, 9), _at(5, 10)), (_at(70, 9), _at(70, 10))],
        "team-cal": [(_at(6, 9), _at(6, 10))],
    }
    assert result.lost == {"boss-cal", "gone-cal"}


# --- writing ----------------------------------------------------------------------------


def test_a_created_event_carries_the_key_in_its_own_time_zone(provider, sandbox_client):
    write = EventWrite(
        key=uuid.uuid4().hex, title="Demo", start=_at(4, 14), end=_at(4, 15), timezone=WARSAW
    )

    event_id = provider.create_event("team-cal", write)

    (stored,) = sandbox_client.events(EMAIL, "team-cal")
    assert stored["id"] == event_id and stored["timezone"] == WARSAW
    assert stored["extra"]["transactionId"] == write.key
    assert stored["private_properties"] == {microsoft.APP_KEY_PROPERTY: write.key}


def test_updating_a_deleted_event_is_permanent_not_a_lost_calendar(provider, sandbox_client):
    made = _event(sandbox_client, 2, 9)
    sandbox_client.delete_event(EMAIL, EMAIL, made["id"])
    write = EventWrite(key=uuid.uuid4().hex, title="x", start=_at(2, 9), end=_at(2, 10))

    with pytest.raises(PermanentError) as caught:
        provider.update_event(EMAIL, made["id"], write)
    assert type(caught.value) is PermanentError


# --- faults and tokens ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected", "retry_after"),
    [
        ({"kind": "rate_limit", "retry_after": 4}, RateLimited, 4),
        ({"kind": "server_error"}, TransientError, None),
        ({"kind": "server_error", "status": 503, "retry_after": 2}, RateLimited, 2),
        ({"kind": "server_error", "status": 502}, TransientError, None),
    ],
)
def test_request_faults_become_typed_errors(provider, sandbox_client, fault, expected, retry_after):
    sandbox_client.fault("microsoft", email=EMAIL, **fault)

    with pytest.raises(expected) as caught:
        provider.list_calendars()

    assert type(caught.value) is expected
    if retry_after is not None:
        assert caught.value.retry_after == retry_after


def test_a_slow_answer_still_succeeds(provider, sandbox_client):
    sandbox_client.fault("microsoft", "slow", email=EMAIL, delay=0.2)

    assert provider.account_email() == EMAIL


def test_a_rejected_access_token_is_refreshed_once_and_handed_back(
    sandbox, mailbox, sandbox_client
):
    stored = []
    provider = connect(sandbox, EMAIL, on_credentials=stored.append)
    old_token = provider.credentials["access_token"]
    sandbox_client.fault("microsoft", "expire_access_tokens", email=EMAIL)

    assert provider.account_email() == EMAIL

    assert len(stored) == 1 and stored[0]["access_token"] != old_token
    assert stored[0]["refresh_token"] == provider.credentials["refresh_token"]


def test_a_revoked_grant_found_on_a_401_means_reconnect(provider, sandbox_client):
    sandbox_client.fault("microsoft", "revoke_grant", email=EMAIL)

    with pytest.raises(ReconnectRequired):
        _sync(provider, EMAIL)


# --- push -------------------------------------------------------------------------------


def test_watch_delivers_notifications_until_unwatched(provider, sandbox, sandbox_client):
    with Receiver() as receiver:
        channel = provider.watch("team-cal", receiver.url, "client-state", "unused", 3600)
        assert receiver.wait_for(lambda r: "validationToken" in r.query)
        assert channel.token == "client-state"
        assert abs(channel.expires_at - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(
            minutes=1
        )

        _event(sandbox_client, 3, 9, calendar="team-cal")
        sandbox.site.notifier.wait()
        note = json.loads(receiver.wait_for(lambda r: bool(r.body)).body)["value"][0]
        assert (note["subscriptionId"], note["clientState"]) == (channel.id, "client-state")

        provider.unwatch(channel)
        provider.unwatch(channel)  # already stopped: nothing to do
        _event(sandbox_client, 4, 9, calendar="team-cal")
        sandbox.site.notifier.wait()
        assert len([r for r in receiver.received if r.body]) == 1


def test_windows_time_zone_names_from_graph_become_iana_zones():
    from calendars.providers.microsoft import _zone

    assert _zone("Pacific Standard Time").key == "America/Los_Angeles"
    assert _zone("Central European Standard Time").key in {"Europe/Warsaw", "Europe/Belgrade"}
    assert _zone("Europe/Warsaw").key == "Europe/Warsaw"
    assert _zone("Not A Zone").key == "UTC"
