"""The page editor, the owner's "why isn't this time available?" view, group and round robin."""

import json

import pytest

from calendars.models import Event
from meetings.models import Booking, HostReservation, SchedulingPage
from tests.meetings.conftest import next_day_at

NEW_URL = "/app/meetings/pages/new/"


def _form(**fields):
    data = {
        "name": "Discovery call",
        "slug": "",
        "kind": "one_on_one",
        "durations_text": "30, 60",
        "timezone": "Europe/Warsaw",
        "hours-0-0-start": "09:00",
        "hours-0-0-end": "12:00",
        "hours-0-1-start": "13:00",
        "hours-0-1-end": "17:00",
        "hours-1-0-start": "09:00",
        "hours-1-0-end": "17:00",
        "hours-4-0-start": "10:00",
        "hours-4-0-end": "14:00",
        "overrides_text": "2030-12-24: off\n2030-12-27: 10:00-12:00",
        "buffer_before": "10",
        "buffer_after": "5",
        "min_notice": "120",
        "max_advance_days": "30",
        "increment": "15",
        "daily_max": "4",
        "questions_text": "Company*\nAnything else?",
        "confirmation_message": "See you!",
        "allow_reschedule": "on",
        "allow_cancel": "on",
        "location": "",
        "conferencing": "fixed",
        "video_link": "https://meet.example.com/ada",
        "hours_source": "page",
        "routing": "availability",
        "reschedule_notice": "0",
        "cancel_notice": "0",
        "cancel_reason": "optional",
    }
    return {**data, **fields}


def test_creating_a_page_takes_the_meeting_url_and_every_rule(admin_client, admin_user):
    response = admin_client.post(NEW_URL, _form())
    assert response.status_code == 302, response.content
    page = SchedulingPage.objects.get(owner=admin_user)
    assert page.slug  # from the user's meeting URL
    assert page.durations == [30, 60]
    assert page.weekly_hours == {
        "0": [["09:00", "12:00"], ["13:00", "17:00"]],
        "1": [["09:00", "17:00"]],
        "4": [["10:00", "14:00"]],
    }
    assert page.date_overrides == {"2030-12-24": [], "2030-12-27": [["10:00", "12:00"]]}
    assert page.questions == [
        {"label": "Company", "required": True},
        {"label": "Anything else?", "required": False},
    ]
    assert (page.buffer_before, page.buffer_after, page.increment, page.daily_max) == (10, 5, 15, 4)

    edit = admin_client.get(f"/app/meetings/pages/{page.pk}/").content.decode()
    assert 'name="hours-0-1-start" value="13:00"' in edit and "2030-12-24: off" in edit


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"hours-0-0-start": "9 to 5"}, "__all__"),
        ({"hours-1-0-start": "17:00", "hours-1-0-end": "09:00"}, "__all__"),
        ({"durations_text": "thirty"}, "durations_text"),
        ({"durations_text": "0"}, "durations_text"),
        ({"overrides_text": "someday: off"}, "overrides_text"),
        ({"slug": "Has Spaces"}, "slug"),
        ({"slug": "manage"}, "slug"),
        ({"video_link": "not a url"}, "video_link"),
        ({"timezone": "Mars/Base"}, "timezone"),
    ],
)
def test_bad_page_input_is_a_400_with_the_fields_error(admin_client, fields, field):
    response = admin_client.post(NEW_URL, _form(**fields))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not SchedulingPage.objects.exists()


def test_a_taken_slug_is_refused(admin_client, make_page, make_user):
    make_page(make_user("other@elsewhere.example"), slug="taken")
    response = admin_client.post(NEW_URL, _form(slug="Taken"))
    assert response.status_code == 400 and "taken" in response.context["form"].errors["slug"][0]


def test_another_users_page_cannot_be_edited(client, make_page, make_user):
    page = make_page(make_user("owner@elsewhere.example"))
    intruder = make_user("intruder@acme.example")
    client.force_login(intruder)
    assert client.get(f"/app/meetings/pages/{page.pk}/").status_code == 404
    assert client.post(f"/app/meetings/pages/{page.pk}/", _form()).status_code == 404
    assert client.get(f"/app/meetings/pages/{page.pk}/why/").status_code == 404


def test_why_isnt_this_time_available(admin_client, live_page, connection):
    primary = connection.calendars.get(is_primary=True)
    busy = next_day_at(10)
    Event.objects.create(
        calendar=primary,
        remote_id="x",
        title="Dentist",
        start=busy,
        end=busy.replace(hour=11),
        busy=True,
    )
    when = busy.strftime("%Y-%m-%dT%H:%M")
    body = admin_client.get(f"/app/meetings/pages/{live_page.pk}/why/", {"when": when})
    text = body.content.decode()
    assert 'data-code="busy"' in text and primary.name in text
    offered = admin_client.get(
        f"/app/meetings/pages/{live_page.pk}/why/",
        {"when": busy.replace(hour=14).strftime("%Y-%m-%dT%H:%M")},
    )
    assert "This time is offered" in offered.content.decode()
    outside = admin_client.get(
        f"/app/meetings/pages/{live_page.pk}/why/",
        {"when": busy.replace(hour=3).strftime("%Y-%m-%dT%H:%M")},
    )
    assert 'data-code="outside_hours"' in outside.content.decode()


def _book(client, page, when, email="cora@client.example"):
    body = {
        "start": when.isoformat(),
        "duration": 30,
        "timezone": "UTC",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": email,
    }
    return client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )


def test_a_group_page_needs_everyone_free_and_reserves_everyone(
    client, make_page, admin_user, make_user, connect_user
):
    colleague = make_user("colleague@acme.example", admin_user.account, personal_email_access=True)
    connect_user(admin_user)
    connect_user(colleague)
    page = make_page(admin_user, kind="group", members=[colleague])
    # The colleague is already booked at 10:00 elsewhere.
    other = make_page(colleague, slug="colleague-own")
    assert _book(client, other, next_day_at(10), "first@client.example").status_code == 201
    assert _book(client, page, next_day_at(10)).status_code == 409  # not everyone is free
    starts = {
        s["start"]
        for s in client.get(
            f"/meetings/{page.slug}/slots",
            {"start": next_day_at(0).date(), "end": next_day_at(0).date(), "tz": "UTC"},
        ).json()["slots"]
    }
    assert next_day_at(11).isoformat() in starts
    response = _book(client, page, next_day_at(11))
    assert response.status_code == 201
    booking = Booking.objects.get(pk=response.json()["id"])
    assert set(
        HostReservation.objects.filter(booking=booking).values_list("host_id", flat=True)
    ) == {admin_user.pk, colleague.pk}


def test_round_robin_prefers_the_contacts_owner_then_spreads_fairly(
    client, make_page, admin_user, make_user, connect_user
):
    from crm.services import upsert_contact

    colleague = make_user("colleague@acme.example", admin_user.account, personal_email_access=True)
    connect_user(admin_user)
    connect_user(colleague)
    page = make_page(admin_user, kind="round_robin", members=[colleague])
    upsert_contact(admin_user.account, email="known@client.example", owner=colleague)
    first = _book(client, page, next_day_at(10), "known@client.example").json()
    assert Booking.objects.get(pk=first["id"]).host == colleague  # the contact's owner
    second = _book(client, page, next_day_at(10), "new@client.example")
    assert second.status_code == 201  # the other host is still free at 10:00
    assert Booking.objects.get(pk=second.json()["id"]).host == admin_user
    third = _book(client, page, next_day_at(10), "late@client.example")
    assert third.status_code == 409  # everyone is taken at 10:00
