"""The award per lot, its letters and standstill period, the contract record through its
notification (proof of receipt) and execution, and who may see them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override
from django_scopes import scope, scopes_disabled

from mutualis.contracts import awards, errors, records
from mutualis.contracts.models import (
    Amendment,
    Award,
    AwardLetter,
    AwardState,
    Contract,
    ContractState,
    LetterKind,
)
from mutualis.core import audit
from mutualis.core.models import AuditEvent, EmailAttachment, OutgoingEmail
from mutualis.procurement import services as procurement_services
from tests.factories.companies import company_siren, valid_siret
from tests.factories.contracts import bidder, offer, open_offers
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def companies():
    return (
        bidder(1, "Menuiserie Dupont"),
        bidder(2, "Charpente Martin"),
        bidder(3, "Toiture Tardive"),
    )


@pytest.fixture
def opened(buyer, companies):
    """An open call for tenders without lots: two offers on time, one late, opened."""
    consultation = make_consultation(buyer, publish=True, procedure="open")
    open_offers(consultation, buyer)
    first, second, late = companies
    offer(consultation, first)
    offer(consultation, second)
    offer(consultation, late, late=True)
    return consultation


def events(organisation_id: int, action: str, chain: str | None = None) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(
                chain=chain or audit.organisation_chain(organisation_id), action=action
            )
        )


def award_to_first(buyer, opened, companies, **kw):
    return awards.decide(
        actor=buyer, consultation_id=opened.pk, lot_id=None, outcome="awarded",
        company_id=companies[0].company_id, amount="98 500,00",
        reasons="Offre économiquement la plus avantageuse au regard des critères.", **kw,
    )  # fmt: skip


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_award_letters_and_standstill(buyer, opened, companies):
    award = award_to_first(buyer, opened, companies)
    assert award.state == AwardState.DRAFT
    assert award.amount == Decimal("98500.00")
    sent_on = timezone.now()
    award = awards.notify(actor=buyer, award_id=award.pk, now=sent_on)
    assert award.state == AwardState.NOTIFIED
    assert award.bidders == 3
    # Open procedure, two bidders on time: the standstill applies.
    assert award.standstill_ends_on is not None
    assert (award.standstill_ends_on - awards.paris_today(sent_on)).days >= 11
    with scopes_disabled():
        letters = {
            letter.company_id: letter for letter in AwardLetter.for_organisation.filter(award=award)
        }
        assert letters[companies[0].company_id].kind == LetterKind.AWARD
        assert letters[companies[1].company_id].kind == LetterKind.REJECTION
        assert letters[companies[2].company_id].kind == LetterKind.REJECTION
        emails = list(OutgoingEmail.objects.filter(to__startswith="soumissionnaire"))
        assert {e.to for e in emails} == {
            f"soumissionnaire{n}@entreprise.example" for n in (1, 2, 3)
        }
        attachments = EmailAttachment.objects.filter(email__in=emails)
        assert attachments.count() == 3
        assert all(a.content.startswith(b"%PDF") for a in attachments)
    assert len(events(buyer.organisation_id, "contracts.award_decided")) == 1
    assert len(events(buyer.organisation_id, "contracts.award_notified")) == 1
    # Notified: fixed.
    with pytest.raises(errors.AlreadyDecided):
        award_to_first(buyer, opened, companies)


def test_the_company_reads_its_letter_once_recorded(buyer, opened, companies):
    award = award_to_first(buyer, opened, companies)
    awards.notify(actor=buyer, award_id=award.pk)
    rejected = companies[1]
    client = client_of(rejected.user)
    home = client.get(reverse("company_contracts:home", kwargs={"company": company_siren(2)}))
    assert home.status_code == 200
    assert "Menuiserie Dupont" not in home.content.decode()  # the winner is in the PDF only
    with scopes_disabled():
        letter = AwardLetter.for_company.get(company_id=rejected.company_id)
    url = reverse(
        "company_contracts:letter", kwargs={"company": company_siren(2), "letter_id": letter.pk}
    )
    answer = client.get(url)
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content).startswith(b"%PDF")
    client.get(url)
    chain = audit.company_chain(rejected.company_id)
    assert len(events(buyer.organisation_id, "contracts.letter_read", chain=chain)) == 1
    # Another company's letter: 404.
    with scopes_disabled():
        other = AwardLetter.for_company.get(company_id=companies[0].company_id)
    assert client.get(reverse(
        "company_contracts:letter", kwargs={"company": company_siren(2), "letter_id": other.pk}
    )).status_code == 404  # fmt: skip


def test_signature_refused_before_the_standstill_ends_then_the_contract(buyer, opened, companies):
    award = award_to_first(buyer, opened, companies)
    sent = timezone.now()
    award = awards.notify(actor=buyer, award_id=award.pk, now=sent)
    end = award.standstill_ends_on
    holder_siret = valid_siret(company_siren(1))
    terms = {
        "actor": buyer, "award_id": award.pk, "reference": "2027-001-A",
        "holder_siret": holder_siret, "amount": "98500", "duration_months": 24,
        "co_contractors": [valid_siret(company_siren(2))],
    }  # fmt: skip
    with pytest.raises(errors.StandstillNotOver):
        records.sign(**terms, signed_on=end, now=sent + timedelta(days=30))
    with pytest.raises(errors.StandstillNotOver):
        records.sign(**terms, signed_on=awards.paris_today(sent), now=sent + timedelta(days=2))
    after = end + timedelta(days=1)
    later = sent + timedelta(days=30)
    # A subcontractor's SIRET with a bad Luhn key: refused, saying which.
    bad = valid_siret(company_siren(3))[:-1] + str(
        (int(valid_siret(company_siren(3))[-1]) + 1) % 10
    )
    with pytest.raises(errors.SiretInvalid) as refused:
        records.sign(**terms, subcontractors=[bad], signed_on=after, now=later)
    assert refused.value.field == "subcontractors"
    with pytest.raises(errors.HolderSiretInvalid):
        records.sign(
            **{**terms, "holder_siret": valid_siret(company_siren(2))}, signed_on=after, now=later
        )
    contract = records.sign(**terms, signed_on=after, now=later)
    assert contract.state == ContractState.SIGNED
    assert contract.co_contractors == [{"siret": valid_siret(company_siren(2))}]
    with scopes_disabled():
        assert Award.objects.get(pk=award.pk).state == AwardState.CONTRACTED
    assert len(events(buyer.organisation_id, "contracts.standstill_ended")) == 1
    assert len(events(buyer.organisation_id, "contracts.contract_signed")) == 1

    # Notification through the platform, receipt confirmed by the holder on its page.
    records.send_notification(actor=buyer, contract_id=contract.pk)
    holder = client_of(companies[0].user)
    page = reverse(
        "company_contracts:contract", kwargs={"company": company_siren(1), "pk": contract.pk}
    )
    assert holder.get(page).status_code == 200
    assert holder.post(reverse(
        "company_contracts:confirm_receipt", kwargs={"company": company_siren(1), "pk": contract.pk}
    )).status_code == 302  # fmt: skip
    with scopes_disabled():
        contract = Contract.for_organisation.get(pk=contract.pk)
    assert contract.state == ContractState.NOTIFIED
    assert contract.receipt_confirmed_at is not None
    assert contract.receipt_confirmed_by == companies[0].user
    assert (
        len(
            events(
                0, "contracts.receipt_confirmed", chain=audit.company_chain(companies[0].company_id)
            )
        )
        == 1
    )

    # Amendments appended; the original amount stays.
    today = awards.paris_today()
    records.amend(actor=buyer, contract_id=contract.pk, object="Travaux supplémentaires",
                  notified_on=today, new_amount="105000")  # fmt: skip
    records.amend(actor=buyer, contract_id=contract.pk, object="Prolongation",
                  notified_on=today, new_duration_months="30")  # fmt: skip
    with pytest.raises(errors.AmendmentInvalid):
        records.amend(actor=buyer, contract_id=contract.pk, object="Rien", notified_on=today)
    with pytest.raises(errors.AmountInvalid):
        records.amend(actor=buyer, contract_id=contract.pk, object="Moins",
                      notified_on=today, new_amount="-5")  # fmt: skip
    amendments = records.amendments_of(contract, side="organisation")
    assert [a.number for a in amendments] == [1, 2]
    assert records.current_terms(contract, amendments) == (Decimal("105000.00"), 30)
    with scopes_disabled():
        assert Contract.for_organisation.get(pk=contract.pk).amount == Decimal("98500.00")
    records.start_execution(actor=buyer, contract_id=contract.pk, started_on=today)
    records.terminate(actor=buyer, contract_id=contract.pk, ended_on=today, reason="Faute grave")
    with scopes_disabled():
        assert Contract.for_organisation.get(pk=contract.pk).state == ContractState.TERMINATED
    with pytest.raises(errors.NotAmendable):
        records.amend(actor=buyer, contract_id=contract.pk, object="Trop tard",
                      notified_on=today, new_amount="1")  # fmt: skip


def test_an_adapted_procedure_has_no_standstill(buyer, companies):
    consultation = make_consultation(buyer, publish=True, procedure="adapted")
    open_offers(consultation, buyer)
    offer(consultation, companies[0])
    offer(consultation, companies[1])
    award = award_to_first(buyer, consultation, companies)
    award = awards.notify(actor=buyer, award_id=award.pk)
    assert award.standstill_ends_on is None
    contract = records.sign(
        actor=buyer, award_id=award.pk, reference="MAPA-1",
        holder_siret=valid_siret(company_siren(1)), amount="1000", duration_months="3",
        signed_on=awards.paris_today(),
    )  # fmt: skip
    assert contract.state == ContractState.SIGNED


def test_per_lot_decisions_and_refusals(buyer, companies):
    consultation = make_consultation(buyer, publish=True, procedure="open", lots=2)
    with scopes_disabled():
        lot1, lot2 = list(consultation.lots.order_by("number"))
    with pytest.raises(errors.NotOpened):
        awards.decide(actor=buyer, consultation_id=consultation.pk, lot_id=lot1.pk,
                      outcome="unsuccessful", reasons="Aucune offre")  # fmt: skip
    open_offers(consultation, buyer)
    offer(consultation, companies[0], lot=lot1)
    offer(consultation, companies[1], lot=lot2)
    offer(consultation, companies[2], lot=lot1, late=True)
    kwargs = {"actor": buyer, "consultation_id": consultation.pk, "reasons": "Motifs"}
    with pytest.raises(errors.LotRequired):
        awards.decide(**kwargs, lot_id=None, outcome="discontinued")
    # Only an on-time bidder of that lot can win it.
    with pytest.raises(errors.NotABidder):
        awards.decide(**kwargs, lot_id=lot1.pk, outcome="awarded",
                      company_id=companies[1].company_id, amount="10")  # fmt: skip
    with pytest.raises(errors.NotABidder):
        awards.decide(**kwargs, lot_id=lot1.pk, outcome="awarded",
                      company_id=companies[2].company_id, amount="10")  # fmt: skip
    with pytest.raises(errors.AmountInvalid):
        awards.decide(**kwargs, lot_id=lot1.pk, outcome="awarded",
                      company_id=companies[0].company_id, amount="-1")  # fmt: skip
    with pytest.raises(errors.ReasonsRequired):
        awards.decide(**{**kwargs, "reasons": "bad\x00"}, lot_id=lot2.pk, outcome="unsuccessful")
    first = awards.decide(**kwargs, lot_id=lot1.pk, outcome="awarded",
                          company_id=companies[0].company_id, amount="10")  # fmt: skip
    second = awards.decide(**kwargs, lot_id=lot2.pk, outcome="unsuccessful")
    awards.notify(actor=buyer, award_id=second.pk)
    with scopes_disabled():
        letter = AwardLetter.for_organisation.get(award=second)
    assert (letter.company_id, letter.kind) == (companies[1].company_id, LetterKind.UNSUCCESSFUL)
    # The lot-1 award has a sole on-time bidder: no standstill.
    assert awards.notify(actor=buyer, award_id=first.pk).standstill_ends_on is None


def test_a_cancelled_consultation_is_notified_to_every_bidder(buyer, opened, companies):
    with pytest.raises(errors.NotCancelled):
        awards.notify_cancellation(actor=buyer, consultation_id=opened.pk)
    with scope(organisation=buyer.organisation_id):
        procurement_services.cancel_consultation(
            actor=buyer, consultation_id=opened.pk, kind="discontinued", reason="Besoin disparu"
        )
    award = awards.notify_cancellation(actor=buyer, consultation_id=opened.pk)
    assert (award.outcome, award.reasons, award.state) == (
        "discontinued",
        "Besoin disparu",
        AwardState.NOTIFIED,
    )
    with scopes_disabled():
        kinds = set(AwardLetter.for_organisation.filter(award=award).values_list("kind", flat=True))
        assert AwardLetter.for_organisation.filter(award=award).count() == 3
    assert kinds == {LetterKind.DISCONTINUED}
    with pytest.raises(errors.AlreadyDecided):
        awards.notify_cancellation(actor=buyer, consultation_id=opened.pk)


# --- Pages, permissions and isolation ----------------------------------------------------


def test_the_buyer_pages(buyer, opened, companies):
    client = client_of(buyer.user)
    url = reverse("contracts:awards", kwargs={"org": "commune-a", "pk": opened.pk})
    assert client.get(url).status_code == 200
    answer = client.post(
        reverse("contracts:decide", kwargs={"org": "commune-a", "pk": opened.pk}),
        {"outcome": "awarded", "company": companies[0].company_id, "amount": "12,50",
         "reasons": "Meilleure offre"},
    )  # fmt: skip
    assert answer.status_code == 302
    with scopes_disabled():
        award = Award.objects.get(consultation=opened)
    assert award.amount == Decimal("12.50")
    # Bad input: a clear message, never a 500 (NUL bytes are refused at the edge, 400).
    decide_url = reverse("contracts:decide", kwargs={"org": "commune-a", "pk": opened.pk})
    for bad in ({"outcome": "awarded", "company": "x", "amount": "1", "reasons": "r\x00"},
                {"outcome": "awarded", "company": companies[0].company_id, "amount": "\x00",
                 "reasons": "ok"}):  # fmt: skip
        assert client.post(decide_url, bad).status_code == 400
    for bad in (
        {"outcome": "nope", "reasons": "x" * 5000},
        {"outcome": "awarded", "company": companies[0].company_id, "amount": "-3",
         "reasons": "ok"},
        {"outcome": "awarded", "company": companies[0].company_id, "amount": "1e999999",
         "reasons": "ok"},
    ):  # fmt: skip
        with override("en"):
            answer = client.post(decide_url, bad, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 200
        assert [str(m) for m in answer.context["messages"]]
    client.post(
        reverse(
            "contracts:notify", kwargs={"org": "commune-a", "pk": opened.pk, "award_id": award.pk}
        )
    )
    page = client.get(url)
    assert page.status_code == 200
    assert "Standstill" in page.content.decode() or "suspension" in page.content.decode()


def test_another_member_and_another_company_get_404(buyer, opened, companies, agent_b):
    award = award_to_first(buyer, opened, companies)
    award = awards.notify(actor=buyer, award_id=award.pk)
    with scopes_disabled():
        Award.objects.filter(pk=award.pk).update(standstill_ends_on=None)
    contract = records.sign(
        actor=buyer, award_id=award.pk, reference="C-1",
        holder_siret=valid_siret(company_siren(1)), amount="1", duration_months=1,
        signed_on=awards.paris_today(),
    )  # fmt: skip
    records.send_notification(actor=buyer, contract_id=contract.pk)
    subscribe_to_procurement(agent_b.organisation)
    other = client_of(agent_b.user)
    for name, kwargs in [
        ("contracts:awards", {"pk": opened.pk}),
        ("contracts:contract", {"contract_id": contract.pk}),
    ]:
        assert other.get(reverse(name, kwargs={"org": "commune-b", **kwargs})).status_code == 404
        assert other.get(reverse(name, kwargs={"org": "commune-a", **kwargs})).status_code == 404
    assert other.post(reverse(
        "contracts:contract_notify", kwargs={"org": "commune-b", "contract_id": contract.pk}
    ), follow=True).status_code in (200, 404)  # fmt: skip
    with pytest.raises(errors.ContractTransitionNotAllowed):
        records.start_execution(
            actor=agent_b, contract_id=contract.pk, started_on=awards.paris_today()
        )
    # Another company's representative: 404 on the holder's contract, and cannot confirm.
    loser = client_of(companies[1].user)
    kwargs = {"company": company_siren(2), "pk": contract.pk}
    assert loser.get(reverse("company_contracts:contract", kwargs=kwargs)).status_code == 404
    assert (
        loser.post(reverse("company_contracts:confirm_receipt", kwargs=kwargs)).status_code == 404
    )
    # Nor through the holder's path.
    kwargs["company"] = company_siren(1)
    assert loser.get(reverse("company_contracts:contract", kwargs=kwargs)).status_code == 404
    with scopes_disabled():
        assert Contract.for_organisation.get(pk=contract.pk).state == ContractState.SENT
        assert not Amendment.for_organisation.exists()
