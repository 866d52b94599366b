"""The companies context's demo data: a business registered by SIRET and its manager,
its procurement profile and a vault of certificates, one of them about to expire (a
step of ``mutualis seed_demo``)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from django.utils import timezone

from mutualis.core.links import absolute_url
from mutualis.core.models import Organisation, OrganisationKind
from mutualis.core.pdf import text_pdf
from mutualis.identity import services as identity

from . import services
from .models import Company, CompanyProfile, Representative, VaultDocument
from .services import profile as profile_services
from .services import vault as vault_services

BUSINESS = ("gerant@menuiserie.localhost", "demo-entreprise-2026", "Hugo", "Lambert")
DEMO_SIRET = "83274165600017"
DEMO_COMPANY = "Menuiserie Lambert (démo)"

# (type, title, issued days ago, valid for days from today or None, lines of the PDF)
DEMO_DOCUMENTS: list[tuple[str, str, int, int | None, list[str]]] = [
    (
        "kbis",
        "Extrait Kbis",
        20,
        None,
        ["Extrait Kbis (document de démonstration)", "Greffe du tribunal de commerce de Dijon"],
    ),
    (
        "urssaf",
        "Attestation de vigilance URSSAF",
        160,
        20,
        ["Attestation de vigilance (démonstration)", "URSSAF Bourgogne"],
    ),
    (
        "tax",
        "Attestation de régularité fiscale",
        40,
        320,
        ["Attestation de régularité fiscale (démonstration)", "DGFiP, Côte-d'Or"],
    ),
    (
        "insurance",
        "Responsabilité civile professionnelle",
        60,
        300,
        ["Attestation d'assurance (démonstration)", "Responsabilité civile et décennale"],
    ),
    (
        "references",
        "Références 2023-2025",
        30,
        None,
        ["Références (démonstration)", "Menuiseries de la médiathèque de Beaune, 2024"],
    ),
]


def seed_business(stdout: Any) -> None:
    email, password, first, last = BUSINESS
    user = identity.ensure_user(email=email, password=password, first_name=first, last_name=last)
    # Runs inside seed_demo's crossing: companies are the tenants of their own rows.
    if not Company.objects.filter(siren=DEMO_SIRET[:9]).exists():
        services.sign_up_with_siret(
            user=user, siret=DEMO_SIRET, name=DEMO_COMPANY, site_url=absolute_url("/")
        )
    company = Company.objects.get(siren=DEMO_SIRET[:9])
    admin = Representative.objects.get(company=company, user=user)
    _seed_profile(admin)
    _seed_vault(admin)
    where = f"{DEMO_COMPANY}, SIRET {DEMO_SIRET} (administrator)"
    stdout.write(f"  {email:32} {password:22} {where}")


def _seed_profile(admin: Representative) -> None:
    if CompanyProfile.objects.filter(company_id=admin.company_id).exists():
        return
    known = set(
        Organisation.objects.filter(
            kind=OrganisationKind.DEPARTEMENT, insee_code__in=["21", "71", "89"]
        ).values_list("insee_code", flat=True)
    )
    profile_services.update_company_profile(
        actor=admin,
        size="small",
        main_departement="21" if "21" in known else "",
        intervention_departements=sorted(known),
        activities=(
            "Menuiserie intérieure et extérieure, bois et aluminium : fenêtres, portes, "
            "escaliers, agencement de bâtiments publics."
        ),
    )


def _seed_vault(admin: Representative) -> None:
    if VaultDocument.objects.filter(company_id=admin.company_id).exists():
        return
    today = timezone.localdate()
    for kind, title, issued_ago, valid_for, lines in DEMO_DOCUMENTS:
        pdf = text_pdf([*lines, DEMO_COMPANY, f"SIRET {DEMO_SIRET}"], title=title)
        vault_services.add_vault_document(
            actor=admin,
            document_type=kind,
            title=title,
            issued_on=today - timedelta(days=issued_ago),
            valid_until=today + timedelta(days=valid_for) if valid_for is not None else None,
            file=io.BytesIO(pdf),
            file_name=f"{kind}-menuiserie-lambert.pdf",
        )


# --- The bidders of the demo's past procedures ---------------------------------------------

# (SIRET of the head office, name, size, département of the main establishment, activities)
BIDDERS: list[tuple[str, str, str, str, str]] = [
    ("41285377200017", "Bâtiments Morel (démo)", "medium", "21", "Gros œuvre, maçonnerie"),
    ("50731264300012", "Voirie Bourgogne TP (démo)", "large", "71", "Travaux publics, voirie"),
    ("39518420300010", "Électricité Girard (démo)", "micro", "21", "Électricité, éclairage"),
    ("81264590100016", "Restauration Collective Est (démo)", "large", "69", "Repas, cantines"),
    ("75390218800014", "Espaces Verts Roux (démo)", "small", "89", "Espaces verts, élagage"),
    ("44817362500014", "Informatique Services Dijon (démo)", "small", "21", "Informatique"),
    ("52940817100013", "Nettoyage Mercier (démo)", "medium", "58", "Propreté des locaux"),
]
BIDDER_PASSWORD = BUSINESS[1]  # published, as every demo password


def bidder_email(siret: str) -> str:
    return f"contact-{siret[:9]}@entreprise.localhost"


def seed_bidders(stdout: Any) -> None:
    """The companies that answered the demo's past procedures: registered by SIRET, each
    with one administrator (``contact-<SIREN>@entreprise.localhost``), their size and
    département (the observatory counts SMEs and local winners)."""
    known = set(
        Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).values_list(
            "insee_code", flat=True
        )
    )
    for siret, name, size, departement, activities in BIDDERS:
        user = identity.ensure_user(
            email=bidder_email(siret), password=BIDDER_PASSWORD, first_name="Contact"
        )
        if not Company.objects.filter(siren=siret[:9]).exists():
            services.sign_up_with_siret(
                user=user, siret=siret, name=name, site_url=absolute_url("/")
            )
        company = Company.objects.get(siren=siret[:9])
        admin = Representative.objects.get(company=company, user=user)
        if not CompanyProfile.objects.filter(company_id=company.pk).exists():
            profile_services.update_company_profile(
                actor=admin,
                size=size,
                main_departement=departement if departement in known else "",
                intervention_departements=[departement] if departement in known else [],
                activities=activities,
            )
    stdout.write(
        f"  {len(BIDDERS)} bidders of past procedures: contact-<SIREN>@entreprise.localhost,"
        f" password {BIDDER_PASSWORD}."
    )
