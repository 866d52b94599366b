from django.db import migrations

# The evaluator role of the analysis of offers (frozen copy: migrations import no app
# code). It reads bidders' opened offers: a second factor is required.
ROLES = [("evaluator", "Évaluateur (note les offres)", 31)]


def add_roles(apps, schema_editor):
    Role = apps.get_model("identity", "Role")
    for code, label, position in ROLES:
        Role.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "service_id": "procurement",
                "position": position,
                "requires_mfa": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0001_analysis"),
        ("identity", "0010_seal_second_factor_secrets"),
        ("core", "0002_service_catalogue"),
    ]
    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
