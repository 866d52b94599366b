"""Scores in the award letters (R2181-3/-4) when the analysis is closed, and orders under
a framework agreement: their total against the framework's maximum, both sides' pages."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_scopes import scopes_disabled
from pypdf import PdfReader

from mutualis.contracts import awards, errors, orders, signals
from mutualis.contracts.models import AwardLetter, Order
from mutualis.core import audit
from mutualis.core.files import store as file_store
from mutualis.core.models import AuditEvent
from mutualis.core.pdf import latin1
from tests.factories.companies import company_siren
from tests.factories.contracts import bidder, closed_analysis, notified_contract, offer, open_offers
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


def fr(msgid: str, **values) -> str:
    """The letter's line as the letter writes it: in French, in the PDF core fonts'
    characters (``core.pdf.latin1``: a typographic apostrophe becomes a straight one)."""
    with translation.override("fr"):
        return " ".join(latin1(gettext(msgid) % values).split())


def points(criterion: str, value: str, weight: str) -> str:
    return fr(
        "%(criterion)s: %(points)s points out of %(weight)s",
        criterion=criterion, points=value, weight=weight,
    )  # fmt: skip


def total(value: str) -> str:
    return fr("Total: %(total)s points out of 100", total=value)


def letter_text(award, company) -> str:
    with scopes_disabled():
        letter = AwardLetter.for_organisation.select_related("pdf").get(
            award=award, company_id=company.company_id
        )
        with file_store.open_stored_file(letter.pdf) as handle:
            content = handle.read()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def test_letters_give_each_bidder_its_scores_and_the_winners(buyer, companies):
    consultation = make_consultation(buyer, publish=True, procedure="open")
    open_offers(consultation, buyer)
    first, second, late = companies
    won = offer(consultation, first)
    lost = offer(consultation, second)
    offer(consultation, late, late=True)
    # Prices 80,000 and 100,000; technical 9/10 and 6/10.
    closed_analysis(buyer, consultation, {won: ("80000", "9"), lost: ("100000", "6")})
    award = awards.decide(
        actor=buyer, consultation_id=consultation.pk, lot_id=None, outcome="awarded",
        company_id=first.company_id, amount="80000", reasons="Meilleur rapport qualité-prix.",
    )  # fmt: skip
    awards.notify(actor=buyer, award_id=award.pk)

    rejected = letter_text(award, second)
    # Its own scores: price 80,000/100,000 x 40 = 32; technical 6/10 x 60 = 36; rank 2 of 2.
    rank = "%(rank)s of %(count)s offers ranked"
    assert points("Prix", "32,00", "40") in rejected
    assert points("Valeur technique", "36,00", "60") in rejected
    assert total("68,00") in rejected
    assert fr("Rank: " + rank, rank=2, count=2) in rejected
    # The winner: its name, scores per criterion and total, and its amount.
    assert (
        fr("Scores of the offer retained, from %(winner)s:", winner="Menuiserie Dupont") in rejected
    )
    assert points("Prix", "40,00", "40") in rejected
    assert points("Valeur technique", "54,00", "60") in rejected
    assert total("94,00") in rejected
    assert "80000,00" in "".join(c for c in rejected if c.isdigit() or c == ","), rejected

    winner = letter_text(award, first)
    assert total("94,00") in winner
    assert fr("Rank: " + rank, rank=1, count=2) in winner
    assert "Charpente Martin" not in winner
    assert "68,00" not in winner

    # The late offer was never ranked: the winner's scores, none of its own.
    tardy = letter_text(award, late)
    assert total("94,00") in tardy
    assert fr("Scores of your offer:") not in tardy


def test_without_a_closed_analysis_the_letters_are_as_before(buyer, companies):
    consultation = make_consultation(buyer, publish=True, procedure="open")
    open_offers(consultation, buyer)
    offer(consultation, companies[0])
    offer(consultation, companies[1])
    award = awards.decide(
        actor=buyer, consultation_id=consultation.pk, lot_id=None, outcome="awarded",
        company_id=companies[0].company_id, amount="80000", reasons="Motifs détaillés.",
    )  # fmt: skip
    awards.notify(actor=buyer, award_id=award.pk)
    text = letter_text(award, companies[1])
    assert "Motifs détaillés." in text
    assert fr("Scores of your offer:") not in text


# --- Orders -------------------------------------------------------------------------------


@pytest.fixture
def framework(buyer, companies):
    consultation = make_consultation(buyer, publish=True, techniques=["framework"])
    open_offers(consultation, buyer)
    offer(consultation, companies[0])
    return notified_contract(
        buyer, consultation, companies[0], amount="50000", framework_maximum="100000"
    )


def test_orders_add_up_to_the_maximum_and_no_further(
    buyer, framework, django_capture_on_commit_callbacks
):
    sent = []

    def receiver(**kw):
        sent.append(kw["action"])

    signals.contract_changed.connect(receiver)
    today = timezone.now().date()
    with django_capture_on_commit_callbacks(execute=True):
        first = orders.add_order(
            actor=buyer, contract_id=framework.pk, number="BC-2027/001", issued_on=today,
            object="Fournitures du premier trimestre", amount="60 000,00",
        )  # fmt: skip
    signals.contract_changed.disconnect(receiver)
    assert sent == ["contracts.order_added"]
    assert first.amount == Decimal("60000.00")
    with pytest.raises(errors.OverMaximum) as refused:
        orders.add_order(
            actor=buyer, contract_id=framework.pk, number="BC-2027/002", issued_on=today,
            object="Deuxième trimestre", amount="40000,01",
        )  # fmt: skip
    message = str(refused.value.message).replace("\u202f", " ")
    assert "100 000,00 €" in message
    assert "40 000,00 €" in message
    orders.add_order(
        actor=buyer, contract_id=framework.pk, number="BC-2027/002", issued_on=today,
        object="Deuxième trimestre", amount="40000",
    )  # fmt: skip
    with pytest.raises(errors.OrderNumberInvalid):
        orders.add_order(
            actor=buyer, contract_id=framework.pk, number="BC-2027/002", issued_on=today,
            object="Doublon", amount="0",
        )  # fmt: skip
    with scopes_disabled():
        assert Order.for_organisation.filter(contract=framework).count() == 2
        events = AuditEvent.objects.filter(
            chain=audit.organisation_chain(buyer.organisation_id), action="contracts.order_added"
        )
        assert events.count() == 2


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("number", "BC\x00", errors.OrderNumberInvalid),
        ("number", "x" * 31, errors.OrderNumberInvalid),
        ("object", "", errors.OrderInvalid),
        ("object", "a" * 1001, errors.OrderInvalid),
        ("issued_on", "2999-01-01", errors.OrderInvalid),
        ("amount", "-1", errors.AmountInvalid),
        ("amount", "1,001", errors.AmountInvalid),
        ("amount", "NaN", errors.AmountInvalid),
    ],
)
def test_bad_orders_are_refused(buyer, framework, field, value, error):
    data = {"number": "BC-1", "issued_on": timezone.now().date(), "object": "Objet", "amount": "1"}
    with pytest.raises(error):
        orders.add_order(actor=buyer, contract_id=framework.pk, **{**data, field: value})


def test_orders_only_under_a_framework_agreement(buyer, companies):
    consultation = make_consultation(buyer, publish=True)
    open_offers(consultation, buyer)
    offer(consultation, companies[0])
    contract = notified_contract(buyer, consultation, companies[0])
    with pytest.raises(errors.NotAFramework):
        orders.add_order(
            actor=buyer, contract_id=contract.pk, number="BC-1",
            issued_on=timezone.now().date(), object="Objet", amount="10",
        )  # fmt: skip


def test_a_maximum_is_refused_outside_a_framework_agreement(buyer, companies):
    consultation = make_consultation(buyer, publish=True)
    open_offers(consultation, buyer)
    offer(consultation, companies[0])
    with pytest.raises(errors.MaximumInvalid):
        notified_contract(buyer, consultation, companies[0], framework_maximum="1000")


def test_both_sides_see_the_orders_and_others_do_not_record_them(
    buyer, framework, companies, agent_b
):
    buyer_client = Client()
    buyer_client.force_login(buyer.user)
    url = reverse("contracts:order", kwargs={"org": "commune-a", "contract_id": framework.pk})
    answer = buyer_client.post(
        url,
        {"number": "BC-7", "issued_on": timezone.now().date().isoformat(),
         "object": "Bureaux", "amount": "1 234,50"},
    )  # fmt: skip
    assert answer.status_code == 302
    page = buyer_client.get(
        reverse("contracts:contract", kwargs={"org": "commune-a", "contract_id": framework.pk})
    )
    assert "BC-7" in page.content.decode()
    # Bad input: a message, never a 500.
    assert buyer_client.post(url, {"number": "\x00"}).status_code == 400  # at the edge
    refused = buyer_client.post(url, {"number": "BC 9 !", "amount": "9" * 5000}, follow=True)
    assert refused.status_code == 200
    assert str(errors.OrderNumberInvalid.message) in refused.content.decode()
    holder = Client()
    holder.force_login(companies[0].user)
    company_page = holder.get(
        reverse(
            "company_contracts:contract", kwargs={"company": company_siren(1), "pk": framework.pk}
        )
    )
    assert "BC-7" in company_page.content.decode()
    # Another member's buyer: 404.
    other = Client()
    other.force_login(agent_b.user)
    assert other.post(
        reverse("contracts:order", kwargs={"org": "commune-b", "contract_id": framework.pk}),
        {"number": "BC-8", "issued_on": "2020-01-01", "object": "x", "amount": "1"},
    ).status_code in (302, 403, 404)
    with scopes_disabled():
        assert not Order.for_organisation.filter(number="BC-8").exists()
