import html
import re
from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse

from calendars.models import CalendarConnection

MAILBOX = "owner@acme.example"


@pytest.fixture
def google_mailbox(sandbox_client):
    return sandbox_client.mailbox(
        "google",
        MAILBOX,
        timezone="America/New_York",
        calendars=[
            {"id": "team-cal", "name": "Team", "access": "writer"},
            {"id": "boss-cal", "name": "Boss", "access": "reader"},
            {"id": "room-cal", "name": "Room", "access": "freeBusyReader"},
        ],
    )


def consent(authorize_url: str, decision: str = "allow", email: str = MAILBOX) -> str:
    """Answer the sandbox's consent page as the user would; returns the app callback path."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200 and "Allow" in page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    hidden = {name: html.unescape(value) for name, value in hidden.items()}
    answer = requests.post(
        authorize_url,
        data={**hidden, "email": email, "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code in (302, 303), answer.text
    location = urlsplit(answer.headers["Location"])
    return f"{location.path}?{location.query}"


@pytest.fixture
def connect_google(client, google_mailbox, settings):
    """Run the whole Google connect flow for the signed-in test client."""

    def run(decision: str = "allow"):
        start = client.post(reverse("settings:calendar_connect", args=["google"]))
        assert start.status_code == 302
        return client.get(consent(start.url, decision))

    return run


@pytest.fixture
def connection(admin_client, admin_user, connect_google) -> CalendarConnection:
    response = connect_google()
    assert response.status_code == 302, response.content
    return CalendarConnection.objects.get(user=admin_user)
