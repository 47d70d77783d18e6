"""An admin connects a custom domain alone, and every meeting link follows it.

Chromium resolves meet.example.test to loopback (--host-resolver-rules) and reaches the live
server on its port; the app verifies the domain against the loopback DNS server."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from meetings.models import Booking, SchedulingPage
from scheduler.models import Domain
from tests.conftest import PASSWORD
from tests.e2e.conftest import launch_chromium
from tests.support.browser import sign_in

DOMAIN = "meet.example.test"
EVERY_DAY = {str(day): [["00:00", "24:00"]] for day in range(7)}


@pytest.fixture
def mapped_browser(playwright_driver):
    """Chromium that resolves the custom domain to this machine (the live server's port is
    in the URLs)."""
    browser = launch_chromium(playwright_driver, f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1")
    yield browser
    browser.close()


@pytest.mark.e2e
def test_an_admin_connects_a_domain_and_every_link_uses_it(
    live_server, mapped_browser, admin_user, dns_zone, settings, transactional_db
):
    settings.APP_BASE_URL = live_server.url
    SchedulingPage.objects.create(
        account=admin_user.account,
        owner=admin_user,
        name="Intro call",
        slug="ada-intro",
        weekly_hours=EVERY_DAY,
        min_notice=0,
    )
    port = live_server.url.rsplit(":", 1)[1]
    browser = mapped_browser
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, admin_user.email, PASSWORD)

    # Settings > Domains: add the domain, read the records, "create" them, verify.
    page.goto("/app/settings/domains/")
    page.get_by_label("Domain").fill(DOMAIN)
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_text("Pending verification")).to_be_visible()
    records = page.locator("table.dns-records")
    token = records.locator("tr", has_text="TXT").locator("td").nth(2).inner_text()
    assert records.locator("tr", has_text="CNAME").inner_text().count("app.meetings.test")
    dns_zone.set(f"_meetings-verify.{DOMAIN}", "TXT", token.strip())
    dns_zone.set(DOMAIN, "CNAME", "app.meetings.test")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"{DOMAIN} is verified")).to_be_visible()
    assert Domain.objects.get().verified

    # Settings > General > Calendar: the domain as meeting domain, the default link.
    page.goto("/app/settings/general/calendar/")
    page.get_by_label("Meeting domain").select_option(label=DOMAIN)
    page.get_by_label("Default meeting link").select_option(label="Intro call")
    page.get_by_role("button", name="Save").click()
    page.goto("/app/meetings/")
    expect(page.get_by_role("link", name=f"https://{DOMAIN}/meetings/ada-intro")).to_have_attribute(
        "href", f"https://{DOMAIN}/meetings/ada-intro"
    )

    # A contact books on the custom domain (the browser resolves it to this machine).
    visitor = browser.new_context(base_url=f"http://{DOMAIN}:{port}").new_page()
    visitor.goto("/meetings/ada-intro?firstname=Cora&lastname=Contact&email=cora@client.example")
    assert visitor.get_by_label("First name").input_value() == "Cora"
    visitor.locator(".day:not([disabled])").first.click()
    visitor.locator(".time").first.click()
    visitor.get_by_role("button", name=re.compile("Confirm|Request")).click()
    visitor.wait_for_url(f"http://{DOMAIN}:{port}/meetings/manage/**")
    booking = Booking.objects.get()
    manage = f"https://{DOMAIN}/meetings/manage/{booking.manage_token}/"
    to_contact = [m for m in mail.outbox if m.to == ["cora@client.example"]]
    assert to_contact and manage in to_contact[0].body

    # A sales email template with the meeting link, sent from the contact record.
    page.goto("/app/contacts/templates/new/")
    page.get_by_label("Name", exact=True).fill("Follow-up")
    page.get_by_label("Subject", exact=True).fill("Next step, {{ contact.first_name }}")
    page.get_by_label("Body", exact=True).fill("Hi {{ contact.first_name }}, book here: ")
    page.get_by_role("button", name="Insert meeting link").click()
    assert page.get_by_label("Body", exact=True).input_value().endswith("{{ meeting_link }}")
    page.get_by_role("button", name="Save template").click()
    page.goto("/app/contacts/")
    page.get_by_role("link", name="Cora Contact").click()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-body")).to_contain_text(f"https://{DOMAIN}/meetings/ada-intro")
    page.get_by_role("button", name="Send email").click()
    expect(page.get_by_text("is on its way")).to_be_visible()
    sent = [m for m in mail.outbox if m.subject == "Next step, Cora"]
    assert sent and f"book here: https://{DOMAIN}/meetings/ada-intro" in sent[0].body
