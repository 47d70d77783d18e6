"""Video meetings created with events, as Google and Microsoft document them, through the
app's adapters (real google-api-python-client and requests) against the sandbox over HTTP:
Meet through conferenceData.createRequest at conferenceDataVersion=1 (possibly pending),
Teams through isOnlineMeeting/onlineMeetingProvider; updates keep the conference."""

import uuid

import pytest
import requests

from calendars.providers.base import Attendee, EventWrite
from tests.providers import connectors_google, connectors_microsoft
from tests.support.times import at

EMAIL = "host@conference.example"


def _write(conference: str = "", **fields) -> EventWrite:
    values = {
        "key": uuid.uuid4().hex,
        "title": "Intro call",
        "start": at(3, 10),
        "end": at(3, 11),
        "timezone": "Europe/Warsaw",
        "attendees": (Attendee("contact@client.example", "Cora Contact"),),
        "conference": conference,
    }
    return EventWrite(**{**values, **fields})


def _conferencing(sandbox, **settings):
    answer = requests.patch(
        f"{sandbox.http_url}/_sandbox/mailboxes/{EMAIL}/conferencing", json=settings, timeout=10
    )
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def google(sandbox, sandbox_client):
    mailbox = sandbox_client.mailbox("google", EMAIL, timezone="Europe/Warsaw")
    primary = next(c["id"] for c in mailbox["calendars"] if c["primary"])
    return connectors_google.connect(sandbox, EMAIL), primary


@pytest.fixture
def microsoft(sandbox, sandbox_client):
    mailbox = sandbox_client.mailbox("microsoft", EMAIL, timezone="Europe/Warsaw")
    primary = next(c["id"] for c in mailbox["calendars"] if c["primary"])
    return connectors_microsoft.connect(sandbox, EMAIL), primary


def test_google_creates_a_meet_link_that_survives_an_update(google, sandbox_client):
    provider, calendar_id = google
    write = _write("google_meet")
    event_id = provider.create_event(calendar_id, write)
    conference = provider.conference(calendar_id, event_id)
    assert conference.status == "ready"
    assert conference.url.startswith("https://meet.google.com/")

    raw = provider._service.events().get(calendarId=calendar_id, eventId=event_id).execute()
    data = raw["conferenceData"]
    assert data["createRequest"]["requestId"] == write.key
    assert data["createRequest"]["status"]["statusCode"] == "success"
    assert data["entryPoints"][0] == {
        "entryPointType": "video",
        "uri": conference.url,
        "label": conference.url.removeprefix("https://"),
    }
    assert raw["hangoutLink"] == conference.url

    # A move is a PATCH at conferenceDataVersion 0: the conference stays.
    provider.update_event(
        calendar_id, event_id, _write(key=write.key, start=at(4, 10), end=at(4, 11))
    )
    assert provider.conference(calendar_id, event_id).url == conference.url
    # A retried create (the same key) answers the same event, not a second conference.
    assert provider.create_event(calendar_id, write) == event_id


def test_a_meet_conference_can_be_pending_first(google, sandbox):
    provider, calendar_id = google
    _conferencing(sandbox, pending_seconds=30)
    event_id = provider.create_event(calendar_id, _write("google_meet"))
    assert provider.conference(calendar_id, event_id).status == "pending"
    raw = provider._service.events().get(calendarId=calendar_id, eventId=event_id).execute()
    assert raw["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    assert "hangoutLink" not in raw and "entryPoints" not in raw["conferenceData"]


def test_a_meet_conference_that_cannot_be_made_fails(google, sandbox):
    provider, calendar_id = google
    _conferencing(sandbox, available=False)
    event_id = provider.create_event(calendar_id, _write("google_meet"))
    assert provider.conference(calendar_id, event_id).status == "failed"


def test_google_ignores_conference_data_without_version_1(google):
    provider, calendar_id = google
    body = {
        "summary": "No version",
        "start": {"dateTime": at(3, 10).isoformat()},
        "end": {"dateTime": at(3, 11).isoformat()},
        "conferenceData": {
            "createRequest": {"requestId": "abc", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
        },
    }
    created = provider._service.events().insert(calendarId=calendar_id, body=body).execute()
    assert "conferenceData" not in created and "hangoutLink" not in created
    assert provider.conference(calendar_id, created["id"]).status == "failed"


def test_google_refuses_an_unknown_conference_type(google):
    from googleapiclient.errors import HttpError

    provider, calendar_id = google
    body = {
        "summary": "Bad type",
        "start": {"dateTime": at(3, 10).isoformat()},
        "end": {"dateTime": at(3, 11).isoformat()},
        "conferenceData": {
            "createRequest": {"requestId": "abc", "conferenceSolutionKey": {"type": "zoom"}}
        },
    }
    request = provider._service.events().insert(
        calendarId=calendar_id, body=body, conferenceDataVersion=1
    )
    with pytest.raises(HttpError) as refused:
        request.execute()
    assert refused.value.resp.status == 400


def test_graph_creates_a_teams_meeting_that_stays_online(microsoft):
    provider, calendar_id = microsoft
    write = _write("teams")
    event_id = provider.create_event(calendar_id, write)
    conference = provider.conference(calendar_id, event_id)
    assert conference.status == "ready"
    assert conference.url.startswith("https://teams.microsoft.com/l/meetup-join/")
    provider.update_event(
        calendar_id, event_id, _write(key=write.key, start=at(4, 10), end=at(4, 11))
    )
    assert provider.conference(calendar_id, event_id).url == conference.url
    # transactionId: a retried POST answers the first event, with its meeting.
    assert provider.create_event(calendar_id, write) == event_id
    assert provider.conference(calendar_id, event_id).url == conference.url


def test_graph_leaves_the_event_offline_when_the_calendar_does_not_allow_teams(microsoft, sandbox):
    provider, calendar_id = microsoft
    _conferencing(sandbox, available=False)
    event_id = provider.create_event(calendar_id, _write("teams"))
    assert provider.conference(calendar_id, event_id).status == "failed"
    offline = provider.create_event(calendar_id, _write())
    assert provider.conference(calendar_id, offline).status == "failed"


def test_exchange_creates_no_conference():
    from calendars.providers.exchange import ExchangeProvider

    assert not ExchangeProvider.conference_kinds


def test_the_conferencing_control_api_checks_its_input(sandbox, sandbox_client):
    sandbox_client.mailbox("google", EMAIL)
    url = f"{sandbox.http_url}/_sandbox/mailboxes/{EMAIL}/conferencing"
    assert requests.patch(url, json={"pending_seconds": -1}, timeout=10).status_code == 400
    assert requests.patch(url, json={"available": "no"}, timeout=10).status_code == 400
    assert requests.patch(url, json={"pending_seconds": 2}, timeout=10).json() == {
        "pending_seconds": 2.0,
        "available": True,
    }
