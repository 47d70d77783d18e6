import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from scheduler import fields


def test_values_encrypted_with_an_old_key_still_decrypt_after_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = fields.encrypt("refresh-token-123")
    assert "refresh-token-123" not in token

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert fields.decrypt(token) == "refresh-token-123"
    rotated = fields.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert fields.decrypt(rotated) == "refresh-token-123"
    with pytest.raises(ImproperlyConfigured):
        fields.decrypt(token)  # the retired key is gone: never silently empty


def test_a_malformed_key_is_a_clear_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet keys"):
        fields.encrypt("x")
