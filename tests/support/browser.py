"""Helpers for browser tests."""


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the login form, as a person would, and wait for the dashboard."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/app/meetings/")
