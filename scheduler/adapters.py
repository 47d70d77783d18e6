from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.db import transaction

from scheduler.fields import decrypt_secret, encrypt_secret
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


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are encrypted at rest with the project's field
    encryption keys (allauth stores them as given otherwise). Values written before this
    adapter existed are plaintext until the data migration or `rotate_encryption_keys`
    encrypts them; they are read as they are meanwhile."""

    def encrypt(self, text: str) -> str:
        return encrypt_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_secret(encrypted_text)
