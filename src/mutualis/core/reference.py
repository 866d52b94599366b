"""Reference data every instance needs: the service catalogue and the fee categories.

The code is the source of truth: ``sync_reference_data`` (a step of `mutualis setup`)
creates what is missing and brings names, order and fees in line. Migration
``0002_service_catalogue`` keeps its own frozen copy, as migrations import no app code.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from . import catalogue
from .models import FeeCategory, Service

# (code, name, position, description)
SERVICES = [
    (
        "procurement",
        "Marchés publics (profil d'acheteur)",
        10,
        "Publication des consultations, dépôt des plis chiffrés, ouverture, attribution.",
    ),
    (
        "legality",
        "Contrôle de légalité et flux comptables",
        20,
        "Transmission des actes à la préfecture (@ctes) et des flux PES à la trésorerie.",
    ),
    (
        "signature",
        "Parapheur électronique",
        30,
        "Circuits de visa et de signature électronique.",
    ),
    (
        "archiving",
        "Archivage électronique",
        40,
        "Conservation des documents natifs numériques avec preuves d'intégrité.",
    ),
    ("website", "Site internet communal", 50, "Un site par commune avec démarches en ligne."),
]

# (code, label, annual fee in euros)
FEE_CATEGORIES = [
    ("commune-under-500", "Commune de moins de 500 habitants", Decimal("50.00")),
    ("commune-500-3500", "Commune de 500 à 3 500 habitants", Decimal("150.00")),
    ("commune-over-3500", "Commune de plus de 3 500 habitants", Decimal("600.00")),
    ("epci", "Établissement public de coopération intercommunale", Decimal("1200.00")),
    ("departement-region", "Département ou région", Decimal("15000.00")),
    ("other", "Autre organisme public ou association", Decimal("300.00")),
]


@transaction.atomic
def sync_reference_data() -> int:
    """Create or correct the catalogue rows; the number of rows created or changed.

    Rows are written only when they differ, so that a second run writes nothing.
    """
    changed = 0
    for code, name, position, description in SERVICES:
        if catalogue.is_provided(code):
            # A service a context declares is the code's (core.catalogue, a later step):
            # writing the migration's wording here would undo it at every release.
            continue
        wanted = {"name": name, "position": position, "description": description}
        changed += _sync(Service, code, wanted)
    for code, label, fee in FEE_CATEGORIES:
        changed += _sync(FeeCategory, code, {"label": label, "annual_fee": fee})
    return changed


def _sync(model: type[Service] | type[FeeCategory], code: str, wanted: dict[str, object]) -> int:
    row = model.objects.filter(code=code).first()
    if row is None:
        model.objects.create(code=code, **wanted)
        return 1
    stale = [field for field, value in wanted.items() if getattr(row, field) != value]
    if not stale:
        return 0
    for field in stale:
        setattr(row, field, wanted[field])
    row.save(update_fields=stale)
    return 1
