"""Meeting links follow the owner's meeting domain everywhere (SPEC §1.7), and prefill."""

import json

import pytest
from django.core import mail

from chat.models import ChatProfile
from meetings.models import Booking, MeetingSettings
from scheduler.models import Domain
from tests.meetings.conftest import next_day_at

HOST = "meet.acme.example"


@pytest.fixture
def domain(account):
    return Domain.objects.create(
        account=account, hostname=HOST, verified=True, status=Domain.Status.VERIFIED
    )


@pytest.fixture
def on_domain(admin_user, domain, offline_page, settings):
    settings.APP_BASE_URL = "https://app.meetings.test"
    return MeetingSettings.objects.create(
        user=admin_user, url_prefix="ada", domain=domain, default_page=offline_page
    )


def book(client, page, capture, **extra):
    body = {
        "start": next_day_at(10).isoformat(),
        "duration": 30,
        "timezone": "UTC",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "cora@client.example",
    }
    with capture(execute=True):
        return client.post(
            f"/meetings/{page.slug}/book",
            json.dumps(body),
            content_type="application/json",
            **extra,
        )


def test_app_pages_show_links_on_the_meeting_domain(
    admin_client, admin_user, offline_page, on_domain
):
    url = f"https://{HOST}/meetings/{offline_page.slug}"
    assert url in admin_client.get("/app/meetings/").content.decode()
    assert url in admin_client.get(f"/app/meetings/pages/{offline_page.pk}/").content.decode()
    ChatProfile.objects.create(
        user=admin_user, include_meeting_link=True, meeting_page=offline_page
    )
    calendar = admin_client.get("/app/settings/general/calendar/").content.decode()
    assert f'Default meeting link: <a href="{url}"' in calendar
    assert f'The chat window links to <a href="{url}"' in calendar
    assert f"https://{HOST}/meetings/ada" in calendar


def test_booking_emails_and_ics_carry_manage_links_on_the_meeting_domain(
    client, offline_page, on_domain, django_capture_on_commit_callbacks
):
    response = book(client, offline_page, django_capture_on_commit_callbacks, HTTP_HOST=HOST)
    assert response.status_code == 201
    booking = Booking.objects.get()
    manage = f"https://{HOST}/meetings/manage/{booking.manage_token}/"
    assert mail.outbox and all(manage in m.body for m in mail.outbox if "cora" in m.to[0])
    ics = client.get(f"/meetings/manage/{booking.manage_token}/meeting.ics").content.decode()
    assert manage in ics.replace("\r\n ", "")
    # The manage link works on the domain it points to.
    assert client.get(manage.removeprefix(f"https://{HOST}"), HTTP_HOST=HOST).status_code == 200


def test_without_a_meeting_domain_links_stay_on_the_app_host(
    client, offline_page, settings, django_capture_on_commit_callbacks
):
    settings.APP_BASE_URL = "https://app.meetings.test"
    book(client, offline_page, django_capture_on_commit_callbacks)
    token = Booking.objects.get().manage_token
    assert any(f"https://app.meetings.test/meetings/manage/{token}/" in m.body for m in mail.outbox)


def test_the_app_host_page_redirects_permanently_to_the_meeting_domain(
    client, offline_page, on_domain, django_capture_on_commit_callbacks
):
    response = client.get(f"/meetings/{offline_page.slug}?firstname=Cora")
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/meetings/{offline_page.slug}?firstname=Cora"
    # The JSON endpoints keep answering on both hosts.
    day = next_day_at(0).date().isoformat()
    slots = client.get(f"/meetings/{offline_page.slug}/slots", {"start": day, "end": day})
    assert slots.status_code == 200
    assert book(client, offline_page, django_capture_on_commit_callbacks).status_code == 201
    assert client.get(f"/meetings/{offline_page.slug}", HTTP_HOST=HOST).status_code == 200


def test_a_failing_domain_past_its_grace_period_stops_redirecting(client, offline_page, on_domain):
    Domain.objects.update(verified=False, status=Domain.Status.FAILING)
    assert client.get(f"/meetings/{offline_page.slug}").status_code == 200


# --- Prefill --------------------------------------------------------------------------


def test_url_parameters_prefill_the_form_on_any_host(client, offline_page, domain):
    page = client.get(
        f"/meetings/{offline_page.slug}",
        {"firstname": "Cora", "lastname": "Contact", "email": "cora@client.example"},
    ).content.decode()
    assert 'value="Cora"' in page and 'value="Contact"' in page
    assert 'value="cora@client.example"' in page
    assert "Not Cora?" not in page  # nothing was remembered
    bad = client.get(
        f"/meetings/{offline_page.slug}", {"email": "not-an-email", "firstname": "<b>x</b>"}
    ).content.decode()
    assert 'value="not-an-email"' not in bad and "<b>x</b>" not in bad


def test_a_visitor_clears_the_remembered_details(
    client, offline_page, domain, django_capture_on_commit_callbacks
):
    book(client, offline_page, django_capture_on_commit_callbacks, HTTP_HOST=HOST)
    page = client.get(f"/meetings/{offline_page.slug}", HTTP_HOST=HOST).content.decode()
    assert 'value="cora@client.example"' in page and "Not Cora?" in page
    # URL parameters win over what was remembered.
    other = client.get(
        f"/meetings/{offline_page.slug}", {"email": "dan@client.example"}, HTTP_HOST=HOST
    ).content.decode()
    assert 'value="dan@client.example"' in other
    response = client.post(f"/meetings/{offline_page.slug}/forget", HTTP_HOST=HOST)
    assert response.status_code == 303 and response["Location"] == f"/meetings/{offline_page.slug}"
    assert response.cookies["meetings_visitor"]["max-age"] == 0
    page = client.get(f"/meetings/{offline_page.slug}", HTTP_HOST=HOST).content.decode()
    assert "cora@client.example" not in page and "Not Cora?" not in page
    assert client.get(f"/meetings/{offline_page.slug}/forget", HTTP_HOST=HOST).status_code == 405


def test_a_tampered_visitor_cookie_is_ignored(client, offline_page, domain):
    client.cookies["meetings_visitor"] = "not-signed"
    response = client.get(f"/meetings/{offline_page.slug}", HTTP_HOST=HOST)
    assert response.status_code == 200 and "Not " not in response.content.decode()
