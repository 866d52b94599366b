from django.db import migrations

SERVICES = [
    ("procurement", "Marchés publics (profil d'acheteur)", 10,
     "Publication des consultations, dépôt des plis chiffrés, ouverture, attribution."),
    ("legality", "Contrôle de légalité et flux comptables", 20,
     "Transmission des actes à la préfecture (@ctes) et des flux PES à la trésorerie."),
    ("signature", "Parapheur électronique", 30,
     "Circuits de visa et de signature électronique."),
    ("archiving", "Archivage électronique", 40,
     "Conservation des documents natifs numériques avec preuves d'intégrité."),
    ("website", "Site internet communal", 50, "Un site par commune avec démarches en ligne."),
]

FEE_CATEGORIES = [
    ("commune-under-500", "Commune de moins de 500 habitants", "50.00"),
    ("commune-500-3500", "Commune de 500 à 3 500 habitants", "150.00"),
    ("commune-over-3500", "Commune de plus de 3 500 habitants", "600.00"),
    ("epci", "Établissement public de coopération intercommunale", "1200.00"),
    ("departement-region", "Département ou région", "15000.00"),
    ("other", "Autre organisme public ou association", "300.00"),
]


def add_catalogue(apps, schema_editor):
    Service = apps.get_model("core", "Service")
    FeeCategory = apps.get_model("core", "FeeCategory")
    for code, name, position, description in SERVICES:
        Service.objects.update_or_create(
            code=code,
            defaults={"name": name, "position": position, "description": description},
        )
    for code, label, fee in FEE_CATEGORIES:
        FeeCategory.objects.update_or_create(
            code=code, defaults={"label": label, "annual_fee": fee}
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(add_catalogue, migrations.RunPython.noop)]
