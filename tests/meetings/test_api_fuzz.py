"""A property-based fuzzer (schemathesis) against the running app, over every operation of
the public OpenAPI document (scheduler/api/openapi.json): never a 5xx, and every answer as
the document says (status codes, content types, JSON schemas)."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from meetings.models import Booking, HostReservation
from tests.meetings.conftest import next_day_at

DOCUMENT = Path(__file__).resolve().parents[2] / "scheduler" / "api" / "openapi.json"
schema = schemathesis.openapi.from_path(DOCUMENT)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TOKEN = "fuzzBookingTokenExample0000000000000000000"  # the document's example token
CHAT_KEY, CHAT_VISITOR = "fuzzChatWidgetKey0000000", "fuzzChatVisitor00000000000000000"


@dataclass
class Target:
    base_url: str
    session: requests.Session
    headers: dict


@pytest.fixture
def target(live_server, transactional_db, make_page, admin_user, connect_user, settings):
    """The app with what the document's examples name: page `fuzz-page` of a host with a
    connected (sandbox) calendar, and a confirmed booking whose manage token is TOKEN."""
    settings.APP_BASE_URL = live_server.url
    settings.BOOKING_RATE_LIMIT = settings.SLOTS_RATE_LIMIT = "100000/m"
    connect_user(admin_user)
    page = make_page(admin_user, slug="fuzz-page", questions=[{"label": "Topic"}])
    start = next_day_at(11)
    booking = Booking.objects.create(
        page=page,
        host=admin_user,
        start=start,
        end=start + timedelta(minutes=30),
        status=Booking.Status.CONFIRMED,
        email="fuzz@client.example",
        first_name="Fuzz",
        last_name="Er",
        timezone="UTC",
        manage_token=TOKEN,
    )
    HostReservation.objects.create(
        booking=booking, host=admin_user, start=booking.start, end=booking.end
    )
    _chat_widget(admin_user, page, settings)
    session = requests.Session()
    session.get(f"{live_server.url}/meetings/fuzz-page", timeout=10).raise_for_status()
    token = session.cookies["csrftoken"]
    return Target(live_server.url, session, {"X-CSRFToken": token, "Referer": live_server.url})


def _chat_widget(owner, page, settings) -> None:
    """The chat widget and visitor the document's examples name, with a meeting link."""
    from chat.models import ChatProfile, ChatWidget, Conversation
    from chat.visitors import digest

    settings.CHAT_VISITOR_RATE_LIMIT = settings.CHAT_IP_RATE_LIMIT = "100000/m"
    settings.CHAT_NEW_CONVERSATION_RATE_LIMIT = "100000/m"
    ChatProfile.objects.create(user=owner, include_meeting_link=True, meeting_page=page)
    ChatWidget.objects.create(account=owner.account, key=CHAT_KEY, owner=owner)
    Conversation.objects.create(
        account=owner.account, visitor_hash=digest(CHAT_VISITOR), assignee=owner
    )


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_public_api_never_fails_and_keeps_to_its_document(case, target):
    response = case.call(
        base_url=target.base_url,
        session=target.session,
        headers=target.headers,
        allow_redirects=False,
        timeout=30,
    )
    case.validate_response(response, checks=CHECKS)
