"""The public booking endpoints: slots, book, manage (cancel, reschedule) and their modes."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calendars import busy, outbox, sync
from calendars.models import CalendarWrite, Event
from crm.models import Contact, Meeting
from meetings import pages, urlrules
from meetings.models import Booking, HostReservation, MeetingSettings
from scheduler import availability_cache
from tests.meetings.conftest import MAILBOX, next_day_at


def _slots(client, page, **params):
    day = next_day_at(0).date()
    query = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "tz": "UTC"}
    return client.get(f"/meetings/{page.slug}/slots", {**query, **params})


def _book(client, page, when, **fields):
    body = {
        "start": when.isoformat(),
        "duration": 30,
        "timezone": "Europe/Warsaw",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "Cora@Client.example",
        "answers": {},
        **fields,
    }
    return client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )


def test_slots_are_listed_in_the_visitors_timezone(client, offline_page):
    response = _slots(client, offline_page, tz="America/New_York")
    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "America/New_York" and body["duration"] == 30
    first = body["slots"][0]
    assert first["start"].endswith(("-05:00", "-04:00"))
    assert body["mode"] == "offline"


def test_busy_events_in_the_mirror_are_not_offered(client, live_page, connection):
    primary = connection.calendars.get(is_primary=True)
    Event.objects.create(
        calendar=primary,
        remote_id="busy-1",
        start=next_day_at(10),
        end=next_day_at(11),
        busy=True,
        title="Dentist",
    )
    Event.objects.create(
        calendar=primary,
        remote_id="free-1",
        start=next_day_at(12),
        end=next_day_at(13),
        busy=False,
        title="Focus",
    )
    busy.refresh(connection.user_id)  # what every writer of the mirror does
    starts = {s["start"] for s in _slots(client, live_page).json()["slots"]}
    assert next_day_at(10).isoformat() not in starts
    assert next_day_at(12).isoformat() in starts  # a free (transparent) event does not block
    assert next_day_at(9).isoformat() in starts


def test_the_slots_query_count_does_not_grow_with_events(client, live_page, connection):
    primary = connection.calendars.get(is_primary=True)

    def count_queries() -> int:
        cache.clear()  # measure the computing path, not a cached answer
        with CaptureQueriesContext(db) as queries:
            assert _slots(client, live_page).status_code == 200
        return len(queries)

    Event.objects.bulk_create(
        Event(
            calendar=primary,
            remote_id=f"e{n}",
            start=next_day_at(8) + timedelta(minutes=n),
            end=next_day_at(8) + timedelta(minutes=n + 5),
        )
        for n in range(5)
    )
    busy.refresh(connection.user_id)
    few = count_queries()
    Event.objects.bulk_create(
        Event(
            calendar=primary,
            remote_id=f"m{n}",
            start=next_day_at(8) + timedelta(minutes=n),
            end=next_day_at(8) + timedelta(minutes=n + 5),
        )
        for n in range(600)
    )
    busy.refresh(connection.user_id)
    assert count_queries() == few


def test_the_slots_query_count_does_not_grow_with_calendars(client, live_page, connection):
    def count_queries() -> int:
        cache.clear()
        with CaptureQueriesContext(db) as queries:
            assert _slots(client, live_page).status_code == 200
        return len(queries)

    one = count_queries()
    connection.calendars.update(for_availability=True)  # three availability calendars now
    busy.refresh(connection.user_id)
    assert count_queries() == one


def test_a_cached_slot_list_costs_no_database_query(live_page, connection):
    visitor = Client()  # a visitor: no session to load
    first = _slots(visitor, live_page)
    with CaptureQueriesContext(db) as queries:
        again = _slots(visitor, live_page)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(queries) == 0, [q["sql"] for q in queries.captured_queries]


def test_a_renamed_or_turned_off_page_is_never_served_from_the_cache(
    client, admin_client, live_page, admin_user, django_capture_on_commit_callbacks
):
    assert _slots(client, live_page).status_code == 200
    old_slug = live_page.slug
    live_page.slug = "renamed"
    with django_capture_on_commit_callbacks(execute=True):
        live_page.save()
        availability_cache.bump_pages([old_slug])
    day = next_day_at(0).date()
    query = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat(), "tz": "UTC"}
    assert client.get(f"/meetings/{old_slug}/slots", query).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        MeetingSettings.objects.create(user=admin_user, url_prefix="ada", pages_enabled=False)
        availability_cache.bump([admin_user.pk])
    assert client.get("/meetings/renamed/slots", query).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tz": "Mars/Base"}, "tz"),
        ({"start": "tomorrow"}, "start"),
        ({"duration": "45"}, "duration"),
        ({"end": "2000-01-01"}, "end"),
    ],
)
def test_bad_slot_queries_get_a_400_with_the_field(client, offline_page, params, field):
    response = _slots(client, offline_page, **params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_booking_writes_the_crm_and_the_calendar_and_mails_an_ics(
    client, live_page, sandbox_client, django_capture_on_commit_callbacks
):
    start = next_day_at(10)
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(client, live_page, start, answers={})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["start"].endswith(("+01:00", "+02:00"))  # in the visitor's time zone
    booking = Booking.objects.get(pk=body["id"])
    assert booking.start == start and booking.end == start + timedelta(minutes=30)
    assert body["manage_url"].endswith(f"/meetings/manage/{booking.manage_token}/")

    contact = Contact.objects.get(account=live_page.account, email__iexact="cora@client.example")
    meeting = Meeting.objects.get(pk=booking.crm_meeting_id)
    assert meeting.source == "booking" and list(meeting.contacts.all()) == [contact]
    write = CalendarWrite.objects.get(key=booking.calendar_event_key, action="create")
    assert write.calendar.is_primary  # only the default personal calendar gets the event

    outbox.sweep()
    events = sandbox_client.events(MAILBOX, write.calendar.remote_id)
    assert any(e.get("summary", "").startswith("Intro call") for e in events)
    invited = {i["attendee"] for i in sandbox_client.invitations(MAILBOX)}
    assert "cora@client.example" in invited

    confirmation = next(m for m in mail.outbox if m.to == ["cora@client.example"])
    (name, content, mimetype) = confirmation.attachments[0]
    text = content.decode() if isinstance(content, bytes) else content
    assert name == "invite.ics" and "text/calendar" in mimetype
    assert "BEGIN:VEVENT" in text and "cora@client.example" in text.lower()
    assert any(m.to == [live_page.owner.email] for m in mail.outbox)


def test_a_taken_time_is_a_409(client, live_page):
    start = next_day_at(11)
    assert _book(client, live_page, start).status_code == 201
    again = _book(client, live_page, start, email="other@client.example")
    assert again.status_code == 409
    overlapping = _book(client, live_page, start + timedelta(minutes=30), duration=60)
    assert overlapping.status_code == 201  # 11:30-12:30 does not overlap 11:00-11:30
    assert _book(client, live_page, start - timedelta(minutes=30), duration=60).status_code == 409
    assert HostReservation.objects.filter(active=True).count() == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"duration": 45}, "duration"),
        ({"start": "2030-01-01T10:00:00"}, "start"),
        ({"start": "soon"}, "start"),
    ],
)
def test_bad_input_is_a_400_with_the_fields_error(client, live_page, fields, field):
    body = {"start": next_day_at(10).isoformat(), **fields}
    response = _book(client, live_page, next_day_at(10), **body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Booking.objects.exists()


def test_a_time_outside_the_rules_is_a_400_not_a_booking(client, live_page):
    response = _book(client, live_page, next_day_at(10) + timedelta(minutes=10))
    assert response.status_code == 400
    assert "start" in response.json()["errors"]


def test_unknown_page_is_404_and_a_non_json_body_is_400(client, live_page):
    assert client.get("/meetings/nobody/slots").status_code == 404
    assert (
        client.post("/meetings/nobody/book", "{}", content_type="application/json").status_code
        == 404
    )
    bad = client.post(f"/meetings/{live_page.slug}/book", "[1, 2", content_type="application/json")
    assert bad.status_code == 400


def test_offline_mode_takes_a_request_and_writes_no_calendar(
    client, offline_page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(client, offline_page, next_day_at(10))
    assert response.status_code == 201
    assert response.json()["status"] == "requested"
    assert not CalendarWrite.objects.exists()
    owner_mail = [m for m in mail.outbox if m.to == [offline_page.owner.email]]
    assert owner_mail and "requested a meeting" in owner_mail[0].body


def test_an_inactive_availability_calendar_blocks_booking_and_mails_the_owner_hourly(
    client, live_page, connection, django_capture_on_commit_callbacks, time_machine
):
    boss = connection.calendars.get(name="Boss")
    boss.for_availability, boss.is_active = True, False
    boss.save()

    def attempts(count: int) -> list:
        mail.outbox.clear()
        for _ in range(count):
            with django_capture_on_commit_callbacks(execute=True):
                response = _book(client, live_page, next_day_at(10))
            assert response.status_code == 423
        return [m for m in mail.outbox if "a calendar needs your attention" in m.subject]

    # Told at the first refused attempt, not flooded by the next ones (SPEC §1.4 and abuse).
    alerts = attempts(5)
    assert len(alerts) == 1 and alerts[0].to == [live_page.owner.email]
    assert "Boss" in alerts[0].body
    time_machine.move_to(timezone.now() + timedelta(minutes=61), tick=False)
    assert len(attempts(2)) == 1  # an hour later, told again
    assert _slots(client, live_page).json()["slots"] == []
    assert not Booking.objects.exists()


def test_pages_turned_off_are_unavailable_and_come_back(client, live_page, admin_user):
    MeetingSettings.objects.create(user=admin_user, url_prefix="ada", pages_enabled=False)
    assert client.get(f"/meetings/{live_page.slug}").status_code == 404
    assert _book(client, live_page, next_day_at(10)).status_code == 404
    MeetingSettings.objects.filter(user=admin_user).update(pages_enabled=True)
    assert client.get(f"/meetings/{live_page.slug}").status_code == 200
    assert _book(client, live_page, next_day_at(10)).status_code == 201


def test_cancel_from_the_manage_link_cancels_the_calendar_event(
    client, live_page, sandbox_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking_id = _book(client, live_page, next_day_at(14)).json()["id"]
    outbox.sweep()
    booking = Booking.objects.get(pk=booking_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/meetings/manage/{booking.manage_token}/cancel", follow=True)
    assert response.redirect_chain[0][1] == 302  # POST, redirect, GET: no re-submit on reload
    assert response.status_code == 200 and "cancelled" in response.content.decode()
    outbox.sweep()
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert not booking.reservations.filter(active=True).exists()
    assert Meeting.objects.get(pk=booking.crm_meeting_id).status == "cancelled"
    kinds = {i["kind"] for i in sandbox_client.invitations(MAILBOX)}
    assert "cancel" in kinds
    # The freed time can be booked again.
    assert _book(client, live_page, next_day_at(14), email="next@client.example").status_code == 201


def test_reschedule_moves_the_booking_and_the_event(client, live_page, sandbox_client):
    booking_id = _book(client, live_page, next_day_at(15)).json()["id"]
    booking = Booking.objects.get(pk=booking_id)
    new_start = next_day_at(16)
    response = client.post(
        f"/meetings/manage/{booking.manage_token}/reschedule",
        json.dumps({"start": new_start.isoformat()}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert booking.start == new_start
    assert booking.reservations.get().start == new_start
    assert CalendarWrite.objects.filter(key=booking.calendar_event_key, action="update").exists()


def test_a_cached_slot_list_never_outlives_a_booking_or_a_sync(
    client, live_page, connection, sandbox_client, django_capture_on_commit_callbacks
):
    def offered() -> set[str]:
        return {s["start"] for s in _slots(client, live_page).json()["slots"]}

    start = next_day_at(10)
    assert start.isoformat() in offered()
    with django_capture_on_commit_callbacks(execute=True):
        assert _book(client, live_page, start).status_code == 201
    assert start.isoformat() not in offered()

    later = next_day_at(12)
    assert later.isoformat() in offered()
    primary = connection.calendars.get(is_primary=True)
    sandbox_client.add_event(
        MAILBOX,
        primary.remote_id,
        summary="New",
        start=later.isoformat(),
        end=(later + timedelta(minutes=30)).isoformat(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        sync.sync_connection(connection.pk)
    assert later.isoformat() not in offered()


def test_booking_posts_are_rate_limited_per_address(client, offline_page, settings):
    settings.BOOKING_RATE_LIMIT = "3/m"
    statuses = [
        _book(client, offline_page, next_day_at(9 + n), email=f"c{n}@client.example").status_code
        for n in range(5)
    ]
    assert statuses[:3] == [201, 201, 201]
    assert statuses[3:] == [429, 429]
    assert Booking.objects.count() == 3


def _starts(client, page) -> set[str]:
    response = _slots(client, page)
    return {s["start"] for s in response.json()["slots"]} if response.status_code == 200 else set()


def test_a_deleted_page_stops_serving_its_cached_times(
    client, offline_page, django_capture_on_commit_callbacks
):
    assert _slots(client, offline_page).status_code == 200  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        pages.delete(offline_page)
    assert _slots(client, offline_page).status_code == 404


def test_turning_every_page_off_stops_serving_cached_times(
    client, admin_client, offline_page, django_capture_on_commit_callbacks
):
    assert _slots(client, offline_page).status_code == 200  # now cached
    prefix = urlrules.settings_for(offline_page.owner).url_prefix
    with django_capture_on_commit_callbacks(execute=True):
        # "Scheduling pages are on" unticked
        response = admin_client.post(
            "/app/settings/general/calendar/", {"meetings-url_prefix": prefix}
        )
    assert response.status_code == 302
    assert _slots(client, offline_page).status_code == 404


def test_a_new_profile_time_zone_moves_the_hours_its_pages_offer(
    client, admin_client, admin_user, make_page, django_capture_on_commit_callbacks
):
    """A host who never set working hours works 09:00-17:00 in their profile's zone."""
    admin_user.timezone = "UTC"
    admin_user.save(update_fields=["timezone"])
    page = make_page(admin_user, kind="group", hours_source="members")
    nine_utc = next_day_at(9).isoformat()
    assert nine_utc in _starts(client, page)  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/app/settings/general/",
            {"full_name": admin_user.full_name or "Ada", "timezone": "America/New_York"},
        )
    assert response.status_code == 302
    offered = _starts(client, page)
    assert nine_utc not in offered  # 04:00 or 05:00 in New York
    assert next_day_at(15).isoformat() in offered  # 10:00 or 11:00 in New York
