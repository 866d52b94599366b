from django.db import migrations

# The roles of the legality service (frozen copy: migrations import no app code). Both
# act on the prefecture's behalf: a second factor is required.
ROLES = [
    ("legality_agent", "Agent contrôle de légalité (prépare les actes)", 60),
    ("legality_sender", "Télétransmetteur contrôle de légalité (envoie les actes)", 61),
]


def add_roles(apps, schema_editor):
    Role = apps.get_model("identity", "Role")
    for code, label, position in ROLES:
        Role.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "service_id": "legality",
                "position": position,
                "requires_mfa": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("legality", "0001_initial"),
        ("identity", "0010_seal_second_factor_secrets"),
        ("core", "0002_service_catalogue"),
    ]
    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
