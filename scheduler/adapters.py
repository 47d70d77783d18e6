from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from scheduler.models import Account, User


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up creates a new account (tenant) whose first user is its admin."""

    def save_user(self, request, user, form, commit=True):
        with transaction.atomic():
            user.account = Account.objects.create(name=form.cleaned_data["company"])
            user.role = User.Role.ADMIN
            # The first admin may connect their own calendar straight away.
            user.personal_email_access = True
            user.full_name = form.cleaned_data.get("full_name", "")
            user.timezone = form.cleaned_data.get("timezone") or "UTC"
            return super().save_user(request, user, form, commit=commit)
