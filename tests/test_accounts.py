"""Sign-up, sign-in (with two-factor) and Settings > Users."""

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse

from scheduler.models import Account, User
from tests.conftest import PASSWORD


def _link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_sign_up_creates_an_account_with_its_first_admin(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Ada Lovelace",
            "company": "Analytical Engines",
            "email": "Ada@Engines.example",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "timezone": "Europe/Warsaw",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="ada@engines.example")
    assert user.account.name == "Analytical Engines"
    assert user.role == User.Role.ADMIN
    assert user.timezone == "Europe/Warsaw"
    assert user.personal_email_access
    assert Account.objects.filter(name="Analytical Engines").count() == 1

    # Email verification is mandatory: signing in before confirming is refused.
    assert len(mail.outbox) == 1
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "ada@engines.example", "password": PASSWORD}
    )
    assert response.url == reverse("account_email_verification_sent")

    confirm_path = _link_in(mail.outbox[-1])
    client.post(confirm_path)
    assert EmailAddress.objects.get(user=user).verified
    response = client.post(
        reverse("account_login"), {"login": "ADA@engines.example", "password": PASSWORD}
    )
    assert response.url == reverse("meetings:dashboard")


def test_sign_up_with_a_taken_email_creates_nothing_and_reveals_nothing(client, admin_user):
    # allauth prevents account enumeration: the form "succeeds", and the owner of the
    # address is told by email that someone tried to sign up with it.
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Someone",
            "company": "Other",
            "email": admin_user.email.upper(),
            "password1": PASSWORD,
            "password2": PASSWORD,
            "timezone": "UTC",
        },
    )
    assert response.status_code == 302
    assert not Account.objects.filter(name="Other").exists()
    assert User.objects.filter(email__iexact=admin_user.email).count() == 1
    (notice,) = mail.outbox
    assert notice.to == [admin_user.email] and "already" in notice.body


def test_sign_up_with_bad_input_shows_field_errors(client, db):
    response = client.post(
        reverse("account_signup"),
        {"full_name": "", "company": "", "email": "nope", "password1": "a", "password2": "b"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"full_name", "company", "email", "timezone"} <= set(errors)
    assert not Account.objects.exists()


def test_totp_two_factor_is_required_once_activated(client, admin_user):
    secret = generate_totp_secret()
    TOTP.activate(admin_user, secret)
    response = client.post(
        reverse("account_login"), {"login": admin_user.email, "password": PASSWORD}
    )
    assert response.url == reverse("mfa_authenticate")
    assert client.get(reverse("meetings:dashboard")).status_code == 302  # not signed in yet

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.url == reverse("meetings:dashboard")
    assert Authenticator.objects.filter(user=admin_user, type="totp").exists()


def test_member_gets_403_on_settings_users(member_client):
    assert member_client.get(reverse("settings:users")).status_code == 403
    assert member_client.post(reverse("settings:users"), {"email": "x@y.z"}).status_code == 403


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("settings:users"))
    assert response.status_code == 302 and reverse("account_login") in response.url


def test_admin_invites_a_user_who_sets_a_password_and_signs_in(
    admin_client, django_capture_on_commit_callbacks, client
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("settings:users"),
            {"email": "New.Person@Acme.example", "role": "member", "seat": "none"},
        )
    assert response.status_code == 302
    invited = User.objects.get(email="new.person@acme.example")
    assert invited.account.name == "Acme" and not invited.has_usable_password()
    (invitation,) = mail.outbox
    assert invitation.to == ["new.person@acme.example"]

    admin_client.logout()
    form_url = client.get(_link_in(invitation), follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=invited).verified
    response = client.post(reverse("account_login"), {"login": invited.email, "password": PASSWORD})
    assert response.url == reverse("meetings:dashboard")


def test_inviting_an_existing_email_is_a_field_error(admin_client, make_user):
    other = make_user("taken@elsewhere.example")
    response = admin_client.post(
        reverse("settings:users"), {"email": other.email, "role": "member", "seat": "none"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["email"]


def test_granting_personal_email_access_sticks(admin_client, member_user):
    url = reverse("settings:user_update", args=[member_user.pk])
    prefix = f"u{member_user.pk}"
    response = admin_client.post(
        url,
        {
            f"{prefix}-role": "member",
            f"{prefix}-personal_email_access": "on",
            f"{prefix}-seat": "sales",
        },
    )
    assert response.status_code == 302
    member_user.refresh_from_db()
    assert member_user.personal_email_access and member_user.seat == "sales"
    page = admin_client.get(reverse("settings:users")).content.decode()
    assert re.search(rf'name="{prefix}-personal_email_access"[^>]*checked', page)

    admin_client.post(url, {f"{prefix}-role": "member", f"{prefix}-seat": "sales"})
    member_user.refresh_from_db()
    assert not member_user.personal_email_access


def test_the_last_admin_cannot_be_demoted(admin_client, admin_user):
    prefix = f"u{admin_user.pk}"
    response = admin_client.post(
        reverse("settings:user_update", args=[admin_user.pk]),
        {f"{prefix}-role": "member", f"{prefix}-seat": "none"},
    )
    assert response.status_code == 400
    assert "at least one admin" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.role == User.Role.ADMIN


def test_admin_cannot_touch_users_of_another_account(admin_client, make_user):
    stranger = make_user("stranger@other.example")
    prefix = f"u{stranger.pk}"
    response = admin_client.post(
        reverse("settings:user_update", args=[stranger.pk]),
        {
            f"{prefix}-role": "admin",
            f"{prefix}-personal_email_access": "on",
            f"{prefix}-seat": "none",
        },
    )
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.role == User.Role.MEMBER and not stranger.personal_email_access
    assert stranger.email not in admin_client.get(reverse("settings:users")).content.decode()


@pytest.mark.parametrize("bad", ["", "not a zone", "Mars/Olympus"])
def test_profile_rejects_an_unknown_timezone(admin_client, admin_user, bad):
    response = admin_client.post(reverse("settings:general"), {"full_name": "A", "timezone": bad})
    assert response.status_code == 400
    assert response.context["form"].errors["timezone"]
    admin_user.refresh_from_db()
    assert admin_user.timezone == "UTC"


def test_every_app_page_renders_for_a_member(member_client):
    for name in [
        "meetings:dashboard",
        "crm:contacts",
        "chat:conversations",
        "settings:general",
        "settings:calendar",
        "mfa_index",
    ]:
        response = member_client.get(reverse(name))
        assert response.status_code == 200, name


def test_password_reset_by_mail(client, admin_user):
    response = client.post(reverse("account_reset_password"), {"email": admin_user.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    form_url = client.get(_link_in(message), follow=True).redirect_chain[-1][0]
    new_password = "a-brand-new-passphrase-42"
    response = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    response = client.post(
        reverse("account_login"), {"login": admin_user.email, "password": new_password}
    )
    assert response.url == reverse("meetings:dashboard")
    assert client.post(reverse("account_logout")).status_code == 302
    assert client.get(reverse("meetings:dashboard")).status_code == 302
