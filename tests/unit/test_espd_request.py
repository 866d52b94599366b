"""The buyer's ESPD request: built from the official taxonomy, valid against the XSDs."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from lxml import etree

from mutualis.procurement import espd

NS = espd.NS
ISSUED = datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC)  # 03:30 in Paris (CEST)


def request(**changes) -> espd.Request:
    values = {
        "reference": "2026-TRX-01",
        "title": "Réfection de la toiture de l'école",
        "description": "Couverture en ardoise, zinguerie.",
        "procedure": "open",
        "buyer": espd.Buyer(
            name="Commune de Dijon",
            siret="21210231300013",
            street="Place de la Libération",
            city="Dijon",
            postal_code="21000",
            contact_name="Service de la commande publique",
            telephone="+33 3 80 74 51 51",
            email="marches@example.fr",
        ),
        "buyer_profile_url": "https://marches.example.fr/consultations/12/",
        "lots": [espd.lot_identifier(1), espd.lot_identifier(2)],
        "selection": [
            espd.Selection(
                "gen-year-to", {"MINIMUM_AMOUNT": Decimal("200000"), "QUANTITY_YEAR": 3}
            ),
            espd.Selection(
                "work-perform",
                {"MINIMUM_QUANTITY_INTEGER": 3, "DESCRIPTION": "Trois chantiers de couverture"},
                lots=(espd.lot_identifier(2),),
            ),
        ],
        "issued_at": ISSUED,
        "document_uuid": uuid.UUID("3527443d-c2c5-4b18-9d9b-a97963960294"),
    }
    values.update(changes)
    return espd.Request(**values)


def parsed(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def criterion(root: etree._Element, code: str) -> etree._Element:
    (found,) = [
        c
        for c in root.iterfind("cac:TenderingCriterion", NS)
        if c.findtext("cbc:CriterionTypeCode", namespaces=NS) == code
    ]
    return found


def test_the_official_sample_is_valid_against_the_vendored_schemas():
    assert espd.validate(espd.TAXONOMY.read_bytes()) == []


def test_the_taxonomy_has_every_family_with_french_names():
    families = [c.family for c in espd.catalogue().values()]

    assert (families.count("exclusion"), families.count("selection"), families.count("other")) == (
        24,
        31,
        7,
    )
    assert espd.catalogue()["crime-org"].name_fr == "Participation à une organisation criminelle"
    assert all(c.name_fr for c in espd.catalogue().values())


def test_a_request_with_two_lots_and_two_criteria_is_valid():
    xml = espd.build(request())

    assert espd.validate(xml) == []


def test_the_request_carries_the_consultation_and_the_buyer():
    root = parsed(espd.build(request()))

    assert root.findtext("cbc:ContractFolderID", namespaces=NS) == "2026-TRX-01"
    assert root.findtext("cbc:UUID", namespaces=NS) == "3527443d-c2c5-4b18-9d9b-a97963960294"
    assert root.findtext("cbc:ProfileExecutionID", namespaces=NS) == "ESPD-EDMv4.1.0"
    assert root.findtext("cbc:ProcedureCode", namespaces=NS) == "open"
    # Issued at 01:30 UTC on the day summer time starts: 03:30 in Paris.
    assert root.findtext("cbc:IssueDate", namespaces=NS) == "2026-03-29"
    assert root.findtext("cbc:IssueTime", namespaces=NS) == "03:30:00+02:00"
    party = root.find("cac:ContractingParty/cac:Party", NS)
    assert party.findtext("cac:PartyName/cbc:Name", namespaces=NS) == "Commune de Dijon"
    assert party.findtext("cac:PartyIdentification/cbc:ID", namespaces=NS) == "21210231300013"
    lots = [e.text for e in root.iterfind("cac:ProcurementProjectLot/cbc:ID", NS)]
    assert lots == ["LOT-0001", "LOT-0002"]


def test_every_exclusion_ground_and_other_criterion_is_asked_and_only_the_chosen_selection():
    root = parsed(espd.build(request()))
    codes = [
        c.findtext("cbc:CriterionTypeCode", namespaces=NS)
        for c in root.iterfind("cac:TenderingCriterion", NS)
    ]

    assert set(codes) == {c.code for c in espd.of_family("exclusion")} | {
        c.code for c in espd.of_family("other")
    } | {"gen-year-to", "work-perform"}
    assert len(codes) == len(set(codes))


def test_the_buyers_values_fill_the_requirements_of_each_lot():
    root = parsed(espd.build(request()))
    turnover = criterion(root, "gen-year-to")

    lots = [e.text for e in turnover.iterfind("cac:ProcurementProjectLotReference/cbc:ID", NS)]
    assert lots == ["LOT-0001", "LOT-0002"]
    assert [e.text for e in turnover.iter(f"{{{espd.CBC}}}ExpectedID")] == ["LOT-0001", "LOT-0002"]
    amounts = list(turnover.iter(f"{{{espd.CBC}}}MinimumAmount"))
    assert [(a.text, a.get("currencyID")) for a in amounts] == [("200000", "EUR")] * 2
    references = criterion(root, "work-perform")
    assert [e.text for e in references.iter(f"{{{espd.CBC}}}ExpectedID")] == ["LOT-0002"]
    assert [e.text for e in references.iter(f"{{{espd.CBC}}}ExpectedDescription")] == [
        "Trois chantiers de couverture"
    ]


def test_nothing_of_the_samples_values_or_placeholders_is_left():
    xml = espd.build(request(selection=[espd.Selection("gen-year-to")]))

    assert b"[Legislation" not in xml
    assert b"100000" not in xml  # the sample's minimum turnover
    assert b"LOT-0000" not in xml
    assert espd.validate(xml) == []


def test_a_consultation_without_lots_is_lot_zero():
    root = parsed(espd.build(request(lots=[], selection=[espd.Selection("gen-year-to")])))

    assert [e.text for e in root.iterfind("cac:ProcurementProjectLot/cbc:ID", NS)] == ["LOT-0000"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"procedure": "mapa"}, "unknown procedure"),
        ({"selection": [espd.Selection("crime-org")]}, "not a selection criterion"),
        ({"selection": [espd.Selection("no-such-thing")]}, "not a selection criterion"),
        ({"selection": [espd.Selection("gen-year-to")] * 2}, "set twice"),
        ({"selection": [espd.Selection("gen-year-to", lots=("LOT-0009",))]}, "unknown lots"),
        ({"selection": [espd.Selection("gen-year-to", {"URL": "x"})]}, "no such requirement"),
        (
            {"selection": [espd.Selection("gen-year-to", {"MINIMUM_AMOUNT": "-5"})]},
            "not a positive number",
        ),
        (
            {"selection": [espd.Selection("gen-year-to", {"QUANTITY_YEAR": "2.5"})]},
            "not a whole number",
        ),
        (
            {"selection": [espd.Selection("gen-year-to", {"MINIMUM_AMOUNT": "NaN"})]},
            "not a positive number",
        ),
        ({"lots": ["LOT-0001", "LOT-0001"]}, "twice"),
        ({"title": "Toiture\x00"}, "XML compatible"),
    ],
)
def test_what_cannot_be_built_is_refused_with_its_reason(changes, message):
    with pytest.raises(espd.EspdError, match=message):
        espd.build(request(**changes))


def test_a_broken_document_is_reported_not_raised():
    assert espd.validate(b"<not-xml")
    xml = espd.build(request()).replace(b"<cbc:CopyIndicator>false", b"<cbc:CopyIndicator>perhaps")
    assert espd.validate(xml)
