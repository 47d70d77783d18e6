"""Bad input of every kind gets a clear 4xx, never a 500 (issue: zero 5xx on every public
surface), and anonymous bookers never rewrite CRM records."""

import json
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from crm.models import Contact, Meeting
from crm.services import upsert_contact
from meetings.models import Booking
from scheduler.models import User
from tests.meetings.conftest import next_day_at


def _book(client, page, **fields):
    body = {
        "start": next_day_at(10).isoformat(),
        "duration": 30,
        "timezone": "Europe/Warsaw",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "cora@client.example",
        **fields,
    }
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/meetings/{page.slug}/book", data, content_type="application/json")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/meetings/%00", 404),
        ("/meetings/manage/%00/", 404),
        ("/meetings/manage/%00/meeting.ics", 404),
        ("/meetings/demo%00/slots", 404),
        ("/meetings/%ED%A0%80", 404),  # an encoded lone surrogate
        ("/app/contacts/?q=%00", 400),
        ("/meetings/manage/short/", 404),  # not a token at all
        ("/meetings/" + "x" * 300, 404),
    ],
)
def test_nul_and_malformed_paths_are_not_a_500(admin_client, path, status):
    assert admin_client.get(path).status_code == status


@pytest.mark.parametrize("tz", ["America", "Etc", "x" * 300, "../../etc/passwd", "Mars/Base"])
def test_time_zones_that_are_not_zones_are_a_400(client, offline_page, tz):
    day = next_day_at(0).date().isoformat()
    response = client.get(
        f"/meetings/{offline_page.slug}/slots", {"start": day, "end": day, "tz": tz}
    )
    assert response.status_code == 400 and "tz" in response.json()["errors"]
    booking = _book(client, offline_page, timezone=tz)
    assert booking.status_code == 400 and "timezone" in booking.json()["errors"]


def test_deeply_nested_and_oversized_json_bodies_are_refused(client, offline_page):
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(
        f"/meetings/{offline_page.slug}/book", deep, content_type="application/json"
    )
    assert response.status_code in (400, 413)
    nested = {"answers": {"a": {"b": {"c": {"d": {"e": {"f": {"g": "h"}}}}}}}}
    assert _book(client, offline_page, **nested).status_code == 400
    huge = _book(client, offline_page, first_name="x" * 40_000)
    assert huge.status_code == 413
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "Co\x00ra"),
        ("last_name", "Con\ud800tact"),
        ("answers", {"Topic": "Pri\x00cing"}),
        ("answers", {"Topic": "Pri\udfffcing"}),
        ("answers", {"Top\x00ic": "x"}),
    ],
)
def test_nul_and_lone_surrogates_in_text_are_a_400(client, make_page, admin_user, field, value):
    page = make_page(admin_user, questions=[{"label": "Topic", "required": False}])
    response = _book(client, page, **{field: value})
    assert response.status_code == 400, response.content
    assert not Booking.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(
    "answers",
    [
        "1" * 5000,  # a string Django's JSONField would parse again: a 4301+ digit integer
        "[" * 5000 + "]" * 5000,  # ... or a recursion past Python's limit
        '{"Topic": "x"}',  # an object in a string is not an object
        ["Topic", "x"],
    ],
)
def test_answers_that_are_not_an_object_are_a_400(client, make_page, admin_user, answers):
    page = make_page(admin_user, questions=[{"label": "Topic", "required": False}])
    response = _book(client, page, answers=answers)
    assert response.status_code == 400 and "answers" in response.json()["errors"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize("answer", [{"x": 1}, ["a"], True])
def test_an_answer_that_is_not_text_is_a_400(client, make_page, admin_user, answer):
    page = make_page(admin_user, questions=[{"label": "Topic", "required": False}])
    response = _book(client, page, answers={"Topic": answer})
    assert response.status_code == 400 and "answers" in response.json()["errors"]


@pytest.mark.parametrize("length", [255, 300, 320])
def test_emails_longer_than_the_column_are_a_400(client, offline_page, length):
    local = "a" * 64
    domain = ("d" * 60 + ".") * 5
    email = f"{local}@{domain}example"[:length]
    email = email[: length - 8] + ".example"
    assert len(email) == length
    response = _book(client, offline_page, email=email)
    assert response.status_code == 400 and "email" in response.json()["errors"]


@pytest.mark.parametrize("year", [1, 9999])
def test_rescheduling_to_year_1_or_9999_is_a_400(client, offline_page, year):
    booking_id = _book(client, offline_page).json()["id"]
    token = Booking.objects.get(pk=booking_id).manage_token
    start = f"{year:04d}-12-31T23:30:00+00:00"
    response = client.post(
        f"/meetings/manage/{token}/reschedule",
        json.dumps({"start": start}),
        content_type="application/json",
    )
    assert response.status_code == 400 and "start" in response.json()["errors"]


def test_extreme_overrides_in_the_page_editor_are_a_field_error(admin_client):
    response = admin_client.post(
        "/app/meetings/pages/new/",
        {
            "name": "Odd",
            "kind": "one_on_one",
            "durations_text": "30",
            "timezone": "UTC",
            "overrides_text": "0001-01-01: off",
            "buffer_before": "0",
            "buffer_after": "0",
            "min_notice": "0",
            "max_advance_days": "30",
            "increment": "30",
        },
    )
    assert response.status_code == 400
    assert "within a year ago and ten years ahead" in response.content.decode()


def test_a_long_email_at_sign_up_is_refused_not_cut_short(client, db):
    email = "a" * 60 + "@" + ("d" * 60 + ".") * 4 + "example"  # 312 characters
    assert len(email) == 312
    form = {
        "full_name": "Long Address",
        "company": "Long Co",
        "email": email,
        "password1": "a-long-enough-passphrase-123",
        "password2": "a-long-enough-passphrase-123",
        "timezone": "UTC",
    }
    for _ in range(2):  # the same sign-up twice: a form error both times, never a 500
        response = client.post("/accounts/signup/", form)
        assert response.status_code == 200
        assert "at most 254 characters" in response.content.decode()
    assert not User.objects.exists() and not EmailAddress.objects.exists()
    assert not mail.outbox


def test_an_anonymous_booking_never_renames_an_existing_contact(
    client, offline_page, django_capture_on_commit_callbacks
):
    grace = upsert_contact(
        offline_page.account, email="grace@client.example", first_name="Grace", last_name="Hopper"
    )
    response = _book(
        client,
        offline_page,
        email="GRACE@client.example",
        first_name="Call me at",
        last_name="+1-555-SCAM",
    )
    assert response.status_code == 201
    grace.refresh_from_db()
    assert (grace.first_name, grace.last_name) == ("Grace", "Hopper")
    booking = Booking.objects.get(pk=response.json()["id"])
    assert (booking.first_name, booking.last_name) == ("Call me at", "+1-555-SCAM")
    meeting = Meeting.objects.get(pk=booking.crm_meeting_id)
    assert "Call me at +1-555-SCAM" in meeting.description  # what they typed, on record


def test_an_anonymous_booking_fills_a_contacts_empty_fields(client, offline_page):
    upsert_contact(offline_page.account, email="new@client.example")
    assert _book(client, offline_page, email="new@client.example").status_code == 201
    contact = Contact.objects.get(email="new@client.example")
    assert (contact.first_name, contact.last_name) == ("Cora", "Contact")


def test_confirmation_mails_to_one_address_are_capped(
    client, make_page, admin_user, django_capture_on_commit_callbacks, settings
):
    settings.BOOKING_RATE_LIMIT = "1000/m"
    page = make_page(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(14):
            start = next_day_at(8) + timedelta(minutes=30 * n)
            assert _book(client, page, start=start.isoformat()).status_code == 201
    to_victim = [m for m in mail.outbox if m.to == ["cora@client.example"]]
    assert len(to_victim) == 10  # the rest are recorded as suppressed, not sent


def test_the_slots_endpoint_is_throttled_per_client(client, offline_page, settings):
    settings.SLOTS_RATE_LIMIT = "3/m"
    day = next_day_at(0).date()
    statuses = [
        client.get(
            f"/meetings/{offline_page.slug}/slots",
            {"start": day.isoformat(), "end": (day + timedelta(days=n)).isoformat()},
        ).status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
