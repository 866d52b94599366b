"""A buyer downloads the ESPD request (DUME) of a consultation, valid against the schemas."""

from __future__ import annotations

import pytest
from lxml import etree

from mutualis.procurement import espd
from tests.factories.core import org_url
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


def test_the_buyer_downloads_a_valid_espd_request_with_the_lots(client, buyer):
    consultation = make_consultation(buyer, lots=2, reference="2026/TX 01", publish=True)
    client.force_login(buyer.user)

    response = client.get(org_url("procurement:espd", pk=consultation.pk))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert 'filename="DUME-2026tx-01.xml"' in response["Content-Disposition"]
    assert espd.validate(response.content) == []
    root = etree.fromstring(response.content)
    assert root.findtext("cbc:ContractFolderID", namespaces=espd.NS) == "2026/TX 01"
    lots = [e.text for e in root.iterfind("cac:ProcurementProjectLot/cbc:ID", espd.NS)]
    assert lots == ["LOT-0001", "LOT-0002"]
    party = root.find("cac:ContractingParty", espd.NS)
    assert f"/consultations/{consultation.pk}/" in party.findtext(
        "cbc:BuyerProfileURI", namespaces=espd.NS
    )


def test_the_export_is_the_same_document_each_time(client, buyer):
    consultation = make_consultation(buyer, publish=True)
    client.force_login(buyer.user)
    url = org_url("procurement:espd", pk=consultation.pk)

    assert client.get(url).content == client.get(url).content


def test_a_draft_of_a_mapa_exports_as_a_single_stage_procedure(client, buyer):
    consultation = make_consultation(buyer, procedure="adapted")
    client.force_login(buyer.user)

    root = etree.fromstring(client.get(org_url("procurement:espd", pk=consultation.pk)).content)

    assert root.findtext("cbc:ProcedureCode", namespaces=espd.NS) == "oth-single"
    assert [e.text for e in root.iterfind("cac:ProcurementProjectLot/cbc:ID", espd.NS)] == [
        "LOT-0000"
    ]


def test_an_agent_without_the_buyer_role_gets_404(client, buyer, org_a):
    consultation = make_consultation(buyer)
    secretary = make_member(org_a, "secretary.a@example.org", roles=["secretary"])
    client.force_login(secretary.user)

    assert client.get(org_url("procurement:espd", pk=consultation.pk)).status_code == 404
