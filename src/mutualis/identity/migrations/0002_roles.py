from django.db import migrations

ROLES = [
    ("org_admin", "Administrateur de l'organisation", None, 10),
    ("buyer", "Acheteur", "procurement", 20),
    ("commission_member", "Membre de commission", "procurement", 30),
    ("signatory", "Signataire / élu", None, 40),
    ("secretary", "Secrétaire", None, 50),
]


def add_roles(apps, schema_editor):
    Role = apps.get_model("identity", "Role")
    for code, label, service, position in ROLES:
        Role.objects.update_or_create(
            code=code,
            defaults={"label": label, "service_id": service, "position": position},
        )


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial"), ("core", "0002_service_catalogue")]
    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
