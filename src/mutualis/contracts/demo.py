"""The demo's past procedures, carried to every stage after the publication: offers
sealed and waiting for the opening, opened and being analysed, awarded with the letters
sent and the standstill running, contracts signed, notified, in execution, amended,
completed, and an unsuccessful procedure (a step of ``mutualis seed_demo``, after the
consultations and the bidders).

Each procedure is written through the services of each context, as the buyer, the
commission member and the bidders would act on their pages: procurement publishes it in
the past (weeks ago), deposits seals the offers to its opening key and back-dates their
reception (``deposits/demo.py`` says how), the commission member opens them today, the
buyer analyses, awards and signs today. The procedures of an adapted procedure (MAPA)
have no standstill period, so theirs go on to the contract; the formal ones stop at the
standstill. Idempotent: a procedure whose reference exists is left as it is.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_scopes import scope

from mutualis.companies import demo as companies_demo
from mutualis.companies.models import Company, Representative
from mutualis.core.pdf import text_pdf
from mutualis.deposits import demo as deposits_demo
from mutualis.evaluation import services as evaluation
from mutualis.procurement import demo as procurement_demo
from mutualis.procurement import services as procurement
from mutualis.procurement.models import Consultation
from mutualis.procurement.services import ConsultationInput

from . import awards, records
from .models import Award, AwardOutcome


@dataclasses.dataclass(frozen=True)
class Journey:
    member: str
    reference: str
    title: str
    procedure: str
    category: str
    main_cpv: str
    estimated: str
    published_days_ago: int
    # (bidder's index in companies.demo.BIDDERS, price excl. VAT); the first one wins.
    offers: tuple[tuple[int, str], ...]
    # sealed, analysing, awarded, signed, notified, executing, amended, completed,
    # unsuccessful
    stage: str
    duration_months: int = 12


JOURNEYS: list[Journey] = [
    Journey("commune:21231", "DEMO-2026-101", "Réfection de la toiture du gymnase Maurice",
            "adapted", "works", "45261000", "85000", 60, ((0, "78450.00"), (2, "81200.00")),
            "completed", 6),
    Journey("commune:21231", "DEMO-2026-102", "Éclairage public à LED du quartier des Grésilles",
            "adapted", "works", "45316100", "120000", 75,
            ((2, "109800.00"), (0, "118500.00"), (1, "131000.00")), "amended", 10),
    Journey("commune:21231", "DEMO-2026-103", "Maintenance du parc informatique des écoles",
            "adapted", "services", "50312000", "45000", 55, ((5, "41760.00"), (6, "47900.00")),
            "executing", 24),
    Journey("commune:21231", "DEMO-2026-104", "Nettoyage des bâtiments municipaux",
            "adapted", "services", "90911200", "150000", 70,
            ((6, "142300.00"), (3, "155000.00")), "notified", 36),
    Journey("commune:21231", "DEMO-2026-105", "Élagage des arbres d'alignement",
            "adapted", "services", "77211400", "30000", 50, ((4, "27640.00"),), "signed", 12),
    Journey("commune:21231", "DEMO-2026-106", "Restauration scolaire : repas en liaison froide",
            "open", "supplies", "15894210", "900000", 80,
            ((3, "842000.00"), (1, "910500.00")), "awarded", 48),
    Journey("commune:21231", "DEMO-2026-107", "Réaménagement de la place du marché",
            "adapted", "works", "45233253", "380000", 45,
            ((1, "362000.00"), (0, "371400.00"), (2, "399900.00")), "analysing", 8),
    Journey("commune:21231", "DEMO-2026-108", "Vidéoprotection du parc de la Colombière",
            "adapted", "supplies", "32323500", "60000", 40,
            ((5, "55300.00"), (2, "58100.00")), "sealed", 6),
    Journey("epci:242100410", "DEMO-MET-2026-11", "Entretien des bassins de rétention",
            "adapted", "services", "90513000", "70000", 65, ((4, "66200.00"), (6, "72800.00")),
            "executing", 24),
    Journey("epci:242100410", "DEMO-MET-2026-12", "Travaux de voirie de la ZAE Est",
            "adapted", "works", "45233140", "240000", 90,
            ((1, "228700.00"), (0, "236900.00")), "completed", 5),
    Journey("epci:242100410", "DEMO-MET-2026-13", "Fourniture de bacs de collecte des déchets",
            "adapted", "supplies", "34928480", "95000", 58, (), "unsuccessful"),
]  # fmt: skip


def _bidders() -> list[tuple[Company, Any]]:
    found: list[tuple[Company, Any]] = []
    for siret, *_rest in companies_demo.BIDDERS:
        company = Company.objects.get(siren=siret[:9])
        with scope(company=company.pk):
            admin = Representative.objects.filter(company=company).order_by("pk").first()
        found.append((company, admin))
    return found


def _offer_pdf(journey: Journey, company: Company, price: str) -> bytes:
    return text_pdf(
        [
            f"Offre de {company.name}",
            f"Consultation {journey.reference} : {journey.title}",
            f"Prix global et forfaitaire : {price} EUR HT",
            "Mémoire technique : moyens, méthode, calendrier (document de démonstration).",
        ],
        title=f"Offre {journey.reference}",
    )


def _publish(buyer: Any, journey: Journey, now: datetime) -> Consultation:
    start = now - timedelta(days=journey.published_days_ago)
    days = min(35, journey.published_days_ago - 5)
    data = ConsultationInput(
        reference=journey.reference,
        title=journey.title,
        object=journey.title,
        description=f"<p>{journey.title}.</p>",
        procedure=journey.procedure,
        category=journey.category,
        main_cpv=journey.main_cpv,
        place_of_execution=f"{buyer.organisation.name} (21000)",
        estimated_value=Decimal(journey.estimated),
        questions_deadline=procurement_demo.noon_in_paris(start + timedelta(days=days - 7)),
        response_deadline=procurement_demo.noon_in_paris(start + timedelta(days=days)),
        contact=f"Service de la commande publique — {buyer.organisation.name}",
        signature_required=False,
        # What the DECP of its contract needs (the form leaves them optional).
        ccag="works" if journey.category == "works" else "supplies_services",
        price_types=["firm"],
        price_form="lump_sum",
        duration_months=journey.duration_months,
    )
    consultation = procurement.create_consultation(actor=buyer, data=data)
    procurement.add_criterion(actor=buyer, consultation_id=consultation.pk, label="Prix", weight=60)
    procurement.add_criterion(
        actor=buyer, consultation_id=consultation.pk, label="Valeur technique", weight=40
    )
    procurement_demo.add_demo_files(buyer, consultation.pk)
    procurement.publish_consultation(actor=buyer, consultation_id=consultation.pk, now=start)
    consultation.refresh_from_db()
    return consultation


def _analyse(buyer: Any, consultation: Consultation, prices: dict[int, str], close: bool) -> None:
    analysis = evaluation.open_analysis(actor=buyer, consultation_id=consultation.pk)
    criteria = {c.label: c for c in analysis.criteria.all()}
    evaluation.configure(
        actor=buyer,
        analysis_id=analysis.pk,
        price_method="proportional",
        scale="20",
        low_rule="ratio",
        low_threshold="70",
        price_criterion_id=criteria["Prix"].pk,
    )
    offers = list(analysis.offers.select_related("deposit"))
    for offer in offers:
        evaluation.set_price(
            actor=buyer,
            analysis_id=analysis.pk,
            offer_id=offer.pk,
            price=prices[offer.deposit.company_id],
        )
    evaluation.start_scoring(actor=buyer, analysis_id=analysis.pk)
    if not close:
        return
    technical = criteria["Valeur technique"].pk
    for rank, offer in enumerate(offers):
        evaluation.score_offer(
            actor=buyer,
            analysis_id=analysis.pk,
            offer_id=offer.pk,
            scores={technical: (str(17 - 2 * rank), "Mémoire technique complet et précis.")},
        )
    evaluation.close_analysis(actor=buyer, analysis_id=analysis.pk)


def _run(journey: Journey, now: datetime, bidders: list[tuple[Company, Representative]]) -> None:
    buyer = procurement_demo.buyer(journey.member)
    holder_key, _identity = deposits_demo.holder_identity(buyer)
    with scope(organisation=buyer.organisation_id):
        consultation = _publish(buyer, journey, now)
    published = consultation.published_at or now
    share = deposits_demo.register_key(
        buyer=buyer, consultation_id=consultation.pk, holder=holder_key, now=published
    )
    recipient = deposits_demo.recipient_of(consultation.pk)
    prices: dict[int, str] = {}
    for position, (index, price) in enumerate(journey.offers):
        company, _admin = bidders[index]
        prices[company.pk] = price
        deposits_demo.backdated_offer(
            consultation_id=consultation.pk,
            company_id=company.pk,
            recipient=recipient,
            files=[(f"offre-{company.siren}.pdf", _offer_pdf(journey, company, price))],
            received_at=consultation.response_deadline - timedelta(hours=30 - 5 * position),
        )
    procurement.advance_due_consultations(now=now)
    if journey.stage == "sealed":
        return
    if journey.stage == "unsuccessful":
        with scope(organisation=buyer.organisation_id):
            procurement.cancel_consultation(
                actor=buyer,
                consultation_id=consultation.pk,
                kind="unsuccessful",
                reason="Aucune offre n'a été reçue dans le délai.",
            )
        return
    deposits_demo.open_offers(
        buyer=buyer, holder=buyer, consultation_id=consultation.pk, share=share
    )
    with scope(organisation=buyer.organisation_id):
        _analyse(buyer, consultation, prices, close=journey.stage != "analysing")
    if journey.stage == "analysing":
        return
    winner, winner_admin = bidders[journey.offers[0][0]]
    award = awards.decide(
        actor=buyer,
        consultation_id=consultation.pk,
        lot_id=None,
        outcome=AwardOutcome.AWARDED,
        company_id=winner.pk,
        amount=journey.offers[0][1],
        reasons=(
            "L'offre retenue est la mieux classée au regard des critères pondérés "
            "(prix 60 %, valeur technique 40 %)."
        ),
    )
    award = awards.notify(actor=buyer, award_id=award.pk)
    if journey.stage == "awarded":
        return
    siret = next(s for s, *_rest in companies_demo.BIDDERS if s.startswith(winner.siren))
    contract = records.sign(
        actor=buyer,
        award_id=award.pk,
        reference=journey.reference.replace("DEMO-", "M")[:16],
        holder_siret=siret,
        amount=journey.offers[0][1],
        duration_months=journey.duration_months,
        signed_on=timezone.localdate(),
    )
    if journey.stage == "signed":
        return
    records.send_notification(actor=buyer, contract_id=contract.pk)
    if journey.stage == "notified":
        return
    records.confirm_receipt(representative=winner_admin, contract_id=contract.pk)
    records.start_execution(actor=buyer, contract_id=contract.pk, started_on=timezone.localdate())
    if journey.stage == "amended":
        records.amend(
            actor=buyer,
            contract_id=contract.pk,
            object="Extension de l'éclairage à la rue des Lilas.",
            notified_on=timezone.localdate(),
            new_amount=str(Decimal(journey.offers[0][1]) * Decimal("1.08")),
        )
    if journey.stage == "completed":
        records.complete(actor=buyer, contract_id=contract.pk, ended_on=timezone.localdate())


def seed_journeys(stdout: Any) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    # seed_demo runs every step inside crossings.for_every_member(): no scope here.
    bidders = _bidders()
    done = set(
        Consultation.objects.filter(reference__in=[j.reference for j in JOURNEYS]).values_list(
            "reference", flat=True
        )
    )
    created = 0
    for journey in JOURNEYS:
        if journey.reference in done:
            continue
        _run(journey, now, bidders)
        created += 1
    contracted = Award.objects.filter(contract__isnull=False).count()
    stdout.write(
        f"  {created} past procedures carried to every stage ({contracted} contracts); the "
        f"commission member's key passphrase (mairie@dijon.localhost): "
        f"{deposits_demo.HOLDER_PASSPHRASE}"
    )
