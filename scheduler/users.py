"""Services for managing the people of an account."""

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from scheduler import mail
from scheduler.models import Account, User


@transaction.atomic
def invite_user(account: Account, invited_by: User, **fields) -> User:
    """Create a user in `account` and email them a link to choose their password."""
    user = User(account=account, **fields)
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    queue_invitation(user, invited_by.display_name)
    return user


def queue_invitation(user: User, inviter_name: str) -> None:
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    context = {"user": user, "inviter": inviter_name, "url": settings.APP_BASE_URL + path}
    mail.queue(
        user.email,
        f"{inviter_name} invited you to {user.account.name} on Meetings",
        render_to_string("scheduler/email/invitation.txt", context),
        kind="user.invitation",
    )


@transaction.atomic
def update_user_access(target: User, *, role: str, personal_email_access: bool, seat: str) -> User:
    """Change a user's role and permissions; an account never loses its last admin."""
    # Lock the account's admins so two admins demoting each other cannot both succeed.
    admins = list(
        User.objects.select_for_update()
        .filter(account_id=target.account_id, role=User.Role.ADMIN, is_active=True)
        .values_list("pk", flat=True)
    )
    if role != User.Role.ADMIN and admins == [target.pk]:
        raise ValidationError({"role": "An account needs at least one admin."})
    target.role = role
    target.personal_email_access = personal_email_access
    target.seat = seat
    target.save(update_fields=["role", "personal_email_access", "seat"])
    return target


def mark_emails_verified(user: User) -> None:
    """A password set through an emailed link proves the user owns that address."""
    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)
