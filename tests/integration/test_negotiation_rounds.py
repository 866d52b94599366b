"""Negotiation rounds (procurement.rounds, evaluation.negotiation): where the procedure
allows it and the analysis of the offers is closed, the buyer invites some bidders to
improve their offers in a round — a consultation of its own, child of the negotiated one,
never public, with its own deadline, opening key, log, opening and analysis; the award
falls on the last round and the open data folds the chain into the first consultation."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.contracts import archive, awards, records
from mutualis.contracts import errors as contract_errors
from mutualis.contracts.models import ArchivePackage, AwardLetter, LetterKind
from mutualis.core import files as file_store
from mutualis.decp import validation
from mutualis.decp.models import DecpEntry
from mutualis.deposits.models import Phase
from mutualis.evaluation import errors, negotiation, services
from mutualis.evaluation.models import AnalysisCriterion, Offer
from mutualis.integrity import crossings as integrity_crossings
from mutualis.integrity.computation import Procedure, with_roots
from mutualis.integrity.computation import Result as IntegrityResult
from mutualis.integrity.computation import _short_deadline as short_deadlines
from mutualis.messaging.models import Message, MessageKind
from mutualis.observatory import crossings as observatory_crossings
from mutualis.observatory.models import ProcedureFact, Refresh
from mutualis.ocds import crossings as ocds_crossings
from mutualis.procurement import deadlines, rounds
from mutualis.procurement.models import Consultation
from tests.factories.companies import valid_siret
from tests.factories.core import audit_events
from tests.factories.decp import COMPLETE, with_siret
from tests.factories.deposits_opening import (
    close_on_time_section,
    commission_holder,
    make_deposit,
    one_holder_key,
    open_through_the_pages,
    pass_deadline,
)
from tests.factories.evaluation import bidder
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _time_stamping_authority():
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def holder(buyer):
    return commission_holder(buyer.organisation)


@pytest.fixture
def bidders(db):
    return (
        bidder(1, "Menuiserie Dupont"),
        bidder(2, "Charpente Martin"),
        bidder(3, "Zinguerie Roux"),
        bidder(4, "Toiture Tardive"),
    )


def sealed(consultation, buyer, holder):
    """The consultation's own opening key, one holder, threshold 1."""
    consultation.test_share = one_holder_key(consultation, buyer, holder[1])
    return consultation


def open_with_the_holder(buyer, holder, consultation) -> Client:
    """The deadline passed, the on-time log closed, the opening done through the pages."""
    close_on_time_section(consultation)
    pass_deadline(consultation)
    return open_through_the_pages(
        consultation, buyer=buyer, holder=holder[0], share=consultation.test_share
    )


def leaves(analysis) -> dict[str, AnalysisCriterion]:
    with scopes_disabled():
        return {
            c.label: c
            for c in AnalysisCriterion.objects.filter(analysis=analysis)
            if not c.is_price and not c.subcriteria.exists()
        }


def analyse(buyer, analysis, results: dict[int, tuple[str, str]]) -> None:
    """Price and score each offer (``results``: company id → price, score on every
    scored criterion), then close."""
    with scopes_disabled():
        offers = {o.deposit.company_id: o for o in Offer.objects.filter(analysis=analysis)}
    assert set(offers) == set(results)
    for company_id, (price, _score) in results.items():
        services.set_price(
            actor=buyer, analysis_id=analysis.pk, offer_id=offers[company_id].pk, price=price
        )
    services.start_scoring(actor=buyer, analysis_id=analysis.pk)
    scored = leaves(analysis)
    for company_id, (_price, score) in results.items():
        services.score_offer(
            actor=buyer, analysis_id=analysis.pk, offer_id=offers[company_id].pk,
            scores={c.pk: (score, "") for c in scored.values()},
        )  # fmt: skip
    services.close_analysis(actor=buyer, analysis_id=analysis.pk)


def paris_field(days: int) -> str:
    return deadlines.to_paris(timezone.now() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def analysed(buyer, holder, bidders):
    """An adapted procedure that reserves negotiation: three offers on time and one late,
    opened by the commission; the analysis (linear price, the technical value split in
    two) closed."""
    first, second, third, late = bidders
    with_siret(buyer.organisation)
    decp_facts = {**COMPLETE, "procedure": "adapted"}
    consultation = sealed(
        make_consultation(buyer, publish=True, negotiation_reserved=True, **decp_facts),
        buyer,
        holder,
    )
    for representative in (first, second, third):
        make_deposit(consultation, representative, [("offre.pdf", b"%PDF-1.4 offre")])
    make_deposit(consultation, late, [("offre.pdf", b"%PDF-1.4 tardive")], late=True)
    buyer_client = open_with_the_holder(buyer, holder, consultation)
    analysis = services.open_analysis(actor=buyer, consultation_id=consultation.pk)
    with scopes_disabled():
        price = AnalysisCriterion.objects.get(analysis=analysis, is_price=True)
        technical = AnalysisCriterion.objects.get(analysis=analysis, is_price=False)
    services.configure(
        actor=buyer, analysis_id=analysis.pk, price_method="linear", scale="10",
        low_rule="ratio", low_threshold="80", price_criterion_id=price.pk,
    )  # fmt: skip
    for label, weight in (("Méthodologie", "35"), ("Équipe", "25")):
        services.add_subcriterion(
            actor=buyer, analysis_id=analysis.pk, parent_id=technical.pk, label=label,
            weight=weight,
        )  # fmt: skip
    analyse(
        buyer,
        analysis,
        {
            first.company_id: ("100000", "8"),
            second.company_id: ("95000", "7"),
            third.company_id: ("120000", "5"),
        },
    )
    consultation.buyer_client = buyer_client
    return consultation


# --- The rule -------------------------------------------------------------------------------


def ask_for_a_round(buyer, consultation):
    """A round on ``consultation``'s offers with any company, in ten days."""
    return negotiation.open_round(
        actor=buyer, consultation_id=consultation.pk, company_ids=[1],
        deadline=timezone.now() + timedelta(days=10),
    )  # fmt: skip


def test_a_call_for_tenders_never_negotiates(buyer, bidders):
    for procedure in ("open", "restricted"):
        consultation = make_consultation(
            buyer, publish=True, procedure=procedure, reference=f"AO-{procedure}",
            negotiation_reserved=True,
        )  # fmt: skip
        pass_deadline(consultation)
        with pytest.raises(rounds.NegotiationNotAllowed):
            ask_for_a_round(buyer, consultation)


def test_an_adapted_procedure_negotiates_only_when_its_rules_reserve_it(buyer):
    consultation = make_consultation(buyer, publish=True)
    pass_deadline(consultation)
    with pytest.raises(rounds.NegotiationNotAllowed):
        ask_for_a_round(buyer, consultation)


def test_a_negotiated_procedure_negotiates_its_offers_not_its_applications(buyer):
    consultation = make_consultation(buyer, publish=True, procedure="negotiated")
    pass_deadline(consultation)
    with pytest.raises(rounds.NegotiateOffers):
        ask_for_a_round(buyer, consultation)


def test_the_buyers_form_records_that_negotiation_is_reserved(client, buyer):
    client.force_login(buyer.user)
    data = {
        "reference": "2027-NEG",
        "title": "Entretien des espaces verts",
        "object": "Tonte et taille.",
        "procedure": "adapted",
        "category": "services",
        "contract_nature": "contract",
        "main_cpv": "77310000-6",
        "questions_deadline": "2099-03-18T12:00",
        "response_deadline": "2099-04-02T12:00",
        "contact": "marches@commune-a.example",
    }
    new = reverse("procurement:new", kwargs={"org": "commune-a"})
    assert client.post(new, {**data, "negotiation_reserved": "on"}).status_code == 302
    assert client.post(new, {**data, "reference": "2027-SANS"}).status_code == 302
    with scope(organisation=buyer.organisation_id):
        reserved = dict(
            Consultation.objects.filter(reference__startswith="2027-").values_list(
                "reference", "negotiation_reserved"
            )
        )
    assert reserved == {"2027-NEG": True, "2027-SANS": False}


# --- The service's refusals -----------------------------------------------------------------


def test_a_round_waits_for_the_deadline_and_the_closed_analysis(buyer, holder, bidders):
    first = bidders[0]
    consultation = sealed(
        make_consultation(buyer, publish=True, negotiation_reserved=True), buyer, holder
    )
    make_deposit(consultation, first, [("offre.pdf", b"%PDF-1.4 offre")])
    soon = timezone.now() + timedelta(days=30)
    with pytest.raises(rounds.NotNegotiable):
        negotiation.open_round(
            actor=buyer, consultation_id=consultation.pk, company_ids=[first.company_id],
            deadline=soon,
        )  # fmt: skip
    open_with_the_holder(buyer, holder, consultation)
    with pytest.raises(errors.AnalysisNotClosed):
        negotiation.open_round(
            actor=buyer, consultation_id=consultation.pk, company_ids=[first.company_id],
            deadline=soon,
        )  # fmt: skip
    services.open_analysis(actor=buyer, consultation_id=consultation.pk)
    with pytest.raises(errors.AnalysisNotClosed):
        negotiation.open_round(
            actor=buyer, consultation_id=consultation.pk, company_ids=[first.company_id],
            deadline=soon,
        )  # fmt: skip
    with scopes_disabled():
        assert not Consultation.objects.filter(parent=consultation).exists()


def test_the_round_refuses_bad_choices(buyer, analysed, bidders):
    first, _second, _third, late = bidders
    soon = timezone.now() + timedelta(days=10)

    def attempt(**kwargs):
        values = {"company_ids": [first.company_id], "deadline": soon, **kwargs}
        return negotiation.open_round(actor=buyer, consultation_id=analysed.pk, **values)

    with pytest.raises(rounds.NobodyToNegotiateWith):
        attempt(company_ids=[])
    with pytest.raises(rounds.RoundDeadlineInPast):
        attempt(deadline=timezone.now() - timedelta(minutes=1))
    # A late offer is eliminated: never invited; nor a company that made no offer.
    with pytest.raises(errors.NotABidder):
        attempt(company_ids=[first.company_id, late.company_id])
    with pytest.raises(errors.NotABidder):
        attempt(company_ids=[999_999])
    for message in ("nul\x00", "x" * (negotiation.MAX_MESSAGE + 1)):
        with pytest.raises(errors.MessageInvalid):
            attempt(message=message)
    with scopes_disabled():
        assert not Consultation.objects.filter(parent=analysed).exists()
    attempt()
    # One round at a time on the same offers: the next negotiates the round's.
    with pytest.raises(rounds.LaterRoundExists):
        attempt()


def test_another_member_cannot_open_a_round(client, agent_b, analysed, bidders):
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    answer = client.post(
        reverse("evaluation:round_open", kwargs={"org": "commune-b", "pk": analysed.pk}),
        {"companies": [bidders[0].company_id], "deadline": paris_field(10)},
    )
    assert answer.status_code in (302, 404)
    with pytest.raises(errors.NotFound):
        negotiation.open_round(
            actor=agent_b, consultation_id=analysed.pk, company_ids=[bidders[0].company_id],
            deadline=timezone.now() + timedelta(days=10),
        )  # fmt: skip
    with scopes_disabled():
        assert not Consultation.objects.filter(parent=analysed).exists()


def test_the_form_refuses_bad_input_with_a_message(buyer, analysed, bidders):
    url = reverse("evaluation:round_open", kwargs={"org": "commune-a", "pk": analysed.pk})
    for data in (
        {"companies": [bidders[0].company_id], "deadline": "demain"},
        {"companies": [bidders[0].company_id], "deadline": "2027-03-28T02:30"},
        {"companies": ["x" * 5000], "deadline": paris_field(10)},
        {"companies": [bidders[0].company_id], "deadline": "9" * 5000},
        {"companies": [bidders[0].company_id], "deadline": paris_field(10), "message": "é" * 6000},
    ):
        answer = analysed.buyer_client.post(url, data, follow=True)
        assert answer.status_code == 200
        assert answer.redirect_chain[-1][0].endswith(f"/procurement/{analysed.pk}/")
    # A NUL byte is refused at the edge, with its message, before any view.
    refused = analysed.buyer_client.post(
        url, {"companies": [bidders[0].company_id], "deadline": "\x00" * 50}
    )
    assert refused.status_code == 400
    with scopes_disabled():
        assert not Consultation.objects.filter(parent=analysed).exists()


# --- The whole chain ------------------------------------------------------------------------


def test_the_whole_chain_to_the_award_on_round_one(buyer, holder, analysed, bidders):
    first, second, third, late = bidders
    buyer_client = analysed.buyer_client

    # Given a closed analysis, the buyer's page offers the round to the three bidders
    # ranked, not to the late one.
    page = buyer_client.get(
        reverse("procurement:detail", kwargs={"org": "commune-a", "pk": analysed.pk})
    ).content.decode()
    round_url = reverse("evaluation:round_open", kwargs={"org": "commune-a", "pk": analysed.pk})
    assert round_url in page
    assert f'value="{third.company_id}"' in page
    assert f'value="{late.company_id}"' not in page

    # When it invites two of the three.
    opened = buyer_client.post(
        round_url,
        {
            "companies": [first.company_id, second.company_id],
            "deadline": paris_field(12),
            "message": "Merci de revoir votre prix et votre planning.",
        },
    )
    assert opened.status_code == 302
    with scopes_disabled():
        round_one = Consultation.objects.get(parent=analysed)
        invited = set(round_one.invited_companies.values_list("pk", flat=True))
    assert opened["Location"] == f"/o/commune-a/procurement/{round_one.pk}/"
    assert round_one.round == 1
    assert round_one.reference == "2027-001-N1"
    assert round_one.state == "published"
    assert invited == {first.company_id, second.company_id}
    assert round_one.response_deadline > timezone.now() + timedelta(days=11)
    with scopes_disabled():
        assert [(c.label, c.weight) for c in round_one.criteria.order_by("position")] == [
            ("Prix", 40),
            ("Valeur technique", 60),
        ]
    assert len(audit_events(buyer.organisation, "consultation.round_opened")) == 1

    # Each invited bidder gets an invitation to negotiate, with the round's deadline.
    with scopes_disabled():
        sent = list(Message.for_organisation.filter(kind=MessageKind.NEGOTIATION))
    assert {m.company_id for m in sent} == invited
    assert {m.thread.consultation_id for m in sent} == {round_one.pk}
    assert {m.reply_by for m in sent} == {round_one.response_deadline}
    assert all("Merci de revoir votre prix" in m.body for m in sent)

    # The buyer's pages list the steps: the first consultation and round 1.
    landing = buyer_client.get(opened["Location"]).content.decode()
    assert f"/o/commune-a/procurement/{analysed.pk}/" in landing
    assert "2027-001-N1" in landing
    key_url = reverse("deposits_keys:opening_key", kwargs={"org": "commune-a", "pk": round_one.pk})
    assert key_url in landing
    first_page = buyer_client.get(
        reverse("procurement:detail", kwargs={"org": "commune-a", "pk": analysed.pk})
    ).content.decode()
    assert f"/o/commune-a/procurement/{round_one.pk}/" in first_page
    # No second round on the same offers: the form is gone from the first page.
    assert round_url not in first_page

    # The invited company finds its way from the first consultation's page; the third
    # one neither sees the way nor the round.
    def company_page(representative, pk):
        client = Client()
        client.force_login(representative.user)
        return client.get(
            reverse(
                "company_deposits:consultation",
                kwargs={"company": representative.company.siren, "pk": pk},
            )
        )

    assert f"/deposits/consultations/{round_one.pk}/" in (
        company_page(first, analysed.pk).content.decode()
    )
    assert f"/deposits/consultations/{round_one.pk}/" not in (
        company_page(third, analysed.pk).content.decode()
    )
    assert company_page(first, round_one.pk).status_code == 200
    assert company_page(third, round_one.pk).status_code == 404
    # Never public.
    public_url = reverse("consultations:detail", kwargs={"pk": round_one.pk})
    assert Client().get(public_url).status_code == 404

    # An award on the superseded offers is refused.
    with pytest.raises(contract_errors.LaterRoundExists):
        awards.decide(
            actor=buyer, consultation_id=analysed.pk, lot_id=None, outcome="awarded",
            company_id=first.company_id, amount="100000", reasons="Mieux classée.",
        )  # fmt: skip

    # The round's own opening key, the improved offers, the round's opening.
    sealed(round_one, buyer, holder)
    for representative in (first, second):
        deposit = make_deposit(round_one, representative, [("offre.pdf", b"%PDF-1.4 v2")])
        assert deposit.phase == Phase.OFFER
    open_with_the_holder(buyer, holder, round_one)

    # The round's log is published on the first consultation's public page.
    public = Client().get(reverse("consultations:detail", kwargs={"pk": analysed.pk}))
    assert (
        reverse("deposits_proof:root_json", kwargs={"pk": round_one.pk, "section": "on_time"})
        in public.content.decode()
    )

    # The round's analysis starts as the first ended: same settings and sub-criteria.
    analysis = services.open_analysis(actor=buyer, consultation_id=round_one.pk)
    assert analysis.price_method == "linear"
    assert set(leaves(analysis)) == {"Méthodologie", "Équipe"}
    analyse(
        buyer,
        analysis,
        {first.company_id: ("91000", "8"), second.company_id: ("93000", "7")},
    )

    # Then the award on round 1, notified to its bidders.
    award = awards.decide(
        actor=buyer, consultation_id=round_one.pk, lot_id=None, outcome="awarded",
        company_id=first.company_id, amount="91000", reasons="Offre la mieux classée.",
    )  # fmt: skip
    award = awards.notify(actor=buyer, award_id=award.pk)
    # Every bidder of the procedure is told, the ones the round did not invite too.
    assert award.bidders == 4
    with scopes_disabled():
        letters = dict(
            AwardLetter.for_organisation.filter(award=award).values_list("company_id", "kind")
        )
    assert letters == {
        first.company_id: LetterKind.AWARD,
        second.company_id: LetterKind.REJECTION,
        third.company_id: LetterKind.REJECTION,
        late.company_id: LetterKind.REJECTION,
    }

    # The open data folds the chain into the first consultation: the award once, every
    # bidder of the procedure.
    facts = ocds_crossings.procedure_facts(round_one.pk)
    assert facts is not None
    assert facts.consultation.pk == analysed.pk
    assert [a.pk for a in facts.awards] == [award.pk]
    assert {c.pk for c in facts.tenderers} == {
        first.company_id,
        second.company_id,
        third.company_id,
    }
    # The contract's DECP entry counts the offers of the whole procedure, four.
    with scopes_disabled():
        siren = first.company.siren
    contract = records.sign(
        actor=buyer, award_id=award.pk, reference="2027-001-A", amount="91000",
        holder_siret=valid_siret(siren), duration_months=12, signed_on=timezone.now().date(),
    )  # fmt: skip
    records.send_notification(actor=buyer, contract_id=contract.pk)
    # As once committed: the receipt's ``contract_changed`` generates the entry.
    with TestCase.captureOnCommitCallbacks(execute=True):
        records.confirm_receipt(representative=first, contract_id=contract.pk)
    with scopes_disabled():
        entry = DecpEntry.objects.get(contract_id=contract.pk)
    assert validation.schema_problems(entry.data) == []
    assert entry.data["offresRecues"] == 4
    assert entry.data["procedure"] == "Procédure adaptée"

    # The procedure's archive package: the round's own steps, the first consultation's
    # opening and analysis among the earlier steps, every offer of the procedure.
    package = archive.request_package(actor=buyer, consultation_id=round_one.pk)
    archive.build(package.pk)
    with scopes_disabled():
        package = ArchivePackage.objects.select_related("file").get(pk=package.pk)
        with file_store.open_stored_file(package.file) as handle:
            files = archive.zip_entries(handle.read())
    earlier = f"earlier-steps/{analysed.pk}-{analysed.reference}/"
    for name in ("opening/minutes.pdf", "analysis/report.pdf", f"{earlier}opening/minutes.pdf",
                 f"{earlier}analysis/report.pdf", f"{earlier}analysis/report.xlsx"):  # fmt: skip
        assert name in files, name
    listed = {entry["path"] for entry in json.loads(files["manifest.json"])["files"]}
    assert f"{earlier}analysis/report.pdf" in listed
    archived = {d["company"]["siren"] for d in json.loads(files["deposits/deposits.json"])}
    assert len(archived) == 4  # the three analysed bidders and the late one

    # The observatory counts the procedure once, under its first consultation, with the
    # round's award; the integrity indicators fold the round into it too and never hold
    # a round's short deadline against the buyer.
    refresh = Refresh.objects.create(started_at=timezone.now())
    observatory_crossings.write_procedure_facts(refresh_id=refresh.pk)
    facts_rows = ProcedureFact.objects.filter(refresh_id=refresh.pk)
    assert list(facts_rows.values_list("consultation_id", "wins", "amount_awarded")) == [
        (analysed.pk, 1, Decimal("91000.00"))
    ]
    rows = integrity_crossings.procedure_facts().consultations
    procedures = with_roots({row[0]: Procedure(*row) for row in rows})
    assert procedures[round_one.pk].root == analysed.pk
    assert procedures[round_one.pk].round == 1


def test_a_second_round_negotiates_the_first_rounds_offers(buyer, holder, analysed, bidders):
    first, second, _third, _late = bidders
    round_one = negotiation.open_round(
        actor=buyer, consultation_id=analysed.pk,
        company_ids=[first.company_id, second.company_id],
        deadline=timezone.now() + timedelta(days=10),
    )  # fmt: skip
    sealed(round_one, buyer, holder)
    for representative in (first, second):
        make_deposit(round_one, representative, [("offre.pdf", b"%PDF-1.4 v2")])
    open_with_the_holder(buyer, holder, round_one)
    analysis = services.open_analysis(actor=buyer, consultation_id=round_one.pk)
    analyse(buyer, analysis, {first.company_id: ("91000", "8"), second.company_id: ("90000", "8")})
    round_two = negotiation.open_round(
        actor=buyer, consultation_id=round_one.pk, company_ids=[second.company_id],
        deadline=timezone.now() + timedelta(days=5),
    )  # fmt: skip
    assert (round_two.round, round_two.parent_id) == (2, round_one.pk)
    assert round_two.reference == "2027-001-N2"
    with scope(organisation=buyer.organisation_id):
        assert [c.pk for c in rounds.chain_of(round_two)] == [
            analysed.pk,
            round_one.pk,
            round_two.pk,
        ]
        assert rounds.ancestor_ids(round_two.pk) == [round_two.pk, round_one.pk, analysed.pk]
    # The invited company's way from the first page leads to its latest invitation.
    client = Client()
    client.force_login(second.user)
    page = client.get(
        reverse(
            "company_deposits:consultation",
            kwargs={"company": second.company.siren, "pk": analysed.pk},
        )
    ).content.decode()
    assert f"/deposits/consultations/{round_two.pk}/" in page
    # And back from the round to the procedure's public page (the round has none).
    round_page = client.get(
        reverse(
            "company_deposits:consultation",
            kwargs={"company": second.company.siren, "pk": round_two.pk},
        )
    ).content.decode()
    assert f'href="{reverse("consultations:detail", kwargs={"pk": analysed.pk})}"' in round_page
    # An earlier round's offers are no longer awarded.
    with pytest.raises(contract_errors.LaterRoundExists):
        awards.decide(
            actor=buyer, consultation_id=round_one.pk, lot_id=None, outcome="awarded",
            company_id=first.company_id, amount="91000", reasons="Mieux classée.",
        )  # fmt: skip
    # The integrity indicators fold the second round into the first consultation, two
    # levels up, and hold neither round's short deadline against the buyer.
    procedures = with_roots(
        {row[0]: Procedure(*row) for row in integrity_crossings.procedure_facts().consultations}
    )
    assert procedures[round_two.pk].root == analysed.pk
    rounds_only = {pk: procedures[pk] for pk in (round_one.pk, round_two.pk)}
    result = IntegrityResult()
    short_deadlines(rounds_only, result)
    assert result.flags == []
    assert not result.counted
