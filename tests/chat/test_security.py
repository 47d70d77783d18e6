"""Cross-site requests, cross-account isolation, escaping and rate limits of the chat."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from chat import services
from chat.models import Conversation, Message
from crm.models import Contact
from scheduler.models import OutgoingEmail
from tests.chat.conftest import WidgetVisitor

HOSTILE = '<script>alert("x")</script><b>bold</b> & <img src=x onerror=alert(1)>'


# --- Cross-site requests (scheduler.csrf) ------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_ORIGIN": "http://testserver"},
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://www.acme.example"},
        {"HTTP_ORIGIN": "null"},
    ],
)
def test_a_page_on_another_site_cannot_post_to_the_widget(client, widget, headers):
    visitor = WidgetVisitor(client, widget.key)
    visitor.headers = headers
    response = visitor.send("Hello")
    assert response.status_code == 403
    assert response.json()["error"].startswith("Refused")
    assert not Conversation.objects.exists()


def test_without_fetch_metadata_django_s_token_check_applies(widget):
    """A client that sends neither Origin nor Sec-Fetch-Site (not a browser) gets Django's
    CSRF check, which wants the cookie and the token."""
    strict = Client(enforce_csrf_checks=True)
    visitor = WidgetVisitor(strict, widget.key)
    visitor.headers = {}
    assert visitor.send("Hello").status_code == 403
    assert not Conversation.objects.exists()


def test_a_trusted_origin_may_post(client, widget, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.acme.example"]
    visitor = WidgetVisitor(client, widget.key)
    visitor.headers = {
        "HTTP_ORIGIN": "https://app.acme.example",
        "HTTP_SEC_FETCH_SITE": "same-site",
    }
    assert visitor.send("Hello").status_code == 201


def test_the_public_booking_endpoint_refuses_other_sites(client, offline_page):
    response = client.post(
        reverse("public:book", args=[offline_page.slug]),
        "{}",
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    assert response.status_code == 403


# --- Cross-account isolation -------------------------------------------------------------


@pytest.fixture
def other_widget(make_user, make_account):
    from scheduler.models import User

    other = make_user("boss@globex.example", make_account("Globex"), role=User.Role.ADMIN)
    return services.widget_for(other.account)


def test_another_accounts_key_sees_nothing_of_a_visitor(client, widget, other_widget):
    ours = WidgetVisitor(client, widget.key)
    ours.send("Secret plans")
    # The same visitor id presented to another account's widget finds nothing...
    theirs = WidgetVisitor(client, other_widget.key, visitor_id=ours.visitor_id)
    assert theirs.poll().json()["conversation"] is False
    assert theirs.post("read", {"upto": 10**6}).status_code == 404
    # ...and writing there starts an unrelated conversation of that account.
    assert theirs.send("Hi Globex").status_code == 201
    assert theirs.visitor_id != ours.visitor_id
    globex = Conversation.objects.get(account=other_widget.account)
    assert [m.body for m in globex.messages.all()] == ["Hi Globex"]
    assert [m["body"] for m in ours.poll().json()["messages"]] == ["Secret plans"]


def test_another_visitor_id_sees_nothing(client, widget):
    WidgetVisitor(client, widget.key).send("Mine")
    stranger = WidgetVisitor(client, widget.key, visitor_id="A" * 32)
    assert stranger.poll().json()["messages"] == []
    forged = WidgetVisitor(client, widget.key, visitor_id="../../etc")
    assert forged.poll().json()["conversation"] is False


def test_a_booking_link_of_one_account_is_useless_to_another(
    client, widget, other_widget, chat_profile, make_page
):
    chat_profile.meeting_page = make_page(widget.owner)
    chat_profile.include_meeting_link = True
    chat_profile.save()
    visitor = WidgetVisitor(client, widget.key)
    url = visitor.post("booking_link").json()["url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert client.get(reverse("chat_widget:book", args=[widget.key, token])).status_code == 200
    assert (
        client.get(reverse("chat_widget:book", args=[other_widget.key, token])).status_code == 404
    )


def test_the_owner_of_one_account_cannot_open_anothers_conversation(
    client, widget, other_widget, admin_user
):
    WidgetVisitor(client, other_widget.key).send("Globex only")
    theirs = Conversation.objects.get(account=other_widget.account)
    client.force_login(admin_user)
    for name in ("chat:conversation", "chat:messages"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("chat:reply", "chat:read"):
        assert (
            client.post(reverse(name, args=[theirs.pk]), {"body": "x", "upto": 1}).status_code
            == 404
        )
    assert "Globex only" not in client.get(reverse("chat:conversations")).content.decode()
    assert "Globex only" not in client.get(reverse("chat:conversation_list")).content.decode()
    assert not Message.objects.filter(conversation=theirs, author="team").exists()


def test_the_inbox_needs_a_signed_in_user(client, widget):
    WidgetVisitor(client, widget.key).send("Hi")
    conversation = Conversation.objects.get()
    for url in (
        reverse("chat:conversations"),
        reverse("chat:conversation", args=[conversation.pk]),
    ):
        assert client.get(url).status_code == 302


# --- Escaping ----------------------------------------------------------------------------


def test_html_in_a_message_is_text_in_the_inbox_and_on_the_contact(client, widget, admin_user):
    visitor = WidgetVisitor(client, widget.key)
    visitor.send(HOSTILE)
    visitor.post("contact", {"email": "eve@client.example", "name": "<i>Eve</i>"})
    conversation = Conversation.objects.get()
    client.force_login(admin_user)
    pages = [
        client.get(reverse("chat:conversation", args=[conversation.pk])),
        client.get(reverse("chat:conversations")),
        client.get(reverse("crm:contact", args=[Contact.objects.get().pk])),
    ]
    for page in pages:
        html = page.content.decode()
        assert "<script>alert" not in html and "<b>bold</b>" not in html
        assert "<img src=x" not in html and "<i>Eve</i>" not in html
    thread = pages[0].content.decode()
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp;" in thread
    )
    assert "&lt;i&gt;Eve&lt;/i&gt;" in thread


def test_html_in_a_message_stays_plain_text_in_json_and_email(
    client, widget, django_capture_on_commit_callbacks
):
    visitor = WidgetVisitor(client, widget.key)
    with django_capture_on_commit_callbacks(execute=True):
        visitor.send(HOSTILE)
    # JSON carries the text as typed; the widget and the inbox put it in with textContent.
    assert visitor.poll().json()["messages"][0]["body"] == HOSTILE
    email = OutgoingEmail.objects.get(kind="chat.message")
    assert f"> {HOSTILE}" in email.body
    sent = [m for m in mail.outbox if m.subject.startswith("New chat message")]
    assert sent and sent[0].content_subtype == "plain"
    assert not getattr(sent[0], "alternatives", [])


def test_a_reply_with_html_reaches_the_visitor_as_text(client, widget, admin_user):
    visitor = WidgetVisitor(client, widget.key)
    visitor.send("Hi")
    client.force_login(admin_user)
    conversation = Conversation.objects.get()
    client.post(reverse("chat:reply", args=[conversation.pk]), {"body": "<b>Yes</b>"})
    assert visitor.poll().json()["messages"][-1]["body"] == "<b>Yes</b>"


# --- Rate limits -------------------------------------------------------------------------


def test_one_visitor_cannot_flood_a_conversation(client, widget, settings):
    settings.CHAT_VISITOR_RATE_LIMIT = "3/m"
    visitor = WidgetVisitor(client, widget.key)
    # The first message opens the conversation (counted against the address: the visitor has
    # no id yet); then the visitor's own budget of 3 a minute applies.
    codes = [visitor.send(f"spam {n}").status_code for n in range(5)]
    assert codes == [201, 201, 201, 201, 429]
    limited = visitor.send("more")
    assert limited.json() == {"error": "Too many messages. Please wait a minute.", "errors": {}}
    assert Message.objects.count() == 4
    # Another visitor (same address, within its budget) is not held back.
    assert WidgetVisitor(client, widget.key).send("hello").status_code == 201


def test_one_address_cannot_flood_the_chat(client, widget, settings):
    settings.CHAT_IP_RATE_LIMIT = "4/m"
    codes = [WidgetVisitor(client, widget.key).send("hi").status_code for _ in range(5)]
    assert codes == [201, 201, 201, 201, 429]
    other_address = WidgetVisitor(client, widget.key, REMOTE_ADDR="203.0.113.9")
    assert other_address.send("hi").status_code == 201


def test_one_address_cannot_open_conversations_without_end(client, widget, settings):
    settings.CHAT_NEW_CONVERSATION_RATE_LIMIT = "2/h"
    visitors = [WidgetVisitor(client, widget.key) for _ in range(3)]
    assert [v.send("hi").status_code for v in visitors] == [201, 201, 429]
    assert Conversation.objects.count() == 2
    # The conversations already open go on.
    assert visitors[0].send("still there?").status_code == 201
