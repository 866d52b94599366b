"""A company's ESPD response (the DUME), as ESPD-EDM 4.1.0 XML (OASIS UBL 2.3
``QualificationApplicationResponse``): the questions a request asks, the document the
platform exports, and the reading of any response (imported, or opened from a deposit).

The questions are the request's own: each ``cac:TenderingCriterion`` of the buyer's
request (``procurement.espd``) carries property groups whose ``QUESTION`` properties the
economic operator answers, by their ID (``cbc:ValidatedCriterionPropertyID`` of a
``cac:TenderingCriterionResponse``). A subsidiary group typed ``ONTRUE``/``ONFALSE`` is asked
only when the yes/no question before it in its parent group has that answer (the "please
describe them" after an exclusion ground answered yes). A selection criterion's groups are
repeated per lot in the request: a response answers for one lot, the groups of that lot.

Each question is answered once (a repeatable group, such as the turnover of each year,
takes one answer here). Answers are JSON values, the same in the form, the stored row and
the XML: ``True``/``False`` for a yes/no, ``{"amount": "1200.50", "currency": "EUR"}``,
``{"start": "2024-01-01", "end": "2024-12-31"}``, a decimal or a text as a string.

Every built document is checked against the official response XSD before it is returned
(:func:`build`); a reader refuses what is not a response (:func:`read`): not XML, a document
type declaration (entities, external or not: the usual XML bombs), another root, over
:data:`MAX_BYTES`. The ESPD Schematron rules are not vendored: they are not checked.
"""

from __future__ import annotations

import copy
import datetime
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, cast

from lxml import etree

from mutualis.procurement import espd
from mutualis.procurement.espd import AGENCY, CAC, CBC, EDM_VERSION, NS, PARIS

RESP = "urn:oasis:names:specification:ubl:schema:xsd:QualificationApplicationResponse-2"
RESPONSE_XSD = (
    espd.DATA / "ubl-2.3" / "xsdrt" / "maindoc" / "UBL-QualificationApplicationResponse-2.3.xsd"
)
ROOT = "QualificationApplicationResponse"
# A response is a few hundred kilobytes; the official sample, every criterion answered, 1.1 MB.
MAX_BYTES = 5 * 1024 * 1024
DESCRIPTION_LENGTH = 4000
LINE_LENGTH = 300
# The first schema errors shown to whoever imports an invalid document.
SHOWN_ERRORS = 5

COUNTRY_LIST = "http://publications.europa.eu/resource/authority/country"
SIZE_LIST = "http://publications.europa.eu/resource/authority/economic-operator-size"
DOCREF_LIST = "http://publications.europa.eu/resource/authority/docrefcontent-type"
LIST_VERSION = "20250924-0"
SIZES = ("micro", "small", "medium", "large", "sme")

# The question types answered here, with the form of their answer.
INDICATOR = "INDICATOR"
TEXTS = {"DESCRIPTION"}
# An evidence is named by its address or reference, as the issuer gives it.
LINES = {"ECONOMIC_OPERATOR_IDENTIFIER", "QUAL_IDENTIFIER", "CODE", "EVIDENCE_IDENTIFIER"}
NUMBERS = {"QUANTITY", "PERCENTAGE"}
WHOLE_NUMBERS = {"QUANTITY_YEAR", "QUANTITY_INTEGER"}
URLS = {"URL"}
SUPPORTED = frozenset(
    {INDICATOR, "AMOUNT", "DATE", "PERIOD", "CODE_COUNTRY"}
    | TEXTS | LINES | NUMBERS | WHOLE_NUMBERS | URLS
)  # fmt: skip
_CURRENCY = re.compile(r"[A-Z]{3}\Z")
_COUNTRY = re.compile(r"[A-Z]{3}\Z")
_CODE = re.compile(r"[A-Za-z0-9._-]{1,50}\Z")
# C0 controls and DEL but the tab and line breaks: no XML 1.0 text holds them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Answer = bool | str | dict[str, str]


class ResponseError(ValueError):
    """An answer or a document the platform refuses; ``code`` is stable."""

    def __init__(self, code: str, detail: str = "", *, errors: list[str] | None = None) -> None:
        self.code = code
        self.detail = detail
        self.errors = errors or []
        super().__init__(f"{code}: {detail}" if detail else code)


# --- The questions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str  # the property's ID, which the answer names
    kind: str  # its value data type ("INDICATOR", "AMOUNT"…)
    label: str  # official, English
    depth: int  # nesting under the criterion, for display
    condition: tuple[str, bool] | None = None  # asked when that yes/no question is so answered


@dataclass(frozen=True)
class Requirement:
    """What the buyer requires (a minimum amount, a number of years…), shown with the
    criterion."""

    label: str
    kind: str
    value: str


@dataclass(frozen=True)
class CriterionQuestions:
    code: str
    identifier: str
    family: espd.Family
    name: str
    name_fr: str
    description: str
    requirements: tuple[Requirement, ...]
    questions: tuple[Question, ...]

    @property
    def title(self) -> str:
        return self.name_fr or self.name


@dataclass(frozen=True)
class Questionnaire:
    """What a request asks the operator of one lot."""

    request_id: str
    request_uuid: str
    reference: str  # the buyer's reference of the procedure (cbc:ContractFolderID)
    lot: str
    criteria: tuple[CriterionQuestions, ...]
    _by_id: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for criterion in self.criteria:
            for question in criterion.questions:
                self._by_id[question.id] = question

    def question(self, identifier: str) -> Question | None:
        return self._by_id.get(identifier)

    def of_family(self, family: str) -> list[CriterionQuestions]:
        return [c for c in self.criteria if c.family == family]


def _text(element: etree._Element, path: str) -> str:
    return (element.findtext(path, namespaces=NS) or "").strip()


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _family(element: etree._Element, code: str) -> espd.Family:
    known = espd.catalogue().get(code)
    if known is not None:
        return known.family
    group = _text(element, "cac:TenderingCriterionPropertyGroup/cbc:ID")
    part = group.split("_")[1] if group.count("_") >= 2 else ""
    return {"EG": "exclusion", "SC": "selection"}.get(part, "other")  # type: ignore[return-value]


def _expected(prop: etree._Element) -> str:
    """A requirement's stated value, as shown: ``100000 EUR``, ``3``, a description."""
    for child in prop:
        name = _local(child)
        value = (child.text or "").strip()
        if name.startswith(("Expected", "Minimum", "Maximum")) and value:
            currency = child.get("currencyID")
            return f"{value} {currency}" if currency else value
    return ""


def _group_lot(group: etree._Element) -> str | None:
    for prop in group.iterfind("cac:TenderingCriterionProperty", NS):
        if _text(prop, "cbc:ValueDataTypeCode") == "LOT_IDENTIFIER":
            return _text(prop, "cbc:ExpectedID") or None
    return None


def _walk(
    group: etree._Element,
    depth: int,
    condition: tuple[str, bool] | None,
    questions: list[Question],
    requirements: list[Requirement],
) -> None:
    last_indicator: str | None = None
    for child in group:
        name = _local(child)
        if name == "TenderingCriterionProperty":
            kind = _text(child, "cbc:ValueDataTypeCode")
            identifier = _text(child, "cbc:ID")
            role = _text(child, "cbc:TypeCode")
            if role == "QUESTION" and kind in SUPPORTED and identifier:
                label = _text(child, "cbc:Description") or _text(child, "cbc:Name")
                questions.append(Question(identifier, kind, label, depth, condition))
                if kind == INDICATOR:
                    last_indicator = identifier
            elif role == "REQUIREMENT" and kind not in {"LOT_IDENTIFIER", *espd.STRUCTURAL}:
                value = _expected(child)
                if value:
                    requirements.append(Requirement(_text(child, "cbc:Description"), kind, value))
        elif name == "SubsidiaryTenderingCriterionPropertyGroup":
            kind = _text(child, "cbc:PropertyGroupTypeCode")
            inner = condition
            if kind in ("ONTRUE", "ONFALSE") and last_indicator is not None:
                inner = (last_indicator, kind == "ONTRUE")
            _walk(child, depth + 1, inner, questions, requirements)


def _lot_groups(criterion: etree._Element, lot: str) -> list[etree._Element]:
    groups = criterion.findall("cac:TenderingCriterionPropertyGroup", NS)
    return [g for g in groups if _group_lot(g) in (None, lot)]


def _applies_to(criterion: etree._Element, lot: str) -> bool:
    lots = [
        _text(r, "cbc:ID") for r in criterion.iterfind("cac:ProcurementProjectLotReference", NS)
    ]
    return not lots or lot in lots


def _criteria(
    root: etree._Element, lot: str
) -> Iterator[tuple[etree._Element, CriterionQuestions]]:
    for element in root.iterfind("cac:TenderingCriterion", NS):
        if not _applies_to(element, lot):
            continue
        code = _text(element, "cbc:CriterionTypeCode")
        questions: list[Question] = []
        requirements: list[Requirement] = []
        for group in _lot_groups(element, lot):
            _walk(group, 0, None, questions, requirements)
        known = espd.catalogue().get(code)
        yield (
            element,
            CriterionQuestions(
                code=code,
                identifier=_text(element, "cbc:ID"),
                family=_family(element, code),
                name=_text(element, "cbc:Name") or code,
                name_fr=known.name_fr if known is not None else "",
                description=_text(element, "cbc:Description"),
                requirements=tuple(requirements),
                questions=tuple(questions),
            ),
        )


def _lots_of(root: etree._Element) -> list[str]:
    return [_text(e, "cbc:ID") for e in root.iterfind("cac:ProcurementProjectLot", NS)]


def questionnaire(request_xml: bytes, lot: str) -> Questionnaire:
    """What the ESPD request ``request_xml`` (built by ``procurement.espd``) asks the
    operator responding for ``lot`` (``espd.lot_identifier``)."""
    root = _parse_trusted(request_xml)
    if lot not in _lots_of(root):
        raise ResponseError("unknown_lot", lot)
    return Questionnaire(
        request_id=_text(root, "cbc:ID"),
        request_uuid=_text(root, "cbc:UUID"),
        reference=_text(root, "cbc:ContractFolderID"),
        lot=lot,
        criteria=tuple(c for _e, c in _criteria(root, lot)),
    )


def _parse_trusted(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    return etree.fromstring(xml, parser)


# --- Answers ---------------------------------------------------------------------------


def _clean_text(value: Any, *, limit: int) -> str:
    if not isinstance(value, str):
        raise ResponseError("invalid_text")
    text = value.replace("\r\n", "\n").strip()
    if _CONTROLS.search(text):
        raise ResponseError("control_characters")
    if len(text) > limit:
        raise ResponseError("text_too_long")
    return text


def _clean_number(value: Any, *, whole: bool, maximum: Decimal | None = None) -> str:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ResponseError("invalid_number") from None
    if not number.is_finite() or number < 0 or (maximum is not None and number > maximum):
        raise ResponseError("invalid_number")
    if whole and number != number.to_integral_value():
        raise ResponseError("not_a_whole_number")
    if number.adjusted() > 15:
        raise ResponseError("invalid_number")
    text = format(number.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _clean_date(value: Any) -> str:
    try:
        day = datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ResponseError("invalid_date") from None
    if not 1900 <= day.year <= 2200:
        raise ResponseError("invalid_date")
    return day.isoformat()


def _clean_url(value: Any) -> str:
    text = _clean_text(value, limit=LINE_LENGTH * 3)
    if not re.match(r"https?://[^\s]+\Z", text):
        raise ResponseError("invalid_url")
    return text


def clean_answer(kind: str, value: Any) -> Answer:
    """``value`` as stored for a question of type ``kind``; raises :class:`ResponseError`."""
    if kind == INDICATOR:
        if isinstance(value, bool):
            return bool(value)
        if value in ("true", "false"):
            return bool(value == "true")
        raise ResponseError("invalid_indicator")
    if kind in TEXTS:
        return _clean_text(value, limit=DESCRIPTION_LENGTH)
    if kind in LINES:
        text = _clean_text(value, limit=LINE_LENGTH)
        if kind == "CODE" and not _CODE.match(text):
            raise ResponseError("invalid_code")
        return text
    if kind == "CODE_COUNTRY":
        text = _clean_text(value, limit=LINE_LENGTH).upper()
        if not _COUNTRY.match(text):
            raise ResponseError("invalid_country")
        return text
    if kind in NUMBERS:
        return _clean_number(
            value, whole=False, maximum=Decimal(100) if kind == "PERCENTAGE" else None
        )
    if kind in WHOLE_NUMBERS:
        return _clean_number(value, whole=True)
    if kind in URLS:
        return _clean_url(value)
    if kind == "DATE":
        return _clean_date(value)
    if kind == "AMOUNT":
        if not isinstance(value, Mapping):
            raise ResponseError("invalid_amount")
        currency = str(value.get("currency") or "EUR").strip().upper()
        if not _CURRENCY.match(currency):
            raise ResponseError("invalid_currency")
        return {"amount": _clean_number(value.get("amount"), whole=False), "currency": currency}
    if kind == "PERIOD":
        if not isinstance(value, Mapping):
            raise ResponseError("invalid_period")
        if not value.get("start") or not value.get("end"):
            raise ResponseError("invalid_period")
        start, end = _clean_date(value.get("start")), _clean_date(value.get("end"))
        if end < start:
            raise ResponseError("period_ends_before_start")
        return {"start": start, "end": end}
    raise ResponseError("unsupported_question", kind)


def is_asked(questions: Questionnaire, question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether ``question`` is asked given the ``answers`` to the yes/no questions above it."""
    seen = 0
    while question.condition is not None and seen < 64:
        indicator, wanted = question.condition
        if answers.get(indicator) is not wanted:
            return False
        parent = questions.question(indicator)
        if parent is None:
            return False
        question, seen = parent, seen + 1
    return True


def relevant(questions: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Answer]:
    """The answers the document carries: to questions asked, in the questionnaire's order."""
    kept: dict[str, Answer] = {}
    for criterion in questions.criteria:
        for question in criterion.questions:
            if question.id in answers and is_asked(questions, question, answers):
                kept[question.id] = answers[question.id]
    return kept


# --- The document ----------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """The economic operator's identity (``cac:EconomicOperatorParty``)."""

    name: str
    siren: str = ""
    siret: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "FRA"
    size: str = ""  # one of SIZES, or unknown
    contact_name: str = ""
    email: str = ""
    telephone: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operator:
        names = cls.__dataclass_fields__
        return cls(**{k: str(v) for k, v in data.items() if k in names and v is not None})


def _sub(parent: etree._Element, namespace: str, name: str, text: str | None = None,
         **attributes: str) -> etree._Element:  # fmt: skip
    element = etree.SubElement(parent, _q(namespace, name), attributes)
    if text is not None:
        element.text = text
    return element


def _criterion_attrs() -> dict[str, str]:
    return {"schemeID": "Criterion", "schemeAgencyID": AGENCY, "schemeVersionID": EDM_VERSION}


def _for_lot(element: etree._Element, lot: str) -> etree._Element:
    """A request's criterion as the response echoes it: the groups and the lot reference
    of ``lot`` only."""
    copied = copy.deepcopy(element)
    for reference in copied.findall("cac:ProcurementProjectLotReference", NS):
        if _text(reference, "cbc:ID") != lot:
            copied.remove(reference)
    for group in copied.findall("cac:TenderingCriterionPropertyGroup", NS):
        if _group_lot(group) not in (None, lot):
            copied.remove(group)
    return copied


def _operator(root: etree._Element, operator: Operator) -> None:
    party_root = _sub(root, CAC, "EconomicOperatorParty")
    party = _sub(party_root, CAC, "Party")
    if operator.size in SIZES:
        _sub(party, CBC, "IndustryClassificationCode", operator.size, listID=SIZE_LIST,
             listAgencyID="OP", listVersionID=LIST_VERSION)  # fmt: skip
    if operator.siret:
        identification = _sub(party, CAC, "PartyIdentification")
        _sub(identification, CBC, "ID", operator.siret, schemeID="SIRET", schemeAgencyID="FR-INSEE")
    if operator.siren:
        identification = _sub(party, CAC, "PartyIdentification")
        _sub(identification, CBC, "ID", operator.siren, schemeID="SIREN", schemeAgencyID="FR-INSEE")
    _sub(_sub(party, CAC, "PartyName"), CBC, "Name", operator.name)
    address = _sub(party, CAC, "PostalAddress")
    if operator.street:
        _sub(address, CBC, "StreetName", operator.street)
    if operator.city:
        _sub(address, CBC, "CityName", operator.city)
    if operator.postal_code:
        _sub(address, CBC, "PostalZone", operator.postal_code)
    _sub(_sub(address, CAC, "Country"), CBC, "IdentificationCode", operator.country or "FRA",
         listID=COUNTRY_LIST, listAgencyID="OP", listVersionID=LIST_VERSION)  # fmt: skip
    if operator.contact_name or operator.telephone or operator.email:
        contact = _sub(party, CAC, "Contact")
        if operator.contact_name:
            _sub(contact, CBC, "Name", operator.contact_name)
        if operator.telephone:
            _sub(contact, CBC, "Telephone", operator.telephone)
        if operator.email:
            _sub(contact, CBC, "ElectronicMail", operator.email)


def _answer(parent: etree._Element, question: Question, value: Answer, lot: str | None,
            evidences: list[tuple[str, str]]) -> None:  # fmt: skip
    response = _sub(parent, CAC, "TenderingCriterionResponse")
    _sub(response, CBC, "ID", f"{question.id}/R1", **_criterion_attrs())
    _sub(response, CBC, "ValidatedCriterionPropertyID", question.id, **_criterion_attrs())
    kind = question.kind
    if kind == "PERIOD" and isinstance(value, dict):
        period = _sub(response, CAC, "ApplicablePeriod")
        _sub(period, CBC, "StartDate", value["start"])
        _sub(period, CBC, "EndDate", value["end"])
    elif kind == "EVIDENCE_IDENTIFIER":
        evidence = f"EVIDENCE-{question.id}"
        evidences.append((evidence, str(value)))
        _sub(_sub(response, CAC, "EvidenceSupplied"), CBC, "ID", evidence, schemeAgencyID=AGENCY)
    else:
        holder = _sub(response, CAC, "ResponseValue")
        _sub(holder, CBC, "ID", f"{question.id}/R1/RV", **_criterion_attrs())
        if kind == INDICATOR:
            _sub(holder, CBC, "ResponseIndicator", "true" if value else "false")
        elif kind in TEXTS:
            _sub(holder, CBC, "Description", str(value))
        elif kind == "AMOUNT" and isinstance(value, dict):
            _sub(holder, CBC, "ResponseAmount", value["amount"], currencyID=value["currency"])
        elif kind == "DATE":
            _sub(holder, CBC, "ResponseDate", str(value))
        elif kind == "CODE_COUNTRY":
            _sub(holder, CBC, "ResponseCode", str(value), listID=COUNTRY_LIST, listAgencyID="OP",
                 listVersionID=LIST_VERSION)  # fmt: skip
        elif kind == "CODE":
            _sub(holder, CBC, "ResponseCode", str(value))
        elif kind in ("ECONOMIC_OPERATOR_IDENTIFIER", "QUAL_IDENTIFIER"):
            _sub(holder, CBC, "ResponseID", str(value))
        elif kind == "PERCENTAGE":
            _sub(holder, CBC, "ResponseNumeric", str(value), format="PERCENTAGE")
        elif kind in ("QUANTITY_YEAR", "QUANTITY_INTEGER"):
            unit = "YEAR" if kind == "QUANTITY_YEAR" else "INTEGER"
            _sub(holder, CBC, "ResponseQuantity", str(value), unitCode=unit)
        elif kind == "QUANTITY":
            _sub(holder, CBC, "ResponseQuantity", str(value))
        elif kind == "URL":
            _sub(holder, CBC, "ResponseURI", str(value))
    if lot is not None:
        _sub(_sub(response, CAC, "ProcurementProjectLotReference"), CBC, "ID", lot,
             schemeID="Criterion", schemeAgencyID="OP", schemeVersionID=EDM_VERSION)  # fmt: skip


def build(
    *,
    request_xml: bytes,
    lot: str,
    operator: Operator,
    answers: Mapping[str, Any],
    issued_at: datetime.datetime,
    document_uuid: uuid.UUID,
) -> bytes:
    """The response to ``request_xml`` for ``lot``, as UTF-8 XML valid against the
    response XSD. Answers to questions not asked are left out; an invalid answer, or a
    document the schema refuses (a bug), raises :class:`ResponseError`."""
    request = _parse_trusted(request_xml)
    questions = questionnaire(request_xml, lot)
    cleaned = {}
    for key, value in answers.items():
        question = questions.question(key)
        if question is not None:
            cleaned[key] = clean_answer(question.kind, value)
    kept = relevant(questions, cleaned)
    if not kept:
        # The schema wants at least one TenderingCriterionResponse, and so does a reader.
        raise ResponseError("no_answer")
    issued = issued_at.astimezone(PARIS)
    nsmap: Any = {None: RESP, "cac": CAC, "cbc": CBC}
    root = etree.Element(_q(RESP, ROOT), nsmap=nsmap)
    _sub(root, CBC, "UBLVersionID", "2.3", schemeAgencyID="OASIS-UBL-TC")
    _sub(root, CBC, "ProfileExecutionID", f"ESPD-EDMv{EDM_VERSION}", schemeAgencyID="OP",
         schemeVersionID=EDM_VERSION)  # fmt: skip
    _sub(root, CBC, "ID", f"ESPDRESP-{document_uuid}", schemeAgencyID=AGENCY)
    _sub(root, CBC, "CopyIndicator", "false")
    _sub(root, CBC, "UUID", str(document_uuid), schemeID="ISO/IEC 9834-8:2008 - 4UUID",
         schemeAgencyID=AGENCY, schemeVersionID=EDM_VERSION)  # fmt: skip
    _sub(root, CBC, "ContractFolderID", questions.reference, schemeAgencyID=AGENCY)
    _sub(root, CBC, "IssueDate", issued.date().isoformat())
    _sub(root, CBC, "IssueTime", issued.isoformat(timespec="seconds")[11:])
    _sub(root, CBC, "VersionID", EDM_VERSION, schemeAgencyID="OP", schemeVersionID=EDM_VERSION)
    for name in ("ProcedureCode", "ContractingParty"):
        element = request.find(f"{{{CBC if name == 'ProcedureCode' else CAC}}}{name}")
        if element is not None:
            root.append(copy.deepcopy(element))
    _operator(root, operator)
    project = request.find("cac:ProcurementProject", NS)
    if project is not None:
        root.append(copy.deepcopy(project))
    lot_element = _sub(root, CAC, "ProcurementProjectLot")
    _sub(lot_element, CBC, "ID", lot, schemeID="Criterion", schemeAgencyID="OP",
         schemeVersionID=EDM_VERSION)  # fmt: skip
    criteria = list(_criteria(request, lot))
    for element, _questions in criteria:
        root.append(_for_lot(element, lot))
    evidences: list[tuple[str, str]] = []
    for _element, criterion in criteria:
        lot_reference = lot if criterion.family == "selection" else None
        for question in criterion.questions:
            if question.id in kept:
                _answer(root, question, kept[question.id], lot_reference, evidences)
    reference = _sub(root, CAC, "AdditionalDocumentReference")
    _sub(reference, CBC, "ID", questions.request_id, schemeAgencyID=AGENCY)
    if questions.request_uuid:
        _sub(reference, CBC, "UUID", questions.request_uuid, schemeID="ISO/IEC 9834-8:2008 - 4UUID",
             schemeAgencyID=AGENCY, schemeVersionID=EDM_VERSION)  # fmt: skip
    _sub(reference, CBC, "DocumentTypeCode", "ESPD_REQUEST", listID=DOCREF_LIST,
         listAgencyID="OP", listVersionID=LIST_VERSION)  # fmt: skip
    for identifier, url in evidences:
        evidence = _sub(root, CAC, "Evidence")
        _sub(evidence, CBC, "ID", identifier, schemeAgencyID=AGENCY)
        document = _sub(evidence, CAC, "DocumentReference")
        _sub(document, CBC, "ID", identifier, schemeAgencyID=AGENCY)
        _sub(_sub(_sub(document, CAC, "Attachment"), CAC, "ExternalReference"), CBC, "URI", url)
    try:
        xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    except ValueError as error:  # lxml: a character no XML text may hold
        raise ResponseError("invalid_text", str(error)) from None
    problems = validate(xml)
    if problems:
        raise ResponseError("schema_invalid", problems[0], errors=problems)
    return xml


@cache
def _response_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(RESPONSE_XSD), parser))


def validate(xml: bytes | etree._Element) -> list[str]:
    """The errors of ``xml`` against the ESPD response's XSD (none when valid)."""
    if isinstance(xml, bytes):
        try:
            document = _safe_parse(xml)
        except ResponseError as error:
            return [error.detail or error.code]
    else:
        document = xml
    schema = _response_schema()
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in cast(Any, schema.error_log)]


# --- Reading a response ------------------------------------------------------------------


@dataclass
class Parsed:
    """A response as read: its identity, the operator's, what its own criteria ask and
    what it answers (``answers``); ``unanswerable`` lists answers to properties none of its
    criteria asks; ``schema_errors`` is empty when the document is valid."""

    document_id: str
    document_uuid: str
    reference: str
    request_id: str
    request_uuid: str
    lot: str
    issued: str
    operator: Operator
    questions: Questionnaire
    answers: dict[str, Answer]
    unanswerable: list[str]
    schema_errors: list[str]

    @property
    def exclusions_answered_yes(self) -> list[CriterionQuestions]:
        return [c for c in self.questions.of_family("exclusion") if self.ground_answer(c) is True]

    def ground_answer(self, criterion: CriterionQuestions) -> bool | None:
        """An exclusion ground's own yes/no (its first question)."""
        first = next((q for q in criterion.questions if q.kind == INDICATOR), None)
        value = self.answers.get(first.id) if first is not None else None
        return value if isinstance(value, bool) else None


def _safe_parse(data: bytes) -> etree._Element:
    if len(data) > MAX_BYTES:
        raise ResponseError("too_large")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ResponseError("not_xml", str(error)) from None
    except ValueError as error:  # a string with an encoding declaration, bytes expected
        raise ResponseError("not_xml", str(error)) from None
    if cast(Any, root.getroottree().docinfo).doctype:
        # Entities, internal or external, are how XML bombs and file reads travel: no ESPD
        # document declares any.
        raise ResponseError("doctype")
    return root


def _response_value(response: etree._Element, kind: str, evidences: dict[str, str]) -> Any:
    if kind == "PERIOD":
        period = response.find("cac:ApplicablePeriod", NS)
        if period is None:
            return None
        return {"start": _text(period, "cbc:StartDate"), "end": _text(period, "cbc:EndDate")}
    if kind == "EVIDENCE_IDENTIFIER":
        identifier = _text(response, "cac:EvidenceSupplied/cbc:ID")
        return evidences.get(identifier) or identifier or None
    holder = response.find("cac:ResponseValue", NS)
    if holder is None:
        return None
    if kind == INDICATOR:
        return _text(holder, "cbc:ResponseIndicator") or None
    if kind in TEXTS:
        return _text(holder, "cbc:Description") or None
    if kind == "AMOUNT":
        amount = holder.find("cbc:ResponseAmount", NS)
        if amount is None:
            return None
        return {"amount": (amount.text or "").strip(), "currency": amount.get("currencyID", "")}
    names = {
        "DATE": "ResponseDate", "CODE_COUNTRY": "ResponseCode", "CODE": "ResponseCode",
        "ECONOMIC_OPERATOR_IDENTIFIER": "ResponseID", "QUAL_IDENTIFIER": "ResponseID",
        "PERCENTAGE": "ResponseNumeric", "QUANTITY": "ResponseQuantity",
        "QUANTITY_YEAR": "ResponseQuantity", "QUANTITY_INTEGER": "ResponseQuantity",
        "URL": "ResponseURI",
    }  # fmt: skip
    return _text(holder, f"cbc:{names[kind]}") or None


def _read_operator(root: etree._Element) -> Operator:
    party = root.find("cac:EconomicOperatorParty/cac:Party", NS)
    if party is None:
        return Operator(name="")
    ids: dict[str, str] = {}
    for identification in party.iterfind("cac:PartyIdentification/cbc:ID", NS):
        ids.setdefault(identification.get("schemeID") or "", (identification.text or "").strip())
    return Operator(
        name=_text(party, "cac:PartyName/cbc:Name"),
        siren=ids.get("SIREN", ""),
        siret=ids.get("SIRET", "") or next(iter(ids.values()), ""),
        street=_text(party, "cac:PostalAddress/cbc:StreetName"),
        postal_code=_text(party, "cac:PostalAddress/cbc:PostalZone"),
        city=_text(party, "cac:PostalAddress/cbc:CityName"),
        country=_text(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode"),
        size=_text(party, "cbc:IndustryClassificationCode"),
        contact_name=_text(party, "cac:Contact/cbc:Name"),
        email=_text(party, "cac:Contact/cbc:ElectronicMail"),
        telephone=_text(party, "cac:Contact/cbc:Telephone"),
    )


def read(data: bytes) -> Parsed:
    """Read an ESPD response: refuses (:class:`ResponseError`) what is not one; a
    response the schema refuses is read all the same, with its ``schema_errors``. An answer
    whose value its question's type refuses is left out, its property in ``unanswerable``."""
    root = _safe_parse(data)
    if etree.QName(root).localname != ROOT or etree.QName(root).namespace != RESP:
        raise ResponseError("wrong_root", etree.QName(root).localname)
    errors = validate(root)
    lots = _lots_of(root)
    lot = lots[0] if lots else espd.lot_identifier(0)
    criteria = tuple(c for _e, c in _criteria(root, lot))
    request = root.find("cac:AdditionalDocumentReference", NS)
    questions = Questionnaire(
        request_id=_text(request, "cbc:ID") if request is not None else "",
        request_uuid=_text(request, "cbc:UUID") if request is not None else "",
        reference=_text(root, "cbc:ContractFolderID"),
        lot=lot,
        criteria=criteria,
    )
    evidences = {}
    for evidence in root.iterfind("cac:Evidence", NS):
        uri = _text(evidence, "cac:DocumentReference/cac:Attachment/cac:ExternalReference/cbc:URI")
        evidences[_text(evidence, "cbc:ID")] = uri
    answers: dict[str, Answer] = {}
    unanswerable: list[str] = []
    for response in root.iterfind("cac:TenderingCriterionResponse", NS):
        identifier = _text(response, "cbc:ValidatedCriterionPropertyID")
        question = questions.question(identifier)
        if question is None:
            unanswerable.append(identifier)
            continue
        if identifier in answers:
            continue  # a repeated group: its first answer
        raw = _response_value(response, question.kind, evidences)
        if raw is None:
            continue
        try:
            answers[identifier] = clean_answer(question.kind, raw)
        except ResponseError:
            unanswerable.append(identifier)
    return Parsed(
        document_id=_text(root, "cbc:ID"),
        document_uuid=_text(root, "cbc:UUID"),
        reference=questions.reference,
        request_id=questions.request_id,
        request_uuid=questions.request_uuid,
        lot=lot,
        issued=" ".join(filter(None, (_text(root, "cbc:IssueDate"), _text(root, "cbc:IssueTime")))),
        operator=_read_operator(root),
        questions=questions,
        answers=answers,
        unanswerable=unanswerable,
        schema_errors=errors,
    )


@dataclass(frozen=True)
class Imported:
    """What an imported response gives the form of ``questions``: the answers it may
    take, and the criteria (or properties) whose answers were ignored."""

    answers: dict[str, Answer]
    ignored: list[str]
    other_procedure: bool


def merge(questions: Questionnaire, parsed: Parsed) -> Imported:
    """The answers of ``parsed`` that ``questions`` asks (the same property, the same
    type); the others are ignored and named."""
    answers: dict[str, Answer] = {}
    ignored: list[str] = []
    names = {q.id: c for c in parsed.questions.criteria for q in c.questions}
    for identifier, value in parsed.answers.items():
        question = questions.question(identifier)
        theirs = parsed.questions.question(identifier)
        if question is None or theirs is None or theirs.kind != question.kind:
            criterion = names.get(identifier)
            label = criterion.title if criterion is not None else identifier
            if label not in ignored:
                ignored.append(label)
            continue
        answers[identifier] = value
    for identifier in parsed.unanswerable:
        if identifier not in ignored:
            ignored.append(identifier)
    other = (bool(parsed.request_uuid) and parsed.request_uuid != questions.request_uuid) or (
        bool(parsed.reference) and parsed.reference != questions.reference
    )
    return Imported(answers=relevant(questions, answers), ignored=ignored, other_procedure=other)
