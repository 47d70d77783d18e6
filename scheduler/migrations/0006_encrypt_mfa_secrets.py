"""TOTP secrets and recovery-code seeds written before scheduler.adapters.MFAAdapter existed
are encrypted with FIELD_ENCRYPTION_KEYS."""

from django.db import migrations

from scheduler.fields import SECRET_PREFIX, encrypt_secret


def encrypt_plaintext(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all():
        data = dict(authenticator.data)
        for key in ("secret", "seed"):
            value = data.get(key)
            if isinstance(value, str) and not value.startswith(SECRET_PREFIX):
                data[key] = encrypt_secret(value)
        codes = data.get("migrated_codes")
        if isinstance(codes, list):
            data["migrated_codes"] = [
                code if code.startswith(SECRET_PREFIX) else encrypt_secret(code) for code in codes
            ]
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduler", "0005_outgoingemail_reply_to"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_plaintext, migrations.RunPython.noop)]
