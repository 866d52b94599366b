"""The demo of the buyers' shared workspace (a step of ``mutualis seed_demo``, after the
consultations): a group purchase that Dijon Métropole coordinates for the commune of
Dijon and the commune of Beaune, a few clauses of the library, and a proposal of Dijon
waiting for the operator. Written through the services, so that each has its events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_scopes import scope

from mutualis.core.demo import demo_organisation
from mutualis.identity.models import Membership

from . import deadlines, espd_selection, groups, library, services
from .demo import add_demo_files
from .models import Consultation, LibraryEntry, LibraryKind
from .services import ConsultationInput

OPERATOR_EMAIL = "operateur@mutualis.localhost"
BUYER_EMAIL = "mairie@dijon.localhost"
GROUP_REFERENCE = "DEMO-MET-2027-GRP"

CLAUSES = [
    (
        LibraryKind.ADMINISTRATIVE,
        "Pénalités de retard",
        "<p>Par dérogation à l'article 14.1 du CCAG applicable, le titulaire encourt, sans "
        "mise en demeure préalable, une pénalité de <strong>200 € HT par jour calendaire "
        "de retard</strong> dans l'exécution des prestations.</p>",
        "retard pénalités CCAG",
    ),
    (
        LibraryKind.ADMINISTRATIVE,
        "Avance",
        "<p>Une avance est accordée au titulaire dans les conditions des articles R. 2191-3 "
        "et suivants du code de la commande publique, sauf renonciation expresse dans l'acte "
        "d'engagement.</p>",
        "avance paiement",
    ),
    (
        LibraryKind.SOCIAL_ENVIRONMENTAL,
        "Clause d'insertion par l'activité économique",
        "<p>Le titulaire réserve à des personnes éloignées de l'emploi un nombre d'heures "
        "de travail égal à <strong>5 %</strong> des heures nécessaires à l'exécution du "
        "marché, avec l'appui du facilitateur du territoire.</p>",
        "insertion emploi social",
    ),
    (
        LibraryKind.SOCIAL_ENVIRONMENTAL,
        "Gestion des déchets de chantier",
        "<p>Le titulaire trie les déchets de chantier à la source, en assure la traçabilité "
        "par des bordereaux de suivi et justifie un taux de valorisation d'au moins "
        "70 % en masse.</p>",
        "déchets environnement chantier",
    ),
    (
        LibraryKind.TECHNICAL,
        "Réception des fournitures",
        "<p>Les fournitures sont livrées franco de port au lieu désigné par le bon de "
        "commande, du lundi au vendredi de 8 h à 16 h. Toute fourniture non conforme est "
        "reprise aux frais du titulaire.</p>",
        "livraison réception",
    ),
    (
        LibraryKind.TEMPLATE,
        "Règlement de la consultation — objet et allotissement",
        "<h3>Objet de la consultation</h3><p>La présente consultation porte sur …</p>"
        "<h3>Allotissement</h3><p>Les prestations sont réparties en … lots, attribués "
        "séparément.</p>",
        "règlement RC modèle",
    ),
]


def _membership(key: str, email: str) -> Membership:
    return Membership.objects.get(organisation=demo_organisation(key), user__email=email)


def seed(stdout: Any) -> None:
    operator = _membership("operator", OPERATOR_EMAIL)
    added = 0
    for kind, title, body, keywords in CLAUSES:
        if LibraryEntry.objects.filter(title=title).exists():
            continue
        library.create_entry(
            actor=operator,
            data=library.EntryInput(kind=kind, title=title, body=body, keywords=keywords),
        )
        added += 1
    dijon = _membership("commune:21231", BUYER_EMAIL)
    with scope(organisation=dijon.organisation_id):
        if not library.proposals_of(organisation_id=dijon.organisation_id).exists():
            library.propose_entry(
                actor=dijon,
                data=library.EntryInput(
                    kind=LibraryKind.SOCIAL_ENVIRONMENTAL,
                    title="Repas : part de produits durables",
                    body="<p>Au moins 50 % des produits servis sont durables et de qualité, "
                    "dont 20 % issus de l'agriculture biologique (article L. 230-5-1 du "
                    "code rural).</p>",
                    keywords="restauration EGalim",
                ),
                note="Clause utilisée pour nos cantines depuis 2023.",
            )
    created = _group_purchase()
    stdout.write(f"  {added} library clauses, {created} group purchase (procurement workspace).")


def _group_purchase() -> int:
    metropole = _membership("epci:242100410", BUYER_EMAIL)
    now = timezone.now().replace(second=0, microsecond=0)
    with scope(organisation=metropole.organisation_id):
        if Consultation.objects.filter(
            organisation_id=metropole.organisation_id, reference=GROUP_REFERENCE
        ).exists():
            return 0
        noon = deadlines.to_paris(now + timedelta(days=32)).replace(hour=12, minute=0)
        consultation = services.create_consultation(
            actor=metropole,
            data=ConsultationInput(
                reference=GROUP_REFERENCE,
                title="Groupement de commandes : fourniture d'électricité",
                object="Fourniture et acheminement d'électricité pour les bâtiments de la "
                "métropole, de la ville de Dijon et de la ville de Beaune.",
                description="<p>Groupement de commandes coordonné par Dijon Métropole "
                "(article L. 2113-6 du code de la commande publique).</p>",
                procedure="open",
                category="supplies",
                main_cpv="09310000",
                place_of_execution="Côte-d'Or",
                estimated_value=Decimal("2400000"),
                questions_deadline=deadlines.from_paris(
                    (noon - timedelta(days=7)).replace(tzinfo=None)
                ),
                response_deadline=deadlines.from_paris(noon.replace(tzinfo=None)),
                contact="Service de la commande publique — Dijon Métropole",
            ),
        )
        services.add_criterion(
            actor=metropole, consultation_id=consultation.pk, label="Prix", weight=70
        )
        services.add_criterion(
            actor=metropole,
            consultation_id=consultation.pk,
            label="Part d'électricité d'origine renouvelable",
            weight=30,
        )
        for key, percent, amount in (
            ("commune:21231", "40", "960000"),
            ("commune:21054", "10", "240000"),
        ):
            groups.add_participant(
                actor=metropole,
                consultation_id=consultation.pk,
                participant=demo_organisation(key).slug,
                share_percent=Decimal(percent),
                share_amount=Decimal(amount),
            )
        espd_selection.set_criterion(
            actor=metropole,
            consultation_id=consultation.pk,
            data=espd_selection.SetCriterion(
                code="gen-year-to", minimum_amount=Decimal("1000000"), years=3
            ),
        )
        # Its files, like every demo consultation's (demo.py).
        add_demo_files(metropole, consultation.pk)
        services.publish_consultation(actor=metropole, consultation_id=consultation.pk)
    return 1
