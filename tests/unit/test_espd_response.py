"""The company's ESPD response as ESPD-EDM XML: the questions a request asks, the document
built from the answers (valid against the official response XSD for every criterion
family), its reading (the import's and the opening's), and what a reader refuses."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from mutualis.deposits import espd_response as er
from mutualis.procurement import espd

NS = espd.NS
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "espd" / "ESPD-Response.xml"
ISSUED = datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC)
DOCUMENT = uuid.UUID("0b7f4a38-6f0e-4c55-9a57-0c3f3f2b9d11")
OPERATOR = er.Operator(
    name="Menuiserie Dupont",
    siren="732829320",
    siret="73282932000074",
    street="3 rue des Tanneurs",
    postal_code="21000",
    city="Dijon",
    size="small",
    contact_name="Alice Dupont",
    email="alice@menuiserie.example",
    telephone="+33 3 80 00 00 00",
)
# One valid answer per question type.
VALUES: dict[str, er.Answer] = {
    "INDICATOR": True,
    "DESCRIPTION": "Des mesures ont été prises : « formation », audit.",
    "AMOUNT": {"amount": "1250000.5", "currency": "EUR"},
    "DATE": "2019-05-02",
    "PERIOD": {"start": "2024-01-01", "end": "2024-12-31"},
    "CODE_COUNTRY": "FRA",
    "CODE": "group-lead",
    "ECONOMIC_OPERATOR_IDENTIFIER": "73282932000074",
    "QUAL_IDENTIFIER": "QUALIBAT-1234",
    "EVIDENCE_IDENTIFIER": "https://attestations.example/urssaf/42",
    "PERCENTAGE": "33.5",
    "QUANTITY": "1.8",
    "QUANTITY_YEAR": "3",
    "QUANTITY_INTEGER": "12",
    "URL": "https://www.menuiserie.example/certificats",
}


def request(*, selection: bool = True, lots: int = 2) -> espd.Request:
    chosen = []
    if selection:
        for criterion in espd.of_family("selection"):
            values: dict[str, Decimal | int | str] = {}
            for kind in criterion.requirements:
                values[kind] = "Exigence de l'acheteur" if kind == "DESCRIPTION" else 3
            chosen.append(espd.Selection(criterion.code, values))
    return espd.Request(
        reference="2026-TRX-01",
        title="Réfection de la toiture de l'école",
        description="Couverture en ardoise.",
        procedure="open",
        buyer=espd.Buyer(name="Commune de Dijon", siret="21210231300013", city="Dijon"),
        buyer_profile_url="https://marches.example.fr/consultations/12/",
        lots=[espd.lot_identifier(n) for n in range(1, lots + 1)] or [],
        selection=chosen,
        issued_at=ISSUED,
        document_uuid=uuid.UUID("6a0c8f0e-7d67-4a3e-9c59-33c1f1a3d0aa"),
    )


@cache
def request_xml(selection: bool = True, lots: int = 2) -> bytes:
    return espd.build(request(selection=selection, lots=lots))


@cache
def questions(lot: str = "LOT-0001") -> er.Questionnaire:
    return er.questionnaire(request_xml(), lot)


def every_answer(questionnaire: er.Questionnaire, family: str | None = None) -> dict:
    return {
        q.id: VALUES[q.kind]
        for c in questionnaire.criteria
        if family is None or c.family == family
        for q in c.questions
    }


def build(answers: dict, *, lot: str = "LOT-0001", xml: bytes | None = None) -> bytes:
    return er.build(
        request_xml=xml or request_xml(),
        lot=lot,
        operator=OPERATOR,
        answers=answers,
        issued_at=ISSUED,
        document_uuid=DOCUMENT,
    )


# --- The questions ------------------------------------------------------------------------


def test_the_questions_are_those_of_every_criterion_of_the_request():
    asked = questions()
    families = {c.family for c in asked.criteria}
    assert families == {"exclusion", "selection", "other"}
    assert len(asked.of_family("exclusion")) == len(espd.of_family("exclusion"))
    assert len(asked.of_family("selection")) == len(espd.of_family("selection"))
    assert {q.kind for c in asked.criteria for q in c.questions} == set(VALUES)
    turnover = next(c for c in asked.criteria if c.code == "gen-year-to")
    assert turnover.name_fr
    assert {r.kind: r.value for r in turnover.requirements}["MINIMUM_AMOUNT"] == "3 EUR"


def test_a_description_is_asked_only_when_its_ground_is_answered_yes():
    asked = questions()
    ground = next(c for c in asked.criteria if c.code == "crime-org")
    first, describe = ground.questions[0], ground.questions[1]
    assert first.kind == "INDICATOR"
    assert first.condition is None
    assert describe.condition == (first.id, True)

    assert er.is_asked(asked, describe, {first.id: True})
    assert not er.is_asked(asked, describe, {first.id: False})
    assert not er.is_asked(asked, describe, {})


def test_an_unknown_lot_has_no_questions():
    with pytest.raises(er.ResponseError) as refused:
        er.questionnaire(request_xml(), "LOT-0009")
    assert refused.value.code == "unknown_lot"


# --- The document -------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["exclusion", "selection", "other"])
def test_every_criterion_of_a_family_answered_is_valid_against_the_xsd(family):
    asked = questions()
    xml = build(every_answer(asked, family))

    assert er.validate(xml) == []
    root = etree.fromstring(xml)
    answered = {
        e.text
        for e in root.iterfind(
            "cac:TenderingCriterionResponse/cbc:ValidatedCriterionPropertyID", NS
        )
    }
    codes = {c.code for c in asked.of_family(family)}
    answered_codes = {c.code for c in asked.criteria for q in c.questions if q.id in answered}
    assert answered_codes == codes


def test_the_response_references_the_request_and_states_the_operator():
    xml = build({questions().criteria[0].questions[0].id: False})
    root = etree.fromstring(xml)
    request_root = etree.fromstring(request_xml())

    assert etree.QName(root).localname == "QualificationApplicationResponse"
    reference = root.find("cac:AdditionalDocumentReference", NS)
    assert reference.findtext("cbc:ID", namespaces=NS) == request_root.findtext(
        "cbc:ID", namespaces=NS
    )
    assert reference.findtext("cbc:UUID", namespaces=NS) == request_root.findtext(
        "cbc:UUID", namespaces=NS
    )
    assert reference.findtext("cbc:DocumentTypeCode", namespaces=NS) == "ESPD_REQUEST"
    assert root.findtext("cbc:ContractFolderID", namespaces=NS) == "2026-TRX-01"
    assert root.findtext("cbc:UUID", namespaces=NS) == str(DOCUMENT)
    party = root.find("cac:EconomicOperatorParty/cac:Party", NS)
    assert party.findtext("cbc:IndustryClassificationCode", namespaces=NS) == "small"
    ids = {e.get("schemeID"): e.text for e in party.iterfind("cac:PartyIdentification/cbc:ID", NS)}
    assert ids == {"SIRET": "73282932000074", "SIREN": "732829320"}
    assert [e.text for e in root.iterfind("cac:ProcurementProjectLot/cbc:ID", NS)] == ["LOT-0001"]


def test_a_response_for_one_lot_echoes_that_lots_requirements_only():
    xml = build(every_answer(questions("LOT-0002")), lot="LOT-0002")

    assert er.validate(xml) == []
    root = etree.fromstring(xml)
    lots = {e.text for e in root.iter(f"{{{espd.CBC}}}ExpectedID")}
    assert lots == {"LOT-0002"}
    references = {e.text for e in root.iterfind(".//cac:ProcurementProjectLotReference/cbc:ID", NS)}
    assert references == {"LOT-0002"}


def test_answers_to_questions_not_asked_are_left_out():
    asked = questions()
    ground = next(c for c in asked.criteria if c.code == "crime-org")
    first, describe = ground.questions[0], ground.questions[1]

    assert describe.kind == "DATE"  # of the conviction

    xml = build({first.id: False, describe.id: "2019-05-02", "NOT/A/QUESTION": "x"})

    parsed = er.read(xml)
    assert parsed.answers == {first.id: False}
    assert b"2019-05-02" not in xml


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("AMOUNT", {"amount": "-1", "currency": "EUR"}, "invalid_number"),
        ("AMOUNT", {"amount": "10", "currency": "euro"}, "invalid_currency"),
        ("AMOUNT", {"amount": "NaN", "currency": "EUR"}, "invalid_number"),
        ("QUANTITY_YEAR", "2.5", "not_a_whole_number"),
        ("PERCENTAGE", "120", "invalid_number"),
        ("DESCRIPTION", "nul\x00octet", "control_characters"),
        ("DESCRIPTION", "x" * (er.DESCRIPTION_LENGTH + 1), "text_too_long"),
        ("PERIOD", {"start": "2024-12-31", "end": "2024-01-01"}, "period_ends_before_start"),
        ("PERIOD", {"start": "2024-12-31"}, "invalid_period"),
        ("DATE", "31/12/2024", "invalid_date"),
        ("URL", "javascript:alert(1)", "invalid_url"),
        ("CODE_COUNTRY", "France", "invalid_country"),
        ("INDICATOR", "peut-être", "invalid_indicator"),
    ],
)
def test_an_invalid_answer_is_refused_with_its_code(kind, value, code):
    with pytest.raises(er.ResponseError) as refused:
        er.clean_answer(kind, value)
    assert refused.value.code == code


# --- Round trip -----------------------------------------------------------------------------


def test_export_then_import_gives_the_same_answers():
    asked = questions()
    answers = er.relevant(asked, every_answer(asked))

    parsed = er.read(build(answers))
    imported = er.merge(asked, parsed)

    assert parsed.schema_errors == []
    assert imported.answers == answers
    assert imported.ignored == []
    assert not imported.other_procedure
    assert parsed.operator == OPERATOR


def _answer_strategy(kind: str) -> st.SearchStrategy:
    text = st.text(
        st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
    ).filter(lambda s: s.strip() == s and s)
    day = st.dates(datetime.date(1950, 1, 1), datetime.date(2100, 12, 31))
    amount = st.decimals(min_value=0, max_value=Decimal("1e12"), places=2, allow_nan=False)
    if kind == "INDICATOR":
        return st.booleans()
    if kind == "AMOUNT":
        return st.builds(
            lambda a, c: {"amount": str(a), "currency": c}, amount, st.sampled_from(["EUR", "CHF"])
        )
    if kind == "PERIOD":
        return st.tuples(day, day).map(
            lambda p: {"start": min(p).isoformat(), "end": max(p).isoformat()}
        )
    if kind == "DATE":
        return day.map(datetime.date.isoformat)
    if kind in ("QUANTITY_YEAR", "QUANTITY_INTEGER"):
        return st.integers(0, 10**9).map(str)
    if kind == "PERCENTAGE":
        return st.decimals(min_value=0, max_value=100, places=2).map(str)
    if kind == "QUANTITY":
        return amount.map(str)
    if kind == "URL":
        return st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9]{0,10}", fullmatch=True)
    if kind == "CODE_COUNTRY":
        return st.sampled_from(["FRA", "BEL", "DEU"])
    if kind == "CODE":
        return st.from_regex(r"[a-z][a-z-]{0,15}", fullmatch=True)
    return text


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_answers_survive_the_round_trip(data):
    asked = questions()
    chosen = data.draw(
        st.lists(
            st.sampled_from([q for c in asked.criteria for q in c.questions]),
            max_size=60,
            unique_by=lambda q: q.id,
        )
    )
    raw = {q.id: data.draw(_answer_strategy(q.kind)) for q in chosen}
    # A response answers one question at least: the first exclusion ground's.
    first = asked.criteria[0].questions[0]
    raw.setdefault(first.id, data.draw(st.booleans()))
    answers = er.relevant(
        asked, {k: er.clean_answer(asked.question(k).kind, v) for k, v in raw.items()}
    )

    imported = er.merge(asked, er.read(build(answers)))

    assert imported.answers == answers


# --- Reading what others made -----------------------------------------------------------------


def test_the_official_sample_response_is_read_valid():
    parsed = er.read(SAMPLE.read_bytes())

    assert parsed.schema_errors == []
    assert parsed.operator.name == "__Procurer Official Name__"
    assert parsed.operator.size == "sme"
    assert parsed.lot == "LOT-0000"
    assert len(parsed.answers) > 200
    crime = next(c for c in parsed.questions.criteria if c.code == "crime-org")
    assert parsed.ground_answer(crime) is True
    assert crime in parsed.exclusions_answered_yes


def test_answers_to_criteria_the_request_does_not_ask_are_ignored_and_named():
    asked = er.questionnaire(request_xml(selection=False, lots=0), "LOT-0000")
    parsed = er.read(SAMPLE.read_bytes())

    imported = er.merge(asked, parsed)

    assert imported.answers
    assert all(asked.question(k) is not None for k in imported.answers)
    turnover = next(c for c in parsed.questions.criteria if c.code == "gen-year-to")
    assert turnover.title in imported.ignored
    assert imported.other_procedure


def test_a_request_is_not_a_response():
    with pytest.raises(er.ResponseError) as refused:
        er.read(request_xml())
    assert refused.value.code == "wrong_root"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"%PDF-1.7 not xml", "not_xml"),
        (b"", "not_xml"),
        (b"<a><b></a>", "not_xml"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b"<QualificationApplicationResponse>&lol2;</QualificationApplicationResponse>",
            "doctype",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<r>&x;</r>",
            "doctype",
        ),
        (b"<r>" + b" " * er.MAX_BYTES + b"</r>", "too_large"),
    ],
)
def test_a_reader_refuses_what_is_not_a_safe_xml_document(data, code):
    with pytest.raises(er.ResponseError) as refused:
        er.read(data)
    assert refused.value.code == code


def test_a_response_without_answers_is_not_built():
    with pytest.raises(er.ResponseError) as refused:
        build({})
    assert refused.value.code == "no_answer"


def test_an_invalid_response_is_read_with_its_schema_errors():
    root = etree.fromstring(build({questions().criteria[0].questions[0].id: False}))
    etree.SubElement(root, f"{{{espd.CBC}}}Unexpected").text = "x"

    parsed = er.read(etree.tostring(root))

    assert parsed.schema_errors
    assert "Unexpected" in parsed.schema_errors[0]
