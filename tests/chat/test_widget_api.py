"""The widget's public side: loader, frame, and the frame's calls (a visitor writes, reads
replies, leaves an email)."""

import re

import pytest
from django.urls import reverse

from chat import services
from chat.models import Conversation, Message
from crm.models import Contact
from scheduler.models import OutgoingEmail
from tests.chat.conftest import WEBSITE, WidgetVisitor


def test_the_loader_script_is_small_cacheable_and_needs_no_cors(client):
    response = client.get("/chat/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "public, max-age=3600"
    assert "Access-Control-Allow-Origin" not in response
    assert len(response.content) < 12_000
    again = client.get("/chat/widget.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_the_frame_may_be_framed_by_the_accounts_websites_only(client, widget):
    response = client.get(reverse("chat_widget:frame", args=[widget.key]))
    assert response.status_code == 200
    assert f"frame-ancestors {WEBSITE}" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    widget.account.embed_origins = []
    widget.account.save()
    response = client.get(reverse("chat_widget:frame", args=[widget.key]))
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_the_frame_shows_the_owners_chat_profile_and_the_meeting_link(
    client, widget, chat_profile, make_page
):
    chat_profile.photo_url = "https://cdn.acme.example/ada.png"
    chat_profile.meeting_page = make_page(widget.owner, name="Intro call")
    chat_profile.include_meeting_link = True
    chat_profile.save()
    response = client.get(reverse("chat_widget:frame", args=[widget.key]), {"origin": WEBSITE})
    html = response.content.decode()
    assert "Ada from Acme" in html and "Ask us anything!" in html
    assert 'src="https://cdn.acme.example/ada.png"' in html
    assert "https://cdn.acme.example" in response["Content-Security-Policy"]
    assert "Book a meeting" in html and "Intro call" in html
    assert f'data-parent-origin="{WEBSITE}"' in html
    # An origin the account did not allow is never trusted as the parent.
    other = client.get(
        reverse("chat_widget:frame", args=[widget.key]), {"origin": "https://evil.example"}
    )
    assert 'data-parent-origin=""' in other.content.decode()


def test_without_a_meeting_link_there_is_no_book_button(client, widget, chat_profile):
    html = client.get(reverse("chat_widget:frame", args=[widget.key])).content.decode()
    assert "Book a meeting" not in html
    response = WidgetVisitor(client, widget.key).post("booking_link")
    assert response.status_code == 404


def test_an_unknown_key_is_a_404(client, widget):
    assert client.get(reverse("chat_widget:frame", args=["nope"])).status_code == 404
    assert WidgetVisitor(client, "nope").send("Hello").status_code == 404


def test_a_visitor_writes_and_reads_the_conversation(visitor, widget, admin_user):
    first = visitor.send("Hello, do you ship to Poland?", origin=WEBSITE)
    assert first.status_code == 201
    visitor_id = first.json()["visitor"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", visitor_id)
    conversation = Conversation.objects.get()
    assert conversation.assignee == admin_user
    assert conversation.origin == WEBSITE
    assert conversation.visitor_hash != visitor_id  # only its digest is stored

    visitor.send("And to Norway?")
    assert Conversation.objects.count() == 1
    reply = services.post_reply(conversation, admin_user, "Yes, both.")

    polled = visitor.poll(after=first.json()["message"]["id"])
    assert polled.status_code == 200
    bodies = [(m["author"], m["body"]) for m in polled.json()["messages"]]
    assert bodies == [("visitor", "And to Norway?"), ("team", "Yes, both.")]
    assert polled.json()["messages"][-1]["name"] == admin_user.display_name
    assert visitor.poll(after=reply.pk).json()["messages"] == []


def test_a_new_visitor_sees_an_empty_chat(visitor):
    polled = visitor.poll()
    assert polled.json() == {"conversation": False, "messages": [], "read_upto": 0, "email": ""}


def test_the_poll_answers_in_three_queries(visitor, widget, admin_user, django_assert_num_queries):
    visitor.send("Hi")
    services.post_reply(Conversation.objects.get(), admin_user, "Hello!")
    with django_assert_num_queries(3):  # the widget, the conversation, its new messages
        assert len(visitor.poll().json()["messages"]) == 2


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"body": ""}, "body", "Write a message first."),
        ({"body": "   "}, "body", "Write a message first."),
        ({"body": "x" * 2001}, "body", "at most 2000"),
        ({"body": "bell\x07"}, "body", "control characters"),
        ({}, "body", "Write a message first."),
    ],
)
def test_bad_messages_get_field_errors(visitor, payload, field, message):
    response = visitor.post("messages", payload)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] and message in body["errors"][field]
    assert not Message.objects.exists()


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"'])
def test_a_body_that_is_not_a_json_object_is_a_400(visitor, raw):
    response = visitor.post("messages", raw=raw)
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": "Send a JSON object."}


def test_a_message_of_exactly_2000_characters_is_fine(visitor):
    assert visitor.send("x" * 2000).status_code == 201


def test_a_bad_after_is_a_400(visitor):
    visitor.send("Hi")
    response = visitor.client.get(
        visitor.url("messages"), {"after": "-1"}, HTTP_X_CHAT_VISITOR=visitor.visitor_id
    )
    assert response.status_code == 400 and "after" in response.json()["errors"]


def test_the_visitor_id_is_kept_in_a_cookie_of_the_frame(client, widget):
    visitor = WidgetVisitor(client, widget.key)
    response = visitor.send("Hi")
    cookie = response.cookies["chat_visitor"]
    assert cookie.value == visitor.visitor_id
    assert cookie["path"] == f"/chat/w/{widget.key}/"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"  # plain http: no SameSite=None
    frame = client.get(reverse("chat_widget:frame", args=[widget.key]))
    assert f'data-visitor="{visitor.visitor_id}"' in frame.content.decode()


def test_over_https_the_cookie_works_in_a_cross_site_frame(client, widget):
    visitor = WidgetVisitor(client, widget.key, HTTP_ORIGIN="https://testserver")
    response = client.post(
        visitor.url("messages"),
        {"body": "Hi"},
        content_type="application/json",
        secure=True,
        HTTP_ORIGIN="https://testserver",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 201
    header = response.cookies["chat_visitor"].output()
    assert "Secure" in header and "SameSite=None; Partitioned" in header


def test_a_visitor_who_leaves_an_email_becomes_a_contact(visitor, admin_user):
    visitor.send("Hi")
    response = visitor.post("contact", {"email": "Cora@Client.example", "name": "Cora Client"})
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name) == ("Cora", "Client")
    assert contact.owner == admin_user
    conversation = Conversation.objects.get()
    assert conversation.contact == contact and conversation.visitor_label == "Cora Client"
    assert visitor.poll().json()["email"] == "Cora@Client.example"


def test_an_existing_contact_is_linked_but_never_overwritten(visitor, admin_user):
    existing = Contact.objects.create(
        account=admin_user.account, email="cora@client.example", first_name="Cora", last_name="Real"
    )
    visitor.send("Hi")
    visitor.post("contact", {"email": "cora@client.example", "name": "Someone Else"})
    existing.refresh_from_db()
    assert (existing.first_name, existing.last_name) == ("Cora", "Real")
    assert Conversation.objects.get().contact == existing
    assert Contact.objects.count() == 1


def test_a_bad_email_gets_a_field_error(visitor):
    visitor.send("Hi")
    response = visitor.post("contact", {"email": "not an email"})
    assert response.status_code == 400 and "email" in response.json()["errors"]
    assert not Contact.objects.exists()


def test_the_owner_is_emailed_once_until_they_read(visitor, admin_user):
    visitor.send("Hi")
    visitor.send("Anyone there?")
    emails = OutgoingEmail.objects.filter(kind="chat.message").order_by("pk")
    assert [e.to for e in emails.all()] == [admin_user.email]
    conversation = Conversation.objects.get()
    services.mark_read_by_team(conversation, conversation.messages.last().pk)
    visitor.send("Hello again")
    assert emails.all().count() == 2
    assert f"/app/conversations/{conversation.pk}/" in emails.all().last().body


def test_the_visitor_marks_replies_read(visitor, admin_user):
    visitor.send("Hi")
    conversation = Conversation.objects.get()
    reply = services.post_reply(conversation, admin_user, "Hello!")
    assert visitor.poll().json()["read_upto"] == 0
    assert visitor.post("read", {"upto": reply.pk}).status_code == 204
    assert visitor.poll().json()["read_upto"] == reply.pk
    assert visitor.post("read", {"upto": "x"}).status_code == 400


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        ('{"body": "lone \\ud800 surrogate"}', 400, "body"),
        ('{"body": "nul \\u0000 here"}', 400, "body"),
        ('{"body": "x", "deep": [[[[[[[[1]]]]]]]]}', 400, "body"),
        ('{"body": "' + "x" * 20_000 + '"}', 413, "body"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_not_a_500(visitor, raw, status, field):
    response = visitor.post("messages", raw=raw)
    assert response.status_code == status and field in response.json()["errors"]
    assert not Message.objects.exists()


def test_an_email_with_a_lone_surrogate_is_a_400(visitor):
    visitor.send("Hi")
    response = visitor.post("contact", raw='{"email": "a@b.example", "name": "\\udc00"}')
    assert response.status_code == 400 and not Contact.objects.exists()
