from datetime import UTC, datetime, timedelta

import pytest

from crm.models import Contact
from tests.calendars.conftest import *  # noqa: F403  (the sandbox `connection` and its setup)

MAILBOX = "owner@acme.example"


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """A whole hour `days` from today, in UTC."""
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days, hours=hour, minutes=minute)


@pytest.fixture
def contact(account) -> Contact:
    return Contact.objects.create(
        account=account, email="Ada@Client.example", first_name="Ada", last_name="Lovelace"
    )


@pytest.fixture
def primary(connection):
    return connection.calendars.get(is_primary=True)
