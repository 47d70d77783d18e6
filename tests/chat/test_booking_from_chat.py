"""A visitor books from the chat: the booking and its CRM meeting carry source "chat", and
the conversation shows (and links to) it."""

import pytest
import time_machine
from django.urls import reverse

from chat.models import Conversation, Message
from crm.models import Contact, Meeting
from meetings.models import Booking
from tests.chat.conftest import WEBSITE, WidgetVisitor
from tests.meetings.conftest import next_day_at


@pytest.fixture
def chat_link(chat_profile):
    def turn_on(page):
        chat_profile.meeting_page = page
        chat_profile.include_meeting_link = True
        chat_profile.save()
        return page

    return turn_on


def booking_payload(**fields) -> dict:
    payload = {
        "start": next_day_at(10).isoformat(),
        "duration": 30,
        "timezone": "Europe/Warsaw",
        "first_name": "Cora",
        "last_name": "Contact",
        "email": "cora@client.example",
    }
    payload.update(fields)
    return payload


def open_booking(visitor: WidgetVisitor) -> str:
    response = visitor.post("booking_link")
    assert response.status_code == 201, response.content
    return response.json()["url"].split("/book/", 1)[1]


def test_a_booking_from_the_chat_is_attributed_to_it(client, widget, chat_link, live_page):
    chat_link(live_page)
    visitor = WidgetVisitor(client, widget.key)
    visitor.send("Can we talk tomorrow?")
    token = open_booking(visitor)

    page = client.get(reverse("chat_widget:book", args=[widget.key, token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-book-url="/chat/w/{widget.key}/book/{token}"' in html
    assert 'data-embed="1"' in html and 'data-parent-origins="http://testserver"' in html
    assert f"frame-ancestors 'self' {WEBSITE}" in page["Content-Security-Policy"]

    response = visitor.post("book", booking_payload(), args=[token])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "confirmed" and body["page"] == live_page.slug
    assert body["start"].endswith("+01:00") or body["start"].endswith("+02:00")  # Warsaw

    booking = Booking.objects.get()
    assert booking.source == Booking.Source.CHAT
    meeting = Meeting.objects.get(pk=booking.crm_meeting_id)
    assert meeting.source == Meeting.Source.CHAT and meeting.get_source_display() == "Chat"
    conversation = Conversation.objects.get()
    note = conversation.messages.get(author=Message.Author.SYSTEM)
    assert note.booking == booking
    assert note.body.startswith(f"Meeting booked: {live_page.name}, ")
    assert "(Europe/Warsaw)" in note.body
    assert conversation.contact == Contact.objects.get(email="cora@client.example")
    assert conversation.visitor_label == "Cora Contact"

    shown = visitor.poll().json()["messages"][-1]
    assert shown["author"] == "system" and shown["booking"]["status"] == "confirmed"
    assert shown["booking"]["manage_url"].endswith(f"/meetings/manage/{booking.manage_token}/")


def test_a_booking_on_the_page_itself_keeps_source_page(client, live_page):
    response = client.post(
        reverse("public:book", args=[live_page.slug]),
        booking_payload(),
        content_type="application/json",
    )
    assert response.status_code == 201
    booking = Booking.objects.get()
    assert booking.source == Booking.Source.PAGE
    assert Meeting.objects.get(pk=booking.crm_meeting_id).source == Meeting.Source.BOOKING


def test_offline_the_chat_shows_a_meeting_request(client, widget, chat_link, offline_page):
    chat_link(offline_page)
    visitor = WidgetVisitor(client, widget.key)
    token = open_booking(visitor)
    response = visitor.post("book", booking_payload(), args=[token])
    assert response.status_code == 201 and response.json()["status"] == "requested"
    note = Message.objects.get(author=Message.Author.SYSTEM)
    assert note.body.startswith("Meeting requested: ")
    assert Booking.objects.get().source == Booking.Source.CHAT


def test_the_prefilled_form_uses_what_the_visitor_told(client, widget, chat_link, offline_page):
    chat_link(offline_page)
    visitor = WidgetVisitor(client, widget.key)
    visitor.send("Hi")
    visitor.post("contact", {"email": "cora@client.example", "name": "Cora Contact"})
    token = open_booking(visitor)
    html = client.get(reverse("chat_widget:book", args=[widget.key, token])).content.decode()
    assert 'value="cora@client.example"' in html and 'value="Cora"' in html


def test_bad_booking_input_gets_field_errors(client, widget, chat_link, offline_page):
    chat_link(offline_page)
    visitor = WidgetVisitor(client, widget.key)
    token = open_booking(visitor)
    response = visitor.post("book", booking_payload(email="nope", start="tomorrow"), args=[token])
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "start"}
    assert visitor.post("book", raw="[]", args=[token]).status_code == 400
    assert not Booking.objects.exists()


def test_a_booking_link_expires_and_cannot_be_forged(client, widget, chat_link, offline_page):
    chat_link(offline_page)
    visitor = WidgetVisitor(client, widget.key)
    with time_machine.travel("2030-01-06 10:00 +00:00", tick=False):
        token = open_booking(visitor)
        url = reverse("chat_widget:book", args=[widget.key, token])
        assert client.get(url).status_code == 200
    with time_machine.travel("2030-01-07 10:01 +00:00", tick=False):
        expired = client.get(url)
        assert expired.status_code == 404 and b"expired" in expired.content
        # Shown inside the widget, so framed like the booking page.
        assert f"frame-ancestors 'self' {WEBSITE}" in expired["Content-Security-Policy"]
        assert visitor.post("book", booking_payload(), args=[token]).status_code == 404
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(reverse("chat_widget:book", args=[widget.key, forged])).status_code == 404
