"""Scheduling pages on custom domains, slugs unique across domains, robots.txt."""

import json

import pytest

from meetings import urlrules
from meetings.models import MeetingSettings
from scheduler.models import Domain
from tests.meetings.conftest import next_day_at


@pytest.fixture
def domain(account):
    return Domain.objects.create(account=account, hostname="meet.acme.example", verified=True)


def test_a_page_is_served_on_a_verified_custom_domain(client, offline_page, domain):
    response = client.get(f"/meetings/{offline_page.slug}", HTTP_HOST="meet.acme.example")
    assert response.status_code == 200 and offline_page.name in response.content.decode()


def test_a_custom_domain_serves_nothing_but_scheduling_pages(client, domain, admin_user):
    client.force_login(admin_user)
    assert client.get("/app/meetings/", HTTP_HOST="meet.acme.example").status_code == 404
    assert client.get("/admin/", HTTP_HOST="meet.acme.example").status_code == 404


@pytest.mark.parametrize("host", ["evil.example", "meet.unverified.example"])
def test_unknown_or_unverified_hosts_are_refused(client, account, host, offline_page):
    Domain.objects.create(account=account, hostname="meet.unverified.example", verified=False)
    response = client.get(f"/meetings/{offline_page.slug}", HTTP_HOST=host)
    assert response.status_code == 400


def test_robots_txt_keeps_search_engines_off_meetings_on_a_custom_domain(client, domain):
    robots = client.get("/robots.txt", HTTP_HOST="meet.acme.example").content.decode()
    assert "Disallow: /meetings*" in robots
    domain.hide_meetings_from_search = False
    domain.save()
    assert (
        "Disallow" not in client.get("/robots.txt", HTTP_HOST="meet.acme.example").content.decode()
    )
    assert "Disallow: /app/" in client.get("/robots.txt").content.decode()


def test_a_slug_is_unique_across_all_domains(offline_page, make_page, make_user):
    assert urlrules.slug_taken(offline_page.slug.upper())
    other = make_user("someone@other.example")
    assert urlrules.new_page_slug(other, "Intro") != offline_page.slug


def test_changing_the_meeting_domain_updates_every_link(offline_page, admin_user, domain):
    assert urlrules.page_url(offline_page).startswith("http://")
    MeetingSettings.objects.create(user=admin_user, url_prefix="ada", domain=domain)
    assert (
        urlrules.page_url(offline_page) == f"https://meet.acme.example/meetings/{offline_page.slug}"
    )


def test_a_custom_domain_prefills_the_form_from_an_earlier_booking(client, offline_page, domain):
    body = {
        "start": next_day_at(10).isoformat(),
        "duration": 30,
        "timezone": "UTC",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "cora@client.example",
    }
    response = client.post(
        f"/meetings/{offline_page.slug}/book",
        json.dumps(body),
        content_type="application/json",
        HTTP_HOST="meet.acme.example",
    )
    assert response.status_code == 201
    page = client.get(f"/meetings/{offline_page.slug}", HTTP_HOST="meet.acme.example")
    assert 'value="cora@client.example"' in page.content.decode()
    # The app's own host never remembers visitors (it is shared by every account).
    assert (
        'value="cora@client.example"'
        not in client.get(f"/meetings/{offline_page.slug}").content.decode()
    )
