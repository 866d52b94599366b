"""Seal the second-factor secrets stored in clear before ``identity.mfa_adapter``."""

from django.db import migrations


def seal_all(apps, schema_editor):
    from mutualis.identity.mfa_adapter import PREFIX, seal

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=("totp", "recovery_codes")):
        data = dict(authenticator.data)
        key = "secret" if authenticator.type == "totp" else "seed"
        changed = False
        if isinstance(data.get(key), str) and not data[key].startswith(PREFIX):
            data[key] = seal(data[key])
            changed = True
        codes = data.get("migrated_codes")
        if isinstance(codes, list) and any(not c.startswith(PREFIX) for c in codes):
            data["migrated_codes"] = [c if c.startswith(PREFIX) else seal(c) for c in codes]
            changed = True
        if changed:
            authenticator.data = data
            authenticator.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0009_api_client"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(seal_all, migrations.RunPython.noop)]
