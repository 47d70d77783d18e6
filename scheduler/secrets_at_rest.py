"""Every secret the app keeps encrypted, found and re-encrypted in one place: for the key
rotation command and its tests (FIELD_ENCRYPTION_KEYS: the first key encrypts, all decrypt)."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction

from scheduler.fields import EncryptedTextField, rotate, rotate_secret

# allauth's MFA data: which keys of Authenticator.data are secrets.
MFA_SECRET_KEYS = ("secret", "seed")
MFA_SECRET_LISTS = ("migrated_codes",)


def encrypted_columns() -> list[tuple[type, str]]:
    """(model, field name) of every EncryptedTextField in the project."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedTextField)
    ]


def rotate_all() -> dict[str, int]:
    """Re-encrypt every secret with the current (first) key; returns counts per kind.

    Ciphertexts are read and written raw (`.values_list` / `.update` on the column would
    decrypt and re-encrypt through the field; the raw Fernet token is rotated instead)."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        for model, name in encrypted_columns():
            label = f"{model._meta.label}.{name}"
            counts[label] = _rotate_column(model, name)
        counts["mfa.Authenticator.data"] = _rotate_mfa()
    return counts


def _rotate_column(model, name: str) -> int:
    from django.db import connection

    table, column = model._meta.db_table, model._meta.get_field(name).column
    pk = model._meta.pk.column
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # noqa: S608 - names from the model
            f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> ''"
        )
        rows = cursor.fetchall()
        for row_pk, token in rows:
            cursor.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",  # noqa: S608
                [rotate(token), row_pk],
            )
    return len(rows)


def _rotate_mfa() -> int:
    from allauth.mfa.models import Authenticator

    changed = 0
    for authenticator in Authenticator.objects.select_for_update():
        data = dict(authenticator.data)
        for key in MFA_SECRET_KEYS:
            if isinstance(data.get(key), str):
                data[key] = rotate_secret(data[key])
        for key in MFA_SECRET_LISTS:
            if isinstance(data.get(key), list):
                data[key] = [rotate_secret(value) for value in data[key]]
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
            changed += 1
    return changed
