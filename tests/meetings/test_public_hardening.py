"""Bad and hostile input on the public side gets a clear answer, never a 500 or a side effect."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from meetings.models import Booking, MeetingSettings
from scheduler.models import Domain
from tests.meetings.conftest import next_day_at


def _book(client, page, when, **fields):
    body = {
        "start": when.isoformat() if hasattr(when, "isoformat") else when,
        "duration": 30,
        "timezone": "UTC",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "cora@client.example",
        **fields,
    }
    return client.post(
        f"/meetings/{page.slug}/book", json.dumps(body), content_type="application/json"
    )


def test_the_reschedule_target_comes_from_the_server_never_the_address_bar(client, live_page):
    hostile = "..%2F..%2Fapp%2Fsettings%2Fdomains%2F7%2Fdelete%2F%3F"
    page = client.get(f"/meetings/{live_page.slug}?reschedule={hostile}").content.decode()
    assert "data-reschedule-url" not in page
    booking_id = _book(client, live_page, next_day_at(10)).json()["id"]
    token = Booking.objects.get(pk=booking_id).manage_token
    page = client.get(f"/meetings/{live_page.slug}?reschedule={token}").content.decode()
    assert f'data-reschedule-url="/meetings/manage/{token}/reschedule"' in page
    assert 'data-reschedule-duration="30"' in page


def test_a_custom_domain_serves_only_its_own_accounts_pages(client, offline_page, make_account):
    other = make_account("Other")
    Domain.objects.create(account=other, hostname="meet.other.example", verified=True)
    response = client.get(f"/meetings/{offline_page.slug}", HTTP_HOST="meet.other.example")
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["Eve\nBcc: x@y.example", "Tab\there", "Nul\x00l"])
def test_control_characters_in_names_are_refused(client, offline_page, name):
    response = _book(client, offline_page, next_day_at(10), first_name=name)
    assert response.status_code == 400 and "first_name" in response.json()["errors"]


def test_plain_text_emails_are_not_html_escaped(
    client, offline_page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _book(client, offline_page, next_day_at(10), last_name="O'Brien & Sons")
    body = next(m for m in mail.outbox if m.to == [offline_page.owner.email]).body
    assert "O'Brien & Sons" in body


@pytest.mark.parametrize(
    "params",
    [
        {"start": "9999-12-31", "end": "9999-12-31"},
        {"start": "0001-01-01", "end": "0001-01-02", "tz": "Asia/Tokyo"},
    ],
)
def test_extreme_dates_in_the_slots_query_are_a_400(client, offline_page, params):
    response = client.get(f"/meetings/{offline_page.slug}/slots", {"tz": "UTC", **params})
    assert response.status_code == 400


@pytest.mark.parametrize("start", ["9999-12-31T23:45:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_extreme_booking_times_are_a_400(client, offline_page, start):
    assert _book(client, offline_page, start).status_code == 400


def test_page_limits_are_validated(admin_client):
    from tests.meetings.test_pages import _form

    for field, value in [
        ("max_advance_days", "2147483647"),
        ("buffer_before", "99999"),
        ("increment", "0"),
        ("slug", "a/b"),
    ]:
        response = admin_client.post("/app/meetings/pages/new/", _form(**{field: value}))
        assert response.status_code == 400, field
        assert field in response.context["form"].errors


def test_the_why_view_survives_far_away_dates(admin_client, offline_page):
    response = admin_client.get(
        f"/app/meetings/pages/{offline_page.pk}/why/", {"when": "9999-12-31T23:59"}
    )
    assert response.status_code == 400


def test_a_meeting_that_already_started_cannot_be_cancelled(client, live_page):
    booking_id = _book(client, live_page, next_day_at(10)).json()["id"]
    Booking.objects.filter(pk=booking_id).update(
        start=timezone.now() - timedelta(hours=2), end=timezone.now() - timedelta(hours=1)
    )
    token = Booking.objects.get(pk=booking_id).manage_token
    response = client.post(f"/meetings/manage/{token}/cancel")
    assert response.status_code == 400
    assert Booking.objects.get(pk=booking_id).status == "confirmed"


def test_rescheduling_respects_pages_turned_off(client, live_page, admin_user):
    booking_id = _book(client, live_page, next_day_at(10)).json()["id"]
    token = Booking.objects.get(pk=booking_id).manage_token
    MeetingSettings.objects.create(user=admin_user, url_prefix="ada", pages_enabled=False)
    response = client.post(
        f"/meetings/manage/{token}/reschedule",
        json.dumps({"start": next_day_at(12).isoformat()}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert Booking.objects.get(pk=booking_id).start == next_day_at(10)


def test_a_malformed_graph_notification_is_ignored(client, db):
    response = client.post(
        "/webhooks/calendar/microsoft/",
        json.dumps({"value": [1, "x", None]}),
        content_type="application/json",
    )
    assert response.status_code == 202
