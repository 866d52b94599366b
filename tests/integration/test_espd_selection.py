"""The buyer picks the ESPD selection criteria of a consultation, with a description and
thresholds where the ESPD asks them; the ESPD request exports them, valid against the
XSD."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled
from lxml import etree

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.procurement import errors, espd, espd_selection
from mutualis.procurement.models import Consultation
from tests.factories.core import ORG_B, org_url
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer.user)
    return client


def selection_codes(xml: bytes) -> list[str]:
    root = etree.fromstring(xml)
    selection = {c.code for c in espd.of_family("selection")}
    codes = [e.findtext("cbc:CriterionTypeCode", namespaces=espd.NS)
             for e in root.iterfind("cac:TenderingCriterion", espd.NS)]  # fmt: skip
    return [code for code in codes if code in selection]


def criterion_element(xml: bytes, code: str):
    root = etree.fromstring(xml)
    for element in root.iterfind("cac:TenderingCriterion", espd.NS):
        if element.findtext("cbc:CriterionTypeCode", namespaces=espd.NS) == code:
            return element
    raise AssertionError(code)


def test_the_form_offers_the_criteria_under_their_three_headings(buyer_client, buyer):
    consultation = make_consultation(buyer)
    response = buyer_client.get(org_url("procurement:selection", pk=consultation.pk))
    assert response.status_code == 200
    groups = response.context["form"].fields["code"].choices[1:]
    assert [str(label) for label, _ in groups] == [
        "Suitability to pursue the professional activity",
        "Economic and financial standing",
        "Technical and professional ability",
    ]
    assert sum(len(options) for _, options in groups) == len(espd.of_family("selection"))


def test_criteria_set_on_the_form_are_stored_and_exported_valid(buyer_client, buyer):
    consultation = make_consultation(buyer, lots=2)
    url = org_url("procurement:selection", pk=consultation.pk)

    turnover = buyer_client.post(
        url, {"code": "gen-year-to", "minimum_amount": "250000", "years": "3", "description": ""}
    )
    references = buyer_client.post(
        url,
        {"code": "work-perform", "minimum_quantity": "3",
         "description": "Trois chantiers de couverture de plus de 100 000 € HT."},
    )  # fmt: skip
    registry = buyer_client.post(url, {"code": "trade-regist", "description": "RCS ou RM"})

    assert [turnover.status_code, references.status_code, registry.status_code] == [302] * 3
    with scopes_disabled():
        stored = Consultation.objects.get(pk=consultation.pk).espd_selection
    assert {
        "code": "gen-year-to",
        "values": {"MINIMUM_AMOUNT": "250000", "QUANTITY_YEAR": "3"},
    } in stored
    xml = buyer_client.get(org_url("procurement:espd", pk=consultation.pk)).content
    assert espd.validate(xml) == []
    assert selection_codes(xml) == ["trade-regist", "gen-year-to", "work-perform"]
    turnover_xml = criterion_element(xml, "gen-year-to")
    amounts = turnover_xml.findall(".//cbc:MinimumAmount", espd.NS)
    # One requirement group per lot.
    assert [a.text for a in amounts] == ["250000", "250000"]
    assert {a.get("currencyID") for a in amounts} == {"EUR"}
    descriptions = [e.text for e in criterion_element(xml, "work-perform").iter(
        f"{{{espd.CBC}}}ExpectedDescription")]  # fmt: skip
    assert "Trois chantiers de couverture de plus de 100 000 € HT." in descriptions
    with scopes_disabled():
        assert (
            AuditEvent.objects.filter(
                chain=audit.organisation_chain(buyer.organisation_id),
                action="consultation.selection_criterion_set",
            ).count()
            == 3
        )


def test_without_criteria_the_request_asks_none(buyer_client, buyer):
    consultation = make_consultation(buyer)
    xml = buyer_client.get(org_url("procurement:espd", pk=consultation.pk)).content
    assert espd.validate(xml) == []
    assert selection_codes(xml) == []


def test_setting_a_criterion_again_replaces_it_and_removing_it_drops_it(buyer_client, buyer):
    consultation = make_consultation(buyer)
    url = org_url("procurement:selection", pk=consultation.pk)
    buyer_client.post(url, {"code": "indem-insu", "minimum_amount": "1000000"})
    buyer_client.post(
        url, {"code": "indem-insu", "minimum_amount": "2000000", "description": "RC pro"}
    )
    with scopes_disabled():
        stored = Consultation.objects.get(pk=consultation.pk).espd_selection
    assert stored == [
        {"code": "indem-insu", "values": {"DESCRIPTION": "RC pro", "MINIMUM_AMOUNT": "2000000"}}
    ]

    response = buyer_client.post(
        org_url("procurement:selection_remove", pk=consultation.pk, code="indem-insu")
    )

    assert response.status_code == 302
    with scopes_disabled():
        assert Consultation.objects.get(pk=consultation.pk).espd_selection == []


def test_fields_a_criterion_does_not_ask_are_ignored(buyer, buyer_client):
    consultation = make_consultation(buyer)
    buyer_client.post(
        org_url("procurement:selection", pk=consultation.pk),
        {"code": "qualification", "description": "Ingénieur", "minimum_amount": "5", "years": "2"},
    )
    with scopes_disabled():
        stored = Consultation.objects.get(pk=consultation.pk).espd_selection
    assert stored == [{"code": "qualification", "values": {"DESCRIPTION": "Ingénieur"}}]


def test_an_unknown_criterion_or_a_bad_value_is_refused_clearly(buyer_client, buyer):
    consultation = make_consultation(buyer)
    url = org_url("procurement:selection", pk=consultation.pk)
    unknown = buyer_client.post(url, {"code": "bankruptcy"})  # an exclusion ground
    assert unknown.status_code == 400
    assert unknown.context["form"].has_error("code", "invalid_choice")
    negative = buyer_client.post(url, {"code": "gen-year-to", "minimum_amount": "-5"})
    assert negative.status_code == 400
    assert negative.context["form"].has_error("minimum_amount")
    fraction = buyer_client.post(url, {"code": "work-perform", "minimum_quantity": "2.5"})
    assert fraction.status_code == 400
    assert fraction.context["form"].has_error("minimum_quantity", "espd_selection_value_invalid")
    too_long = buyer_client.post(url, {"code": "qualification", "description": "x" * 2001})
    assert too_long.context["form"].has_error("description", "max_length")
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.SelectionCriterionUnknown):
        espd_selection.set_criterion(
            actor=buyer,
            consultation_id=consultation.pk,
            data=espd_selection.SetCriterion(code="bankruptcy", minimum_amount=Decimal(1)),
        )
    with scopes_disabled():
        assert Consultation.objects.get(pk=consultation.pk).espd_selection == []


def test_criteria_change_only_on_a_draft(buyer_client, buyer):
    consultation = make_consultation(buyer, publish=True)
    response = buyer_client.post(
        org_url("procurement:selection", pk=consultation.pk), {"code": "trade-regist"}
    )
    assert response.status_code == 200
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.NotEditable):
        espd_selection.set_criterion(
            actor=buyer,
            consultation_id=consultation.pk,
            data=espd_selection.SetCriterion(code="trade-regist"),
        )


def test_another_member_gets_404(client, buyer, agent_b):
    subscribe_to_procurement(agent_b.organisation)
    consultation = make_consultation(buyer)
    client.force_login(agent_b.user)
    url = org_url("procurement:selection", org=ORG_B, pk=consultation.pk)
    assert client.get(url).status_code == 404
    assert client.post(url, {"code": "trade-regist"}).status_code == 404
