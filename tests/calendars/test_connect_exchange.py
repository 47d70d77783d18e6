"""The Exchange connect dialog: credentials checked against the server before anything is saved."""

import socket

import pytest
import requests
from django.db import connection as db
from django.urls import reverse

from calendars.models import CalendarConnection

URL = "/app/settings/general/calendar/connect/exchange/"
EMAIL = "owner@exchange.example"


@pytest.fixture
def mailbox(sandbox_client):
    return sandbox_client.mailbox(
        "exchange",
        EMAIL,
        password="S3cret-pass",
        timezone="Europe/Warsaw",
        # The mailbox's own second calendar: EWS lists a mailbox's own folders only (shared
        # calendars are opened by delegate access, see sandbox/README.md).
        calendars=[{"id": "team-cal", "name": "Team", "access": "owner"}],
    )


def _post(client, sandbox, **fields):
    data = {
        "email": EMAIL,
        "password": "S3cret-pass",
        "username": "",
        "ews_url": f"{sandbox.http_url}/EWS/Exchange.asmx",
        "version": "",
        "accept": "on",
        **fields,
    }
    return client.post(URL, data)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_exchange_connects_and_lists_calendars(admin_client, admin_user, sandbox, mailbox):
    response = _post(admin_client, sandbox)
    assert response.status_code == 302 and response.url == reverse("meetings:dashboard")
    connection = CalendarConnection.objects.get(user=admin_user)
    assert connection.provider == "exchange" and connection.account_email == EMAIL
    assert {c.name for c in connection.calendars.all()} >= {"Team"}
    assert not connection.calendar_sync  # on by default only for Google and Microsoft 365
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials_json FROM calendars_calendarconnection WHERE id = %s",
            [connection.pk],
        )
        (raw,) = cursor.fetchone()
    assert "S3cret-pass" not in raw and connection.credentials["password"] == "S3cret-pass"


def test_a_wrong_password_gets_its_own_message(admin_client, sandbox, mailbox):
    response = _post(admin_client, sandbox, password="wrong")
    assert response.status_code == 400
    assert "refused this email, username and password" in response.content.decode()
    assert not CalendarConnection.objects.exists()


def test_an_unreachable_url_gets_its_own_message(admin_client, sandbox, mailbox):
    url = f"http://127.0.0.1:{_closed_port()}/EWS/Exchange.asmx"
    response = _post(admin_client, sandbox, ews_url=url)
    assert response.status_code == 400
    assert "Could not reach the server" in response.content.decode()


def test_a_url_that_is_not_ews_gets_its_own_message(admin_client, sandbox, mailbox):
    response = _post(admin_client, sandbox, ews_url=f"{sandbox.http_url}/owa/")
    assert response.status_code == 400
    assert "not an Exchange Web Services" in response.content.decode()


def test_a_server_older_than_2010_sp2_is_refused(admin_client, sandbox, mailbox):
    requests.patch(
        f"{sandbox.http_url}/_sandbox/exchange/mailboxes/{EMAIL}",
        json={"server_version": "14.1.218.15"},
        timeout=10,
    ).raise_for_status()
    response = _post(admin_client, sandbox)
    assert response.status_code == 400
    assert "Exchange 2010 SP2 or newer is required" in response.content.decode()
    assert not CalendarConnection.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/EWS/Exchange.asmx",
        "https://169.254.169.254/EWS/Exchange.asmx",
        "https://10.0.0.5/EWS/Exchange.asmx",
        "http://mail.example.com/EWS/Exchange.asmx",
    ],
)
def test_private_addresses_and_plain_http_are_refused_without_the_setting(
    admin_client, sandbox, mailbox, settings, url
):
    settings.EXCHANGE_ALLOW_PRIVATE_URLS = False
    response = _post(admin_client, sandbox, ews_url=url)
    assert response.status_code == 400
    errors = response.context["form"].errors["ews_url"]
    assert errors and not CalendarConnection.objects.exists()


def test_the_gate_applies_to_exchange_too(member_client, sandbox, mailbox):
    assert member_client.get(URL).status_code == 403
    assert _post(member_client, sandbox).status_code == 403
