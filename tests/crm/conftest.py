import pytest

from crm.models import Contact
from tests.calendars.conftest import *  # noqa: F403  (the sandbox `connection` and its setup)

MAILBOX = "owner@acme.example"


@pytest.fixture
def contact(account) -> Contact:
    return Contact.objects.create(
        account=account, email="Ada@Client.example", first_name="Ada", last_name="Lovelace"
    )


@pytest.fixture
def primary(connection):
    return connection.calendars.get(is_primary=True)
