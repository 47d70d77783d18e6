"""Model fields whose values are encrypted at rest with rotatable Fernet keys."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be url-safe base64 32-byte Fernet keys "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # A missing key must never look like an empty secret.
        raise ImproperlyConfigured(
            "An encrypted value could not be decrypted with any of FIELD_ENCRYPTION_KEYS."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a ciphertext with the first (current) key."""
    return fernet().rotate(token.encode()).decode()


# Secrets kept inside other structures (allauth's MFA data) carry this marker, so that a value
# written before encryption was switched on can still be told apart and read.
SECRET_PREFIX = "fernet:"  # noqa: S105 - a format marker, not a secret


def encrypt_secret(value: str) -> str:
    return SECRET_PREFIX + encrypt(value)


def decrypt_secret(value: str) -> str:
    if value.startswith(SECRET_PREFIX):
        return decrypt(value.removeprefix(SECRET_PREFIX))
    return value  # written in the clear before encryption: read as it is


def rotate_secret(value: str) -> str:
    """Re-encrypt a marked secret with the current key; encrypt a plaintext one."""
    if value.startswith(SECRET_PREFIX):
        return SECRET_PREFIX + rotate(value.removeprefix(SECRET_PREFIX))
    return encrypt_secret(value)


class EncryptedTextField(models.TextField):
    """Text stored as Fernet ciphertext; Python code only ever sees plaintext.

    Encrypted values cannot be filtered on; use them for secrets only.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
