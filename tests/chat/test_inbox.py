"""The team's inbox: conversations with unread counts, reading, replying; the contact record
shows a visitor's conversations; Settings > Chat widget."""

from django.urls import reverse

from chat import services
from chat.models import ChatProfile, ChatWidget, Conversation, Message
from crm.models import Contact
from tests.chat.conftest import WEBSITE, WidgetVisitor


def test_the_inbox_lists_conversations_with_unread_counts(client, widget, admin_user):
    first = WidgetVisitor(client, widget.key)
    first.send("One")
    first.send("Two")
    WidgetVisitor(client, widget.key).send("Other visitor")
    client.force_login(admin_user)
    page = client.get(reverse("chat:conversations"))
    listing = list(page.context["conversations"])
    assert [c.last_message_preview for c in listing] == ["Other visitor", "Two"]
    assert [c.unread for c in listing] == [1, 2]
    assert 'aria-label="2 unread"' in page.content.decode()


def test_opening_a_conversation_reads_it_and_the_owner_replies(client, widget, admin_user):
    visitor = WidgetVisitor(client, widget.key)
    visitor.send("Hello?")
    conversation = Conversation.objects.get()
    client.force_login(admin_user)
    page = client.get(reverse("chat:conversation", args=[conversation.pk]))
    assert page.status_code == 200 and "Hello?" in page.content.decode()
    assert services.inbox(admin_user.account).get().unread == 0

    response = client.post(reverse("chat:reply", args=[conversation.pk]), {"body": "Hi there!"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/app/conversations/{conversation.pk}/#reply")
    reply = conversation.messages.get(author=Message.Author.TEAM)
    assert reply.sender == admin_user and reply.body == "Hi there!"
    assert [m["body"] for m in visitor.poll().json()["messages"]] == ["Hello?", "Hi there!"]


def test_any_member_of_the_account_may_answer(client, widget, member_user):
    WidgetVisitor(client, widget.key).send("Hello?")
    conversation = Conversation.objects.get()
    client.force_login(member_user)
    client.post(reverse("chat:reply", args=[conversation.pk]), {"body": "Member here"})
    assert conversation.messages.filter(sender=member_user).exists()


def test_an_empty_or_long_reply_is_a_400_with_the_form(client, widget, admin_user):
    WidgetVisitor(client, widget.key).send("Hello?")
    conversation = Conversation.objects.get()
    client.force_login(admin_user)
    for body, error in (("  ", "Write your reply first."), ("x" * 2001, "at most 2000")):
        response = client.post(reverse("chat:reply", args=[conversation.pk]), {"body": body})
        assert response.status_code == 400 and error in response.content.decode()
    assert not conversation.messages.filter(author=Message.Author.TEAM).exists()


def test_the_inbox_follows_new_messages_as_json(client, widget, admin_user):
    visitor = WidgetVisitor(client, widget.key)
    first = visitor.send("One").json()["message"]["id"]
    visitor.send("<b>Two</b>")
    conversation = Conversation.objects.get()
    client.force_login(admin_user)
    url = reverse("chat:messages", args=[conversation.pk])
    assert [m["body"] for m in client.get(url, {"after": first}).json()["messages"]] == [
        "<b>Two</b>"
    ]
    assert client.get(url, {"after": "x"}).status_code == 400
    last = conversation.messages.last().pk
    assert (
        client.post(reverse("chat:read", args=[conversation.pk]), {"upto": last}).status_code == 204
    )
    assert services.inbox(admin_user.account).get().unread == 0


def test_the_contact_record_shows_the_conversation(client, widget, admin_user):
    visitor = WidgetVisitor(client, widget.key)
    visitor.send("Do you ship to Poland?")
    visitor.post("contact", {"email": "cora@client.example"})
    contact = Contact.objects.get()
    client.force_login(admin_user)
    html = client.get(reverse("crm:contact", args=[contact.pk])).content.decode()
    conversation = Conversation.objects.get()
    assert "Chat conversations" in html and "Do you ship to Poland?" in html
    assert reverse("chat:conversation", args=[conversation.pk]) in html
    # A contact without conversations shows no panel.
    other = Contact.objects.create(account=admin_user.account, email="x@client.example")
    assert (
        "Chat conversations"
        not in client.get(reverse("crm:contact", args=[other.pk])).content.decode()
    )


def test_an_admin_gets_the_snippet_and_sets_origins(client, admin_user, member_user):
    client.force_login(admin_user)
    page = client.get(reverse("chat_settings:widget"))
    widget = ChatWidget.objects.get(account=admin_user.account)
    html = page.content.decode()
    assert f'data-key="{widget.key}"' in html and "/chat/widget.js" in html
    assert "browsers show the chat only on the websites listed" in html

    response = client.post(
        reverse("chat_settings:widget"),
        {
            "owner": member_user.pk,
            "embed_origins": "https://WWW.Acme.example/\nhttp://localhost:8002",
        },
    )
    assert response.status_code == 302
    admin_user.account.refresh_from_db()
    assert admin_user.account.embed_origins == ["https://www.acme.example", "http://localhost:8002"]
    widget.refresh_from_db()
    assert widget.owner == member_user


def test_bad_origins_are_refused_with_every_reason(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("chat_settings:widget"),
        {
            "owner": admin_user.pk,
            "embed_origins": "http://shop.example\nhttps://*.example.com\nhttps://ok.example/path",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "http://shop.example: Use https://" in html
    assert "Wildcards are not allowed" in html and "no path" in html
    admin_user.account.refresh_from_db()
    assert admin_user.account.embed_origins == []


def test_only_the_accounts_users_can_answer_and_only_admins_configure(
    client, admin_user, member_user, make_user
):
    stranger = make_user("someone@globex.example")
    client.force_login(admin_user)
    response = client.post(
        reverse("chat_settings:widget"), {"owner": stranger.pk, "embed_origins": WEBSITE}
    )
    assert response.status_code == 400 and "owner" in response.context["form"].errors
    client.force_login(member_user)
    assert client.get(reverse("chat_settings:widget")).status_code == 403


def test_the_chat_profile_takes_a_name_welcome_line_and_https_photo(admin_client, admin_user):
    url = reverse("settings:calendar")
    data = {
        "meetings-url_prefix": "ada",
        "chat-display_name": "Ada",
        "chat-welcome_message": "Hi, I'm Ada.",
        "chat-photo_url": "http://cdn.example/ada.png",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 400 and "Enter an https:// address." in response.content.decode()
    data["chat-photo_url"] = "https://cdn.example/ada.png"
    assert admin_client.post(url, data).status_code == 302
    profile = ChatProfile.objects.get(user=admin_user)
    assert (profile.name, profile.greeting, profile.initials) == ("Ada", "Hi, I'm Ada.", "A")
