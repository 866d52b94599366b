"""The analysis of offers (evaluation): services, pages, rights, bad input, the report."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from openpyxl import load_workbook
from pypdf import PdfReader

from mutualis.deposits.models import DepositState
from mutualis.evaluation import errors, selectors, services
from mutualis.evaluation.models import Analysis, AnalysisCriterion, AnalysisState, Offer, Score
from tests.factories.core import audit_events
from tests.factories.evaluation import bidder, complete_opening, offer, opened_consultation
from tests.factories.identity import make_member
from tests.factories.mfa import give_authenticator_app
from tests.factories.procurement import subscribe_to_procurement

D = Decimal


@pytest.fixture
def buyer(agent_a):
    return agent_a


@pytest.fixture
def evaluator(buyer):
    membership = make_member(buyer.organisation, "evaluateur@commune-a.example", ["evaluator"])
    give_authenticator_app(membership.user)
    return membership


@pytest.fixture
def bidders(db):
    return [bidder(1, "Toitures Martin"), bidder(2, "Charpente Roux"), bidder(3, "Zinc Bernard")]


@pytest.fixture
def consultation(buyer, bidders):
    consultation = opened_consultation(buyer)
    first, second, third = bidders
    consultation.offers = [offer(consultation, first), offer(consultation, second)]
    consultation.late_offer = offer(consultation, third, late=True)
    offer(consultation, third, state=DepositState.WITHDRAWN)
    complete_opening(consultation, buyer)
    return consultation


def client_of(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def url(name: str, org: str = "commune-a", **kwargs) -> str:
    return reverse(f"evaluation:{name}", kwargs={"org": org, **kwargs})


def started(buyer, consultation) -> Analysis:
    analysis = services.open_analysis(actor=buyer, consultation_id=consultation.pk)
    return analysis


def criteria(analysis) -> dict[str, AnalysisCriterion]:
    with scopes_disabled():
        return {c.label: c for c in AnalysisCriterion.objects.filter(analysis=analysis)}


def offers(analysis) -> list[Offer]:
    with scopes_disabled():
        return list(Offer.objects.filter(analysis=analysis).order_by("deposit__received_at"))


def prepared(buyer, consultation) -> Analysis:
    """Started, the technical value split in two, prices entered, scoring started."""
    analysis = started(buyer, consultation)
    tech = criteria(analysis)["Valeur technique"]
    for label, weight in (("Méthodologie", "35"), ("Équipe", "25")):
        services.add_subcriterion(
            actor=buyer, analysis_id=analysis.pk, parent_id=tech.pk, label=label, weight=weight
        )
    first, second = offers(analysis)
    services.set_price(actor=buyer, analysis_id=analysis.pk, offer_id=first.pk, price="100 000")
    services.set_price(actor=buyer, analysis_id=analysis.pk, offer_id=second.pk, price="80000,00")
    services.start_scoring(actor=buyer, analysis_id=analysis.pk)
    return analysis


def score_all(actor, analysis, values: dict[int, tuple[str, str]]) -> None:
    """``values``: per offer position, the scores on (Méthodologie, Équipe)."""
    leaves = criteria(analysis)
    for position, (method, team) in values.items():
        services.score_offer(
            actor=actor,
            analysis_id=analysis.pk,
            offer_id=offers(analysis)[position].pk,
            scores={
                leaves["Méthodologie"].pk: (method, "Mémoire précis."),
                leaves["Équipe"].pk: (team, ""),
            },
        )


# --- Services ------------------------------------------------------------------------------


def test_starting_copies_the_criteria_and_takes_the_on_time_offers_only(buyer, consultation):
    analysis = started(buyer, consultation)
    copied = criteria(analysis)
    assert {label: (c.weight, c.is_price) for label, c in copied.items()} == {
        "Prix": (D(40), True),
        "Valeur technique": (D(60), False),
    }
    assert [o.deposit_id for o in offers(analysis)] == [d.pk for d in consultation.offers[::-1]]
    with scope(organisation=buyer.organisation_id):
        assert [d.pk for d in selectors.late_deposits(analysis)] == [consultation.late_offer.pk]
    assert analysis.state == AnalysisState.DRAFT
    assert len(audit_events(buyer.organisation, "evaluation.analysis_opened")) == 1


def test_nothing_is_analysed_before_the_opening_is_complete(buyer, bidders):
    consultation = opened_consultation(buyer)
    offer(consultation, bidders[0])
    with pytest.raises(errors.NotOpened):
        services.open_analysis(actor=buyer, consultation_id=consultation.pk)


def test_a_consultation_with_lots_is_analysed_per_lot(buyer, bidders):
    consultation = opened_consultation(buyer, lots=2)
    with scopes_disabled():
        lot1, lot2 = consultation.lots.order_by("number")
    offer(consultation, bidders[0], lot=lot1)
    offer(consultation, bidders[1], lot=lot2)
    offer(consultation, bidders[2], lot=lot2)
    complete_opening(consultation, buyer)
    with pytest.raises(errors.LotRequired):
        services.open_analysis(actor=buyer, consultation_id=consultation.pk)
    analysis = services.open_analysis(actor=buyer, consultation_id=consultation.pk, lot_id=lot2.pk)
    assert len(offers(analysis)) == 2
    with pytest.raises(errors.AnalysisExists):
        services.open_analysis(actor=buyer, consultation_id=consultation.pk, lot_id=lot2.pk)


def test_the_weights_must_add_up_before_scoring(buyer, consultation):
    analysis = started(buyer, consultation)
    tech = criteria(analysis)["Valeur technique"]
    services.add_subcriterion(
        actor=buyer, analysis_id=analysis.pk, parent_id=tech.pk, label="Méthode", weight="30"
    )
    with pytest.raises(errors.WeightsDoNotAddUp):
        services.start_scoring(actor=buyer, analysis_id=analysis.pk)
    with pytest.raises(errors.ParentInvalid):
        services.add_subcriterion(
            actor=buyer,
            analysis_id=analysis.pk,
            parent_id=criteria(analysis)["Prix"].pk,
            label="Sous-prix",
            weight="10",
        )


def test_a_full_analysis_ranks_and_closes(buyer, evaluator, consultation):
    analysis = prepared(buyer, consultation)
    with pytest.raises(errors.NotInDraft):
        services.add_subcriterion(
            actor=buyer,
            analysis_id=analysis.pk,
            parent_id=criteria(analysis)["Valeur technique"].pk,
            label="Trop tard",
            weight="1",
        )
    with pytest.raises(errors.Incomplete):
        services.close_analysis(actor=buyer, analysis_id=analysis.pk)
    # First offer (100 000 €): 10 and 8, then 6 and 8 by the second evaluator.
    score_all(buyer, analysis, {0: ("10", "8"), 1: ("5", "4")})
    score_all(evaluator, analysis, {0: ("6", "8"), 1: ("5", "4")})
    with scope(organisation=buyer.organisation_id):
        result = selectors.ranking(analysis)
    first, second = offers(analysis)
    # first: price 40 x 80/100 = 32; method 35 x 8/10 = 28; team 25 x 8/10 = 20 → 80.
    # second: price 40; method 35 x 0.5 = 17.5; team 25 x 0.4 = 10 → 67.5.
    assert [(r.offer.pk, r.rank, r.total) for r in result.offers] == [
        (first.pk, 1, D(80)),
        (second.pk, 2, D("67.5")),
    ]
    services.close_analysis(actor=buyer, analysis_id=analysis.pk)
    with scopes_disabled():
        analysis.refresh_from_db()
    assert analysis.state == AnalysisState.CLOSED
    (closed,) = audit_events(buyer.organisation, "evaluation.analysis_closed")
    assert closed.payload["ranking"][0] == {"offer": first.pk, "rank": 1, "total": "80.00"}
    with pytest.raises(errors.AnalysisClosed):
        services.set_price(actor=buyer, analysis_id=analysis.pk, offer_id=first.pk, price="1")
    with pytest.raises(errors.NotScoring):
        score_all(evaluator, analysis, {0: ("1", "1")})


def test_an_abnormally_low_price_is_flagged(buyer, bidders):
    consultation = opened_consultation(buyer)
    for representative in bidders:
        offer(consultation, representative)
    complete_opening(consultation, buyer)
    analysis = started(buyer, consultation)
    for position, price in enumerate(("100000", "110000", "70000")):
        services.set_price(
            actor=buyer,
            analysis_id=analysis.pk,
            offer_id=offers(analysis)[position].pk,
            price=price,
        )
    services.start_scoring(actor=buyer, analysis_id=analysis.pk)
    tech = criteria(analysis)["Valeur technique"]
    for item in offers(analysis):
        services.score_offer(
            actor=buyer, analysis_id=analysis.pk, offer_id=item.pk, scores={tech.pk: ("5", "")}
        )
    with scope(organisation=buyer.organisation_id):
        result = selectors.ranking(analysis)
    flagged = {r.offer.price for r in result.offers if r.abnormally_low}
    assert flagged == {D("70000.00")}


@pytest.mark.parametrize(
    "price", ["-5", "0", "abc", "1e5", "12.345", "1000000000000", "\x00", "9" * 40, ""]
)
def test_bad_prices_are_refused(buyer, consultation, price):
    analysis = started(buyer, consultation)
    with pytest.raises(errors.PriceInvalid):
        services.set_price(
            actor=buyer, analysis_id=analysis.pk, offer_id=offers(analysis)[0].pk, price=price
        )


@pytest.mark.parametrize(("value", "comment"), [("11", ""), ("-1", ""), ("5", "x" * 2001)])
def test_scores_out_of_scale_and_long_comments_are_refused(buyer, consultation, value, comment):
    analysis = prepared(buyer, consultation)
    leaf = criteria(analysis)["Équipe"]
    with pytest.raises((errors.ScoreInvalid, errors.CommentInvalid)):
        services.score_offer(
            actor=buyer,
            analysis_id=analysis.pk,
            offer_id=offers(analysis)[0].pk,
            scores={leaf.pk: (value, comment)},
        )
    with scopes_disabled():
        assert not Score.objects.exists()


def test_the_price_and_a_split_criterion_are_not_scored_by_hand(buyer, consultation):
    analysis = prepared(buyer, consultation)
    for label in ("Prix", "Valeur technique"):
        with pytest.raises(errors.NotScorable):
            services.score_offer(
                actor=buyer,
                analysis_id=analysis.pk,
                offer_id=offers(analysis)[0].pk,
                scores={criteria(analysis)[label].pk: ("5", "")},
            )


def test_another_members_buyer_cannot_reach_the_analysis(agent_b, buyer, consultation):
    subscribe_to_procurement(agent_b.organisation)
    analysis = started(buyer, consultation)
    with pytest.raises(errors.NotFound):
        services.start_scoring(actor=agent_b, analysis_id=analysis.pk)


# --- Pages ---------------------------------------------------------------------------------


def test_the_consultation_page_links_to_the_analysis_once_opened(buyer, consultation):
    client = client_of(buyer)
    page = client.get(
        reverse("procurement:detail", kwargs={"org": "commune-a", "pk": consultation.pk})
    )
    assert url("consultation", pk=consultation.pk) in page.content.decode()


def test_the_buyer_works_through_the_pages(buyer, evaluator, consultation):
    client = client_of(buyer)
    answer = client.post(url("open", pk=consultation.pk))
    with scopes_disabled():
        analysis = Analysis.objects.get(consultation=consultation)
    assert answer.status_code == 302
    kwargs = {"pk": consultation.pk, "analysis_id": analysis.pk}
    page = client.get(url("analysis", **kwargs))
    assert page.status_code == 200
    assert "Charpente Roux" in page.content.decode()
    first, second = offers(analysis)
    client.post(url("price", offer_id=first.pk, **kwargs), {"price": "100000"})
    client.post(url("price", offer_id=second.pk, **kwargs), {"price": "50000"})
    client.post(url("start_scoring", **kwargs))
    tech = criteria(analysis)["Valeur technique"]
    evaluator_client = client_of(evaluator)
    for item, value in ((first, "9"), (second, "3")):
        answer = evaluator_client.post(
            url("score", offer_id=item.pk, **kwargs),
            {f"score-{tech.pk}": value, f"comment-{tech.pk}": "Solide."},
        )
        assert answer.status_code == 302
    ranking = client.get(url("ranking", **kwargs)).content.decode()
    # first: 40 x 0.5 + 60 x 0.9 = 74; second: 40 + 18 = 58.
    assert "74.00" in ranking
    assert "58.00" in ranking
    # Offers in the order received: Charpente Roux's came first.
    assert ranking.index("Charpente Roux") < ranking.index("Toitures Martin")
    # Evaluators do not close.
    assert evaluator_client.post(url("close", **kwargs)).status_code == 404
    client.post(url("close", **kwargs))
    with scopes_disabled():
        analysis.refresh_from_db()
    assert analysis.state == AnalysisState.CLOSED


def test_bad_input_on_the_pages_gets_a_message_not_an_error(buyer, consultation):
    client = client_of(buyer)
    client.post(url("open", pk=consultation.pk))
    with scopes_disabled():
        analysis = Analysis.objects.get(consultation=consultation)
    kwargs = {"pk": consultation.pk, "analysis_id": analysis.pk}
    first = offers(analysis)[0]
    for price in ("-1", "9" * 5000, "1" * 20, "abc"):
        answer = client.post(
            url("price", offer_id=first.pk, **kwargs), {"price": price}, follow=True
        )
        assert answer.status_code == 200
        assert "Give the price excluding VAT" in answer.content.decode()
    # A NUL byte is refused at the edge (core.edge) with its own message, before any view.
    answer = client.post(url("price", offer_id=first.pk, **kwargs), {"price": "1\x00"})
    assert answer.status_code == 400
    assert "control character" in answer.content.decode()
    tech = criteria(analysis)["Valeur technique"]
    answer = client.post(
        url("subcriterion_add", **kwargs),
        {"parent": tech.pk, "label": "y" * 300, "weight": "10"},
        follow=True,
    )
    assert answer.status_code == 200
    with scopes_disabled():
        assert not AnalysisCriterion.objects.filter(parent__isnull=False).exists()
        first.refresh_from_db()
    assert first.price is None


def test_the_report_exports_as_xlsx_and_pdf(buyer, evaluator, consultation):
    analysis = prepared(buyer, consultation)
    score_all(evaluator, analysis, {0: ("10", "8"), 1: ("5", "4")})
    client = client_of(evaluator)
    answer = client.get(url("report_xlsx", pk=consultation.pk))
    assert answer.status_code == 200
    workbook = load_workbook(io.BytesIO(answer.content))
    (sheet,) = workbook.worksheets
    rows = [row for row in sheet.iter_rows(values_only=True) if row and row[0] == 1]
    (first,) = rows
    # Rank, company, SIREN, deposit, price, price points, technical points, total.
    assert first[1] == "Charpente Roux"
    assert first[4] == 100000
    assert isinstance(first[4], (int, float))
    # 40 x 80 000 / 100 000 = 32; 35 x 10/10 + 25 x 8/10 = 55.
    assert first[5:8] == (32, 55, 87)
    answer = client.get(url("report_pdf", pk=consultation.pk))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "Charpente Roux" in text
    assert "87.00 points" in text
    assert "80 000,00 EUR" in text.replace("\u00a0", " ")


@pytest.mark.parametrize("name", ["consultation", "report_xlsx"])
def test_another_member_and_an_outsider_get_404(agent_b, outsider, buyer, consultation, name):
    subscribe_to_procurement(agent_b.organisation)
    started(buyer, consultation)
    for user in (agent_b.user, outsider):
        client = Client()
        client.force_login(user)
        assert client.get(url(name, pk=consultation.pk)).status_code == 404
    # Another member's agent on its own path: the consultation is not its own.
    client = client_of(agent_b)
    assert client.get(url(name, org="commune-b", pk=consultation.pk)).status_code == 404


def test_an_agent_without_an_analysis_role_gets_404(buyer, consultation):
    secretary = make_member(buyer.organisation, "secretaire@commune-a.example", ["secretary"])
    analysis = started(buyer, consultation)
    client = client_of(secretary)
    kwargs = {"pk": consultation.pk, "analysis_id": analysis.pk}
    assert client.get(url("analysis", **kwargs)).status_code == 404
    assert client.get(url("ranking", **kwargs)).status_code == 404
