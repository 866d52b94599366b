"""The procurement context's demo data: consultations of two demo members, in every state
(a step of ``mutualis seed_demo``, after the accounts).

Written through the services, as the demo's buyer (Camille Bernard, buyer at Dijon and at
Dijon Métropole), so that each one has its audit events. A closed consultation needs a
deadline in the past, which a buyer can never enter: it is published with ``now`` set
back in time, then the periodic job's own service closes it.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_scopes import scope

from mutualis.core.demo import demo_organisation
from mutualis.identity.models import Membership

from . import deadlines, demo_files, documents, rectifications, services
from .models import Consultation, Rectification
from .services import ConsultationInput, LotInput

BUYER_EMAIL = "mairie@dijon.localhost"

# (member, reference, title, object, procedure, category, main CPV, days to the deadline,
#  lots [(title, CPV codes, value)], criteria [(label, weight)], what becomes of it)
CONSULTATIONS: list[tuple[Any, ...]] = [
    (
        "commune:21231",
        "DEMO-2027-001",
        "Rénovation énergétique de l'école Jean-Jaurès",
        "Isolation par l'extérieur, remplacement des menuiseries et de la chaufferie.",
        "adapted",
        "works",
        "45000000",
        30,
        [
            ("Isolation thermique par l'extérieur", ["45321000"], "180000"),
            ("Menuiseries extérieures", ["45421000"], "95000"),
            ("Chauffage et ventilation", ["45331000"], "120000"),
        ],
        [("Prix", 40), ("Valeur technique", 50), ("Performances environnementales", 10)],
        "open",
    ),
    (
        "commune:21231",
        "DEMO-2027-002",
        "Fourniture de repas pour la restauration scolaire",
        "Fourniture et livraison en liaison froide de repas pour les écoles de la ville.",
        "open",
        "supplies",
        "15894000",
        45,
        [],
        [("Prix", 30), ("Qualité des produits", 50), ("Circuits courts", 20)],
        "open",
    ),
    (
        "commune:21231",
        "DEMO-2027-003",
        "Entretien des espaces verts",
        "Tonte, taille et entretien des parcs et jardins municipaux.",
        "adapted",
        "services",
        "77310000",
        40,
        [],
        [("Prix", 60), ("Valeur technique", 40)],
        "scheduled",
    ),
    (
        "epci:242100410",
        "DEMO-MET-2027-01",
        "Maintenance du réseau de vidéoprotection",
        "Maintenance préventive et corrective des caméras et du réseau de transmission.",
        "adapted",
        "services",
        "50343000",
        20,
        [
            ("Maintenance des caméras", ["50343000"], "60000"),
            ("Réseau de transmission", ["32412000"], "40000"),
        ],
        [("Prix", 50), ("Valeur technique", 50)],
        "closed",
    ),
    (
        "epci:242100410",
        "DEMO-MET-2027-02",
        "Acquisition de véhicules électriques utilitaires",
        "Achat de douze véhicules utilitaires légers électriques et de leurs bornes.",
        "open",
        "supplies",
        "34144900",
        35,
        [],
        [("Prix", 60), ("Autonomie et garanties", 40)],
        "cancelled",
    ),
    (
        "epci:242100410",
        "DEMO-MET-2027-03",
        "Étude de faisabilité d'un réseau de chaleur",
        "Étude technique et économique d'un réseau de chaleur urbain alimenté en biomasse.",
        "adapted",
        "services",
        "71314310",
        25,
        [],
        [],
        "open",
    ),
]


def buyer(member_key: str) -> Membership:
    organisation = demo_organisation(member_key)
    return Membership.objects.get(organisation=organisation, user__email=BUYER_EMAIL)


def noon_in_paris(moment: datetime) -> datetime:
    """Deadlines at noon, Paris time, as buyers set them."""
    return deadlines.from_paris(deadlines.to_paris(moment).replace(hour=12, minute=0))


def seed_consultations(stdout: Any) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    created = 0
    for row in CONSULTATIONS:
        member, reference, title, obj, procedure, category, main_cpv, days = row[:8]
        lots, criteria, fate = row[8:]
        actor = buyer(member)
        with scope(organisation=actor.organisation_id):
            if Consultation.objects.filter(
                organisation_id=actor.organisation_id, reference=reference
            ).exists():
                continue
            # A closed one ran in the past: its dates are set back by its deadline and a day.
            start = now - timedelta(days=days + 1) if fate == "closed" else now
            data = ConsultationInput(
                reference=reference,
                title=title,
                object=obj,
                description=f"<p>{obj}</p><p>Le dossier de consultation sera mis en ligne.</p>",
                procedure=procedure,
                category=category,
                main_cpv=main_cpv,
                place_of_execution=actor.organisation.name,
                estimated_value=sum((Decimal(v) for _t, _c, v in lots), Decimal(0)) or None,
                questions_deadline=noon_in_paris(start + timedelta(days=days - 7)),
                response_deadline=noon_in_paris(start + timedelta(days=days)),
                contact=f"Service de la commande publique — {actor.organisation.name}",
                signature_required=procedure == "open",
            )
            consultation = services.create_consultation(actor=actor, data=data)
            for number, (lot_title, codes, value) in enumerate(lots, start=1):
                services.add_lot(
                    actor=actor,
                    consultation_id=consultation.pk,
                    data=LotInput(
                        number=number,
                        title=lot_title,
                        cpv_codes=codes,
                        estimated_value=Decimal(value),
                    ),
                )
            for label, weight in criteria:
                services.add_criterion(
                    actor=actor, consultation_id=consultation.pk, label=label, weight=weight
                )
            add_demo_files(actor, consultation.pk)
            if fate == "scheduled":
                services.schedule_consultation(
                    actor=actor, consultation_id=consultation.pk, publish_at=now + timedelta(days=2)
                )
            elif fate in ("open", "cancelled"):
                services.publish_consultation(actor=actor, consultation_id=consultation.pk)
            elif fate == "closed":
                services.publish_consultation(
                    actor=actor, consultation_id=consultation.pk, now=start
                )
            if fate == "cancelled":
                services.cancel_consultation(
                    actor=actor,
                    consultation_id=consultation.pk,
                    kind="discontinued",
                    reason="Le besoin est redéfini : une nouvelle consultation sera publiée.",
                )
            created += 1
    # Records what time decided (the closed one), as the periodic job would.
    services.advance_due_consultations(now=now)
    _rectify_one(now)
    stdout.write(f"  {created} demo consultations created (procurement).")


def add_demo_files(actor: Membership, consultation_id: int) -> None:
    consultation = Consultation.objects.select_related("organisation").get(pk=consultation_id)
    documents.add_documents(
        actor=actor,
        consultation_id=consultation_id,
        uploads=[
            documents.Upload(file=io.BytesIO(data), name=name)
            for name, data in demo_files.dce(consultation)
        ],
    )


# The open consultation that the demo rectifies once: a week more, and an addendum.
RECTIFIED = ("commune:21231", "DEMO-2027-001")


def _rectify_one(now: datetime) -> None:
    actor = buyer(RECTIFIED[0])
    with scope(organisation=actor.organisation_id):
        consultation = (
            Consultation.objects.select_related("organisation")
            .filter(organisation_id=actor.organisation_id, reference=RECTIFIED[1])
            .first()
        )
        if consultation is None or Rectification.objects.filter(consultation=consultation).exists():
            return
        rectifications.rectify_consultation(
            actor=actor,
            consultation_id=consultation.pk,
            data=rectifications.RectificationInput(
                summary=(
                    "Report d'une semaine de la date limite de remise des offres, pour "
                    "permettre la visite du site ; additif n° 1 au règlement de la consultation."
                ),
                response_deadline=consultation.response_deadline + timedelta(days=7),
                add=[
                    documents.Upload(
                        file=io.BytesIO(demo_files.additif(consultation)),
                        name="Additif n° 1.pdf",
                    )
                ],
            ),
            now=now,
        )


# --- Identified downloaders, questions and answers (a step after the consultations) -----

BUSINESS_EMAIL = "gerant@menuiserie.localhost"
BUSINESS_SIREN = "832741656"
# (reference, [(name, e-mail, SIRET)], [(question, answer or None)], information or "")
QUESTIONS: list[tuple[str, list[tuple[str, str, str]], list[tuple[str, str | None]], str]] = [
    (
        "DEMO-2027-001",
        [
            ("Claire Fontaine", "c.fontaine@isolation-bourgogne.localhost", "81246035000018"),
            ("Marc Petit", "marc.petit@chauffage-cote-dor.localhost", "79315862700018"),
        ],
        [
            (
                "Une visite du site est-elle obligatoire avant la remise des offres ?",
                "<p>Oui : une visite est <strong>obligatoire</strong>. Deux créneaux sont "
                "proposés ; l'attestation de visite est à joindre à l'offre.</p>",
            ),
            (
                "Les menuiseries existantes contiennent-elles de l'amiante ?",
                "<p>Le diagnostic amiante avant travaux est joint au dossier de consultation "
                "(pièce 6) : aucune menuiserie n'en contient.</p>",
            ),
            ("Peut-on proposer une variante en bois-aluminium pour le lot 2 ?", None),
        ],
        "<p>La date limite de remise des offres n'est pas modifiée. Les plans de "
        "l'étage ont été ajoutés au dossier.</p>",
    ),
    (
        "DEMO-2027-002",
        [("Sophie Garnier", "s.garnier@restauration-dijon.localhost", "84027719800015")],
        [
            (
                "Quel est le nombre moyen de repas servis par jour ?",
                "<p>Environ 2 400 repas par jour scolaire, dont 10 % de menus sans viande.</p>",
            ),
        ],
        "",
    ),
]


def seed_questions(stdout: Any) -> None:
    """A few identified downloaders (the demo business among them), their questions and
    the buyer's answers on the open demo consultations."""
    from django.contrib.auth import get_user_model

    from . import downloaders, questions
    from .downloaders import Identification
    from .models import Question

    business = get_user_model().objects.filter(email=BUSINESS_EMAIL).first()
    asked = 0
    for reference, people, exchanges, information in QUESTIONS:
        actor = buyer("commune:21231")
        with scope(organisation=actor.organisation_id):
            consultation = Consultation.objects.filter(
                organisation_id=actor.organisation_id, reference=reference
            ).first()
            if consultation is None or Question.objects.filter(consultation=consultation).exists():
                continue
        lines = []
        if business is not None:
            lines.append(
                downloaders.identify_with_account(
                    consultation_id=consultation.pk, user=business, company_siren=BUSINESS_SIREN
                )
            )
        for name, email, siret in people:
            line = downloaders.identify_with_siret(
                consultation_id=consultation.pk, name=name, email=email, siret=siret, source=None
            )
            lines.append(downloaders.confirm_email(token=downloaders.confirmation_token(line)))
        for n, (text, answer) in enumerate(exchanges):
            line = lines[n % len(lines)]
            found = Identification(consultation.pk, consultation.organisation_id, line.pk, True)
            question = questions.ask_question(found=found, text=text)
            asked += 1
            if answer is not None:
                with scope(organisation=actor.organisation_id):
                    questions.publish_answer(
                        actor=actor,
                        consultation_id=consultation.pk,
                        question_id=question.pk,
                        body=answer,
                    )
        if information:
            with scope(organisation=actor.organisation_id):
                questions.publish_answer(
                    actor=actor, consultation_id=consultation.pk, body=information
                )
    stdout.write(f"  {asked} demo questions asked (procurement).")


def seed_archives(stdout: Any) -> None:
    """The ZIP of every published demo consultation's files, written now: the demo's task
    backend (the database) runs jobs only when a worker runs."""
    from . import archives

    written = archives.archive_missing()
    stdout.write(f"  {written} consultation archives written (procurement).")
