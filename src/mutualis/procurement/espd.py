"""The buyer's ESPD request (the DUME): exclusion grounds and selection criteria, as
ESPD-EDM 4.1.0 XML (OASIS UBL 2.3 ``QualificationApplicationRequest``).

Businesses answer it with any ESPD service (next issue: with the platform's own): the
document says which exclusion grounds apply (all of them, as French law makes every one
mandatory or left to the buyer's judgement, articles L. 2141-1 to L. 2141-11 of the code de
la commande publique), which selection criteria the buyer sets, with its requirements (a
minimum turnover, a number of years, a description), and to which lots each applies.

The criteria are the official taxonomy, read from the sample request the EU Publications
Office publishes with the model (``data/espd/``, EUPL 1.2): each criterion keeps its UUID,
its official English name and description, and its property groups, so that any ESPD
service recognises it; the buyer's values fill the requirements, whatever the sample held
is removed, and the sample's placeholder legislation references are left out. French
names, for the buyer's screens, come from the ``Criterion`` code list.

Every exported document is checked against the official XSDs (:func:`validate`); the
ESPD Schematron rules are not vendored: they are not checked here.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from lxml import etree

DATA = Path(__file__).resolve().parent / "data" / "espd"
TAXONOMY = DATA / "xml-examples" / "ESPD-Request.xml"
CODE_LIST = DATA / "codelists" / "gc" / "Criterion.gc"
REQUEST_XSD = DATA / "ubl-2.3" / "xsdrt" / "maindoc" / "UBL-QualificationApplicationRequest-2.3.xsd"

REQ = "urn:oasis:names:specification:ubl:schema:xsd:QualificationApplicationRequest-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}

EDM_VERSION = "4.1.0"
PARIS = ZoneInfo("Europe/Paris")
# The agency that issues the documents' identifiers (cbc:UUID's schemeAgencyID).
AGENCY = "MUTUALIS"

Family = Literal["exclusion", "selection", "other"]
_FAMILIES: dict[str, Family] = {"EG": "exclusion", "SC": "selection", "OT": "other"}

# The procedure types of the EU authority list (procurement-procedure-type).
PROCEDURE_LIST = "http://publications.europa.eu/resource/authority/procurement-procedure-type"
PROCEDURE_LIST_VERSION = "20250924-0"
PROCEDURES = frozenset(
    {"open", "restricted", "neg-w-call", "neg-wo-call", "comp-dial", "innovation", "oth-single",
     "oth-mult"}
)  # fmt: skip


class EspdError(ValueError):
    """The request cannot be built as asked (an unknown criterion, a missing value)."""


@dataclass(frozen=True)
class Criterion:
    """One criterion of the official taxonomy."""

    code: str  # "gen-year-to"
    identifier: str  # its UUID in the taxonomy
    family: Family
    name: str  # official, English
    name_fr: str
    requirements: tuple[str, ...]  # the value types the buyer states ("MINIMUM_AMOUNT"…)


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


@cache
def _taxonomy() -> dict[str, etree._Element]:
    parser = etree.XMLParser(
        remove_comments=True, remove_blank_text=True, resolve_entities=False, no_network=True
    )
    root = etree.parse(str(TAXONOMY), parser).getroot()
    return {
        element.findtext("cbc:CriterionTypeCode", namespaces=NS) or "": element
        for element in root.iterfind("cac:TenderingCriterion", NS)
    }


@cache
def _french_names() -> dict[str, str]:
    root = etree.parse(str(CODE_LIST)).getroot()
    names = {}
    # The code list's namespace is its root's only: its rows are unqualified.
    for row in root.iter("Row"):
        values = {
            value.get("ColumnRef"): value.findtext("SimpleValue") or ""
            for value in row.iter("Value")
        }
        if values.get("code"):
            names[values["code"]] = values.get("fra_label") or values.get("Name") or ""
    return names


def _requirement_types(element: etree._Element) -> tuple[str, ...]:
    types: list[str] = []
    for prop in element.iter(_q(CAC, "TenderingCriterionProperty")):
        if prop.findtext("cbc:TypeCode", namespaces=NS) != "REQUIREMENT":
            continue
        kind = prop.findtext("cbc:ValueDataTypeCode", namespaces=NS) or ""
        if kind in STATED and kind not in types:
            types.append(kind)
    return tuple(types)


@cache
def catalogue() -> dict[str, Criterion]:
    """Every criterion of the taxonomy, by code, in the taxonomy's order."""
    names = _french_names()
    criteria = {}
    for code, element in _taxonomy().items():
        group = element.findtext("cac:TenderingCriterionPropertyGroup/cbc:ID", namespaces=NS)
        family = _FAMILIES[(group or "").split("_")[1]]
        criteria[code] = Criterion(
            code=code,
            identifier=element.findtext("cbc:ID", namespaces=NS) or "",
            family=family,
            name=element.findtext("cbc:Name", namespaces=NS) or "",
            name_fr=names.get(code, ""),
            requirements=_requirement_types(element),
        )
    return criteria


def of_family(family: Family) -> list[Criterion]:
    return [c for c in catalogue().values() if c.family == family]


# The requirement value types a buyer states, with the element that carries the value.
STATED = {
    "MINIMUM_AMOUNT": "MinimumAmount",
    "QUANTITY_YEAR": "ExpectedValueNumeric",
    "MINIMUM_QUANTITY_YEAR": "ExpectedValueNumeric",
    "MINIMUM_QUANTITY_INTEGER": "ExpectedValueNumeric",
    "MINIMUM_QUANTITY": "ExpectedValueNumeric",
    "DESCRIPTION": "ExpectedDescription",
}
# Kept as the taxonomy sets them: how a form shows a yes/no question.
STRUCTURAL = {"CODE_BOOLEAN"}
# Every expected-value element a requirement may carry.
_EXPECTED = (
    "ExpectedAmount", "MaximumAmount", "MinimumAmount", "MaximumValueNumeric",
    "MinimumValueNumeric", "ExpectedValueNumeric", "ExpectedCode", "ExpectedValueIndicator",
    "ExpectedDescription", "ExpectedID", "ExpectedURI", "ApplicablePeriod",
)  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """A selection criterion the buyer sets: its code, the values of its requirements
    (``{"MINIMUM_AMOUNT": Decimal("200000"), "QUANTITY_YEAR": 3, "DESCRIPTION": "…"}``),
    and the lots it applies to (all when empty)."""

    code: str
    values: dict[str, Decimal | int | str] = field(default_factory=dict)
    lots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Buyer:
    name: str
    siret: str
    street: str = ""
    city: str = ""
    postal_code: str = ""
    contact_name: str = ""
    telephone: str = ""
    email: str = ""
    website: str = ""


@dataclass(frozen=True)
class Request:
    reference: str  # the buyer's internal reference (cbc:ContractFolderID)
    title: str
    description: str
    procedure: str  # one of PROCEDURES
    buyer: Buyer
    buyer_profile_url: str
    lots: Sequence[str] = ()  # lot numbers as identifiers ("LOT-0001"); none: one lot
    selection: Sequence[Selection] = ()
    issued_at: datetime.datetime | None = None
    document_uuid: uuid.UUID | None = None


def lot_identifier(number: int) -> str:
    """The ESPD identifier of lot ``number`` (0 for a consultation without lots)."""
    return f"LOT-{number:04d}"


def _sub(parent: etree._Element, namespace: str, name: str, text: str | None = None,
         **attributes: str) -> etree._Element:  # fmt: skip
    element = etree.SubElement(parent, _q(namespace, name), attributes)
    if text is not None:
        element.text = text
    return element


def _criterion_id(parent: etree._Element, name: str, text: str) -> etree._Element:
    return _sub(parent, CBC, name, text, schemeID="Criterion", schemeAgencyID="OP",
                schemeVersionID=EDM_VERSION)  # fmt: skip


def _value_text(kind: str, value: Decimal | int | str) -> str:
    if kind == "DESCRIPTION":
        text = str(value).strip()
        if not text:
            raise EspdError("empty description")
        return text
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise EspdError(f"{kind}: not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise EspdError(f"{kind}: not a positive number: {value!r}")
    if kind != "MINIMUM_AMOUNT" and kind != "MINIMUM_QUANTITY" and number != number.to_integral():
        raise EspdError(f"{kind}: not a whole number: {value!r}")
    return format(number.normalize(), "f")


def _fill(element: etree._Element, selection: Selection | None, lot: str | None) -> None:
    """Fill the requirements of a criterion (or of one of its property groups)."""
    for prop in element.iter(_q(CAC, "TenderingCriterionProperty")):
        if prop.findtext("cbc:TypeCode", namespaces=NS) != "REQUIREMENT":
            continue
        kind = prop.findtext("cbc:ValueDataTypeCode", namespaces=NS) or ""
        if kind in STRUCTURAL:
            continue
        for name in _EXPECTED:
            for old in prop.findall(f"cbc:{name}", NS):
                prop.remove(old)
        if kind == "LOT_IDENTIFIER" and lot is not None:
            _sub(prop, CBC, "ExpectedID", lot, schemeAgencyID="OP")
        elif kind in STATED and selection is not None and kind in selection.values:
            text = _value_text(kind, selection.values[kind])
            if kind == "MINIMUM_AMOUNT":
                _sub(prop, CBC, STATED[kind], text, currencyID="EUR")
            else:
                _sub(prop, CBC, STATED[kind], text)


def _criterion(code: str, selection: Selection | None, lots: Sequence[str]) -> etree._Element:
    element = copy.deepcopy(_taxonomy()[code])
    for legislation in element.findall("cac:Legislation", NS):
        element.remove(legislation)
    for reference in element.findall("cac:ProcurementProjectLotReference", NS):
        element.remove(reference)
    groups = element.findall("cac:TenderingCriterionPropertyGroup", NS)
    if selection is None:
        _fill(element, None, None)
        return element
    # A selection criterion: one reference and one requirement group per lot.
    description = element.find("cbc:Description", NS)
    position = 4 if description is not None else 3  # after ID, type code, name (, description)
    for offset, lot in enumerate(lots):
        reference = etree.Element(_q(CAC, "ProcurementProjectLotReference"))
        _criterion_id(reference, "ID", lot)
        element.insert(position + offset, reference)
    for group in groups:
        element.remove(group)
    for lot in lots:
        for group in groups:
            copied = copy.deepcopy(group)
            _fill(copied, selection, lot)
            element.append(copied)
    return element


def _check(request: Request) -> list[str]:
    if request.procedure not in PROCEDURES:
        raise EspdError(f"unknown procedure type: {request.procedure!r}")
    lots = list(request.lots) or [lot_identifier(0)]
    if len(set(lots)) != len(lots):
        raise EspdError("a lot is listed twice")
    known = catalogue()
    seen = set()
    for selection in request.selection:
        criterion = known.get(selection.code)
        if criterion is None or criterion.family != "selection":
            raise EspdError(f"not a selection criterion: {selection.code!r}")
        if selection.code in seen:
            raise EspdError(f"selection criterion set twice: {selection.code!r}")
        seen.add(selection.code)
        unknown_lots = set(selection.lots) - set(lots)
        if unknown_lots:
            raise EspdError(f"{selection.code}: unknown lots {sorted(unknown_lots)}")
        extra = set(selection.values) - set(criterion.requirements)
        if extra:
            raise EspdError(f"{selection.code}: no such requirement {sorted(extra)}")
    return lots


def build(request: Request) -> bytes:
    """The ESPD request of ``request``, as UTF-8 XML; raises :class:`EspdError`."""
    try:
        return _build(request)
    except ValueError as error:  # lxml: a control character no XML text may hold
        if isinstance(error, EspdError):
            raise
        raise EspdError(str(error)) from None


def _build(request: Request) -> bytes:
    lots = _check(request)
    issued = (request.issued_at or datetime.datetime.now(datetime.UTC)).astimezone(PARIS)
    document = request.document_uuid or uuid.uuid4()
    nsmap: Any = {None: REQ, "cac": CAC, "cbc": CBC}  # lxml-stubs refuse the None key
    root = etree.Element(_q(REQ, "QualificationApplicationRequest"), nsmap=nsmap)
    _sub(root, CBC, "UBLVersionID", "2.3", schemeAgencyID="OASIS-UBL-TC")
    _sub(root, CBC, "ProfileExecutionID", f"ESPD-EDMv{EDM_VERSION}", schemeAgencyID="OP",
         schemeVersionID=EDM_VERSION)  # fmt: skip
    _sub(root, CBC, "ID", f"ESPDREQ-{document}", schemeAgencyID=AGENCY)
    _sub(root, CBC, "CopyIndicator", "false")
    _sub(root, CBC, "UUID", str(document), schemeID="ISO/IEC 9834-8:2008 - 4UUID",
         schemeAgencyID=AGENCY, schemeVersionID=EDM_VERSION)  # fmt: skip
    _sub(root, CBC, "ContractFolderID", request.reference, schemeAgencyID=AGENCY)
    _sub(root, CBC, "IssueDate", issued.date().isoformat())
    _sub(root, CBC, "IssueTime", issued.isoformat(timespec="seconds")[11:])  # 18:41:42+01:00
    _sub(root, CBC, "VersionID", EDM_VERSION, schemeAgencyID="OP", schemeVersionID=EDM_VERSION)
    _sub(root, CBC, "ProcedureCode", request.procedure, listID=PROCEDURE_LIST,
         listAgencyID="OP", listVersionID=PROCEDURE_LIST_VERSION)  # fmt: skip
    _contracting_party(root, request)
    project = _sub(root, CAC, "ProcurementProject")
    _sub(project, CBC, "Name", request.title)
    _sub(project, CBC, "Description", request.description or request.title)
    for lot in lots:
        _criterion_id(_sub(root, CAC, "ProcurementProjectLot"), "ID", lot)
    chosen = {s.code: s for s in request.selection}
    for criterion in catalogue().values():
        if criterion.family == "selection":
            selection = chosen.get(criterion.code)
            if selection is not None:
                root.append(_criterion(criterion.code, selection, list(selection.lots) or lots))
        else:
            root.append(_criterion(criterion.code, None, lots))
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def _contracting_party(root: etree._Element, request: Request) -> None:
    buyer = request.buyer
    party_root = _sub(root, CAC, "ContractingParty")
    _sub(party_root, CBC, "BuyerProfileURI", request.buyer_profile_url)
    party = _sub(party_root, CAC, "Party")
    if buyer.website:
        _sub(party, CBC, "WebsiteURI", buyer.website)
    identification = _sub(party, CAC, "PartyIdentification")
    _sub(identification, CBC, "ID", buyer.siret, schemeID="SIRET", schemeAgencyID="FR-INSEE")
    _sub(_sub(party, CAC, "PartyName"), CBC, "Name", buyer.name)
    address = _sub(party, CAC, "PostalAddress")
    if buyer.street:
        _sub(address, CBC, "StreetName", buyer.street)
    if buyer.city:
        _sub(address, CBC, "CityName", buyer.city)
    if buyer.postal_code:
        _sub(address, CBC, "PostalZone", buyer.postal_code)
    country = _sub(address, CAC, "Country")
    _sub(country, CBC, "IdentificationCode", "FRA",
         listID="http://publications.europa.eu/resource/authority/country", listAgencyID="OP",
         listVersionID="20250924-0")  # fmt: skip
    if buyer.contact_name or buyer.telephone or buyer.email:
        contact = _sub(party, CAC, "Contact")
        if buyer.contact_name:
            _sub(contact, CBC, "Name", buyer.contact_name)
        if buyer.telephone:
            _sub(contact, CBC, "Telephone", buyer.telephone)
        if buyer.email:
            _sub(contact, CBC, "ElectronicMail", buyer.email)


@cache
def _request_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(REQUEST_XSD), parser))


def validate(xml: bytes) -> list[str]:
    """The errors of ``xml`` against the ESPD request's XSD (none when valid)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        document = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        return [str(error)]
    schema = _request_schema()
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in cast(Any, schema.error_log)]
