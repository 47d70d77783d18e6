from datetime import UTC, datetime, timedelta

import pytest

from meetings.models import SchedulingPage
from tests.calendars.conftest import MAILBOX, connect_google, connection, google_mailbox  # noqa: F401
from tests.support.times import at

EVERY_DAY = {str(day): [["08:00", "18:00"]] for day in range(7)}


def next_day_at(hour: int, days: int = 2) -> datetime:
    return at(days, hour)


@pytest.fixture
def make_page(db):
    def make(owner, **fields) -> SchedulingPage:
        values = {
            "account": owner.account,
            "owner": owner,
            "name": "Intro call",
            "slug": f"intro-{owner.pk}",
            "timezone": "UTC",
            "weekly_hours": EVERY_DAY,
            "durations": [30, 60],
            "min_notice": 0,
            "increment": 30,
        }
        values.update(fields)
        members = values.pop("members", [])
        page = SchedulingPage.objects.create(**values)
        page.members.set(members)
        return page

    return make


@pytest.fixture
def offline_page(make_page, admin_user):
    return make_page(admin_user)


@pytest.fixture
def live_page(make_page, admin_user, connection):  # noqa: F811
    return make_page(admin_user)


@pytest.fixture
def connect_user(sandbox_client, settings):
    """Give a user a connected sandbox Google calendar (tokens from the control API)."""
    from datetime import datetime

    from calendars.connections import create_connection

    def connect(user):
        mailbox = f"{user.email.split('@')[0]}@calendar.example"
        sandbox_client.mailbox("google", mailbox)
        tokens = sandbox_client._call(
            "POST",
            "/tokens",
            json={
                "provider": "google",
                "email": mailbox,
                "client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET,
            },
        )
        credentials = {
            "token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expiry": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }
        return create_connection(user, "google", credentials)

    return connect
