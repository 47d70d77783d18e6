"""A visitor chats on a customer's website (another site than the app), the owner answers
from the inbox, and the visitor books a meeting from the chat window."""

import pytest
from playwright.sync_api import expect

from chat import services
from chat.models import ChatProfile, Conversation
from crm.models import Meeting
from meetings.models import Booking, SchedulingPage
from tests.calendars.conftest import connect_google, connection, google_mailbox  # noqa: F401
from tests.conftest import PASSWORD
from tests.support.browser import sign_in
from tests.support.website import start_website

EVERY_DAY = {str(day): [["00:00", "24:00"]] for day in range(7)}


@pytest.fixture
def website(tmp_path):
    site = start_website(tmp_path)
    yield site
    site.stop()


@pytest.fixture
def chat_setup(admin_user, connection, live_server, settings, website):  # noqa: F811
    settings.APP_BASE_URL = live_server.url
    page = SchedulingPage.objects.create(
        account=admin_user.account,
        owner=admin_user,
        name="Intro call",
        slug="intro",
        timezone="UTC",
        weekly_hours=EVERY_DAY,
        durations=[30],
        min_notice=0,
        increment=30,
    )
    ChatProfile.objects.create(
        user=admin_user,
        display_name="Ada from Acme",
        welcome_message="Ask us anything!",
        include_meeting_link=True,
        meeting_page=page,
    )
    account = admin_user.account
    account.embed_origins = [website.origin]
    account.save()
    widget = services.widget_for(account)
    # The customer's page, with styles that would wreck an unisolated widget.
    return website.page(
        "index.html",
        f"""<!DOCTYPE html><html><head><title>Acme shop</title>
<style>* {{ font-size: 40px !important; }} button {{ display: none !important; }}</style></head>
<body><h1>Acme shop</h1>
<script src="{live_server.url}/chat/widget.js" data-key="{widget.key}" async></script>
</body></html>""",
    )


@pytest.mark.e2e
def test_a_visitor_chats_gets_a_reply_and_books_from_the_chat(
    browser_page, live_server, chat_setup, admin_user, sandbox_client, transactional_db
):
    visitor = browser_page(chat_setup.rsplit("/", 1)[0])
    visitor.goto(chat_setup)
    visitor.get_by_role("button", name="Open chat").click()
    chat = visitor.frame_locator("iframe[title='Chat']")
    expect(chat.get_by_role("heading", name="Ada from Acme")).to_be_visible()
    expect(chat.get_by_text("Ask us anything!")).to_be_visible()
    chat.get_by_label("Message").fill("Hello <b>there</b>, do you ship to Poland?")
    chat.get_by_role("button", name="Send").click()
    mine = chat.locator(".from-visitor .bubble")
    expect(mine).to_have_text("Hello <b>there</b>, do you ship to Poland?")
    assert chat.locator("#messages b").count() == 0  # text, never markup

    # The owner, signed in elsewhere, sees it in the inbox and answers.
    owner = browser_page(live_server.url)
    sign_in(owner, admin_user.email, PASSWORD)
    owner.get_by_role("link", name="Conversations").click()
    expect(owner.get_by_label("1 unread")).to_be_visible()
    owner.get_by_role("link", name="Visitor").first.click()
    expect(owner.locator(".chat-body")).to_have_text("Hello <b>there</b>, do you ship to Poland?")
    owner.get_by_label("Your reply").fill("We do! <i>Want</i> to talk?")
    owner.get_by_role("button", name="Send reply").click()

    # The visitor sees the reply without doing anything.
    reply = chat.locator(".from-team .bubble").last
    expect(reply).to_have_text("We do! <i>Want</i> to talk?")
    assert chat.locator("#messages i").count() == 0

    # The conversation survives a new page: Chromium's fresh contexts block third-party
    # storage, so the id comes back from the website's own storage through the loader.
    visitor.reload()
    visitor.get_by_role("button", name="Open chat").click()
    expect(chat.locator(".from-team .bubble").last).to_have_text("We do! <i>Want</i> to talk?")
    assert Conversation.objects.count() == 1

    # "Book a meeting" opens the booking page inside the widget.
    chat.get_by_role("button", name="Book a meeting").click()
    booking = chat.frame_locator("iframe[title='Book a meeting']")
    booking.locator(".day:not([disabled])").first.click()
    booking.locator(".time").first.click()
    booking.get_by_label("First name").fill("Cora")
    booking.get_by_label("Last name").fill("Contact")
    booking.get_by_label("Email").fill("cora@client.example")
    booking.get_by_role("button", name="Confirm booking").click()
    note = chat.locator(".from-system .bubble")
    expect(note).to_contain_text("Meeting booked: Intro call")
    record = Booking.objects.get()
    assert record.source == "chat"
    assert f"{record.start:%H:%M}-{record.end:%H:%M}" in note.inner_text()

    # The owner finds the meeting, from the chat, on the contact record.
    owner.reload()
    expect(owner.locator(".chat-line-system")).to_contain_text("Meeting booked")
    owner.get_by_role("link", name="Contact record").click()
    meeting = owner.get_by_role("region", name="Meetings").locator("li", has_text="Intro call")
    expect(meeting.locator(".badge", has_text="Chat")).to_be_visible()
    expect(owner.get_by_role("heading", name="Chat conversations")).to_be_visible()
    assert Meeting.objects.get(pk=record.crm_meeting_id).source == "chat"
    assert Conversation.objects.get().contact.email == "cora@client.example"
