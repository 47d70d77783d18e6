"""A new company signs up in the browser, confirms its email and lands on the dashboard."""

import re

import pytest
from django.core import mail

from scheduler.models import User
from tests.conftest import PASSWORD
from tests.support.browser import sign_in


@pytest.mark.e2e
def test_sign_up_confirm_email_and_reach_the_dashboard(page, live_server):
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Company name").fill("Compilers Inc")
    page.get_by_label("Email").fill("grace@compilers.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/confirm-email/")

    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    path = re.sub(r"^https?://[^/]+", "", link)
    page.goto(path)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/app/meetings/")
    assert page.get_by_role("heading", name="Meetings").is_visible()

    user = User.objects.get(email="grace@compilers.example")
    assert user.is_account_admin and user.account.name == "Compilers Inc"
    # The browser's time zone was detected (Playwright's default is the machine's, UTC here).
    assert user.timezone


@pytest.mark.e2e
def test_member_sees_no_users_link_and_is_refused(page, member_user):
    sign_in(page, member_user.email, PASSWORD)
    page.get_by_role("link", name="Settings", exact=True).click()
    assert page.get_by_role("link", name="Users").count() == 0
    response = page.goto("/app/settings/users/")
    assert response.status == 403
