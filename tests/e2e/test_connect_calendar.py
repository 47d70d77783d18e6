"""Connecting a calendar in the browser, through the sandbox's consent pages."""

import socket

import pytest

from calendars.models import CalendarConnection
from tests.conftest import PASSWORD
from tests.support.browser import sign_in


@pytest.fixture
def signed_in(page, live_server, admin_user, settings, sandbox_client):
    settings.APP_BASE_URL = live_server.url  # the exact redirect URI the provider returns to
    sign_in(page, admin_user.email, PASSWORD)
    return page


@pytest.fixture
def google_mailbox(sandbox_client):
    return sandbox_client.mailbox(
        "google",
        "owner@acme.example",
        calendars=[{"id": "team-cal", "name": "Team", "access": "writer"}],
    )


def _start(page, provider_label: str):
    page.goto("/app/settings/general/calendar/")
    page.get_by_role("link", name=f"Connect {provider_label}").click()
    assert page.get_by_text("Read every calendar").is_visible()
    page.get_by_role("button", name=f"Accept and continue to {provider_label}").click()


@pytest.mark.e2e
def test_connect_google_through_the_consent_page(signed_in, google_mailbox, admin_user, sandbox):
    page = signed_in
    _start(page, "Google")
    page.wait_for_url(f"{sandbox.http_url}/**")
    page.get_by_label("Account").select_option("owner@acme.example")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("**/app/meetings/")
    assert page.get_by_text("Google calendar connected").is_visible()
    chips = page.get_by_role("list", name="Your calendars")
    assert chips.get_by_text("owner@acme.example · main").is_visible()
    assert chips.get_by_text("Team").is_visible()
    assert CalendarConnection.objects.get(user=admin_user).status == "active"


@pytest.mark.e2e
def test_deny_on_the_consent_page_comes_back_with_a_clear_message(
    signed_in, google_mailbox, sandbox
):
    page = signed_in
    _start(page, "Google")
    page.wait_for_url(f"{sandbox.http_url}/**")
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url("**/app/settings/general/calendar/")
    assert page.get_by_text("You did not allow access to your Google calendar").is_visible()
    assert not CalendarConnection.objects.exists()


@pytest.fixture
def microsoft_mailbox(sandbox_client):
    return sandbox_client.mailbox(
        "microsoft",
        "owner@acme.example",
        calendars=[{"id": "team-cal", "name": "Team", "access": "writer"}],
    )


@pytest.mark.e2e
def test_connect_microsoft_365_through_the_consent_page(
    browser_page, live_server, admin_user, settings, microsoft_mailbox, sandbox
):
    settings.APP_BASE_URL = live_server.url
    # The sandbox's identity platform is https with its own throw-away CA.
    page = browser_page(live_server.url, ignore_https_errors=True)
    sign_in(page, admin_user.email, PASSWORD)
    _start(page, "Microsoft 365")
    page.wait_for_url(f"{sandbox.https_url}/**")
    page.get_by_label("Account").select_option("owner@acme.example")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("**/app/meetings/")
    assert page.get_by_text("Microsoft 365 calendar connected").is_visible()
    chips = page.get_by_role("list", name="Your calendars")
    assert chips.get_by_text("Team").is_visible()
    connection = CalendarConnection.objects.get(user=admin_user)
    assert connection.provider == "microsoft" and connection.calendars.count() >= 2


@pytest.mark.e2e
def test_connect_exchange_with_clear_messages_for_mistakes(
    signed_in, sandbox_client, sandbox, admin_user
):
    sandbox_client.mailbox("exchange", "owner@exchange.example", password="S3cret-pass")
    page = signed_in
    page.goto("/app/settings/general/calendar/")
    page.get_by_role("link", name="Connect Exchange").click()
    page.get_by_label("Email address").fill("owner@exchange.example")
    page.get_by_label("EWS URL").fill(f"{sandbox.http_url}/EWS/Exchange.asmx")
    page.get_by_label("I allow Meetings").check()

    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Check and connect").click()
    assert page.get_by_text("The server refused this email, username and password").is_visible()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    page.get_by_label("EWS URL").fill(f"http://127.0.0.1:{closed}/EWS/Exchange.asmx")
    page.get_by_label("Password").fill("S3cret-pass")
    page.get_by_label("I allow Meetings").check()
    page.get_by_role("button", name="Check and connect").click()
    assert page.get_by_text("Could not reach the server").is_visible()
    assert not CalendarConnection.objects.exists()

    page.get_by_label("EWS URL").fill(f"{sandbox.http_url}/EWS/Exchange.asmx")
    page.get_by_label("Password").fill("S3cret-pass")
    page.get_by_label("I allow Meetings").check()
    page.get_by_role("button", name="Check and connect").click()
    page.wait_for_url("**/app/meetings/")
    assert page.get_by_text("Exchange calendar connected").is_visible()
    assert CalendarConnection.objects.get(user=admin_user).provider == "exchange"
