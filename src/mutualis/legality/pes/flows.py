"""The PES V2 formats, without the database: a ``PES_Aller`` read safely and checked
against the 5.17 schemas, the facts the platform needs from it, and the treasury's
acknowledgement (``PES_ACQUIT``) written (by the stand-in) and read (by the platform).

XML is parsed with entities unresolved, no network, no DTD, and lxml's huge-tree mode
off (its default limits on depth and text size stay); a document type declaration is
refused outright (PES has none). The schemas are compiled once per process.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from datetime import date, datetime
from pathlib import Path
from typing import IO

from lxml import etree

SCHEMAS = Path(__file__).parent / "schemas" / "PES_V2"
ALLER_NS = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"
RETOUR_NS = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour"
DS = "http://www.w3.org/2000/09/xmldsig#"
SIRET = re.compile(r"[0-9]{14}")

# The domains a PES_Aller may carry (its child elements), with the acknowledgement's
# domain code (``DomaineAck``).
DOMAINS = {
    "PES_DepenseAller": "depense",
    "PES_RecetteAller": "recette",
    "PES_Facture": "facture",
    "PES_Marche": "marche",
    "PES_PJ": "pj",
}
ACK_DOMAINS = {
    "0": "technique",
    "1": "signature technique",
    "2": "signature globale",
    "3": "signature bordereau",
    "4": "pj",
    "5": "depense",
    "6": "recette",
    "7": "role",
    "8": "budget",
    "9": "etat actif",
    "10": "etat passif",
    "11": "marche",
    "12": "facture",
    "99": "parametrage",
}


class FormatError(Exception):
    """The bytes are not the expected PES document: ``reason`` says why (English, for
    logs and the quarantine; the services turn it into the agent's message)."""

    def __init__(self, reason: str, *, kind: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # "nul", "unreadable", "doctype", "schema", "root"


def parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


@functools.cache
def _schema(relative: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / relative)))


def aller_schema() -> etree.XMLSchema:
    return _schema("Rev0/PES_Aller.xsd")


def acquit_schema() -> etree.XMLSchema:
    return _schema("Rev0/PES_V2_Acquit_Autonome.xsd")


READ_BYTES = 1024 * 1024


def _root_of(source: bytes | IO[bytes]) -> etree._Element:
    """Parse bytes, or a file piece by piece (a large flow is never held twice: as bytes
    and as a tree)."""
    if isinstance(source, bytes | bytearray):
        if b"\x00" in source:
            raise FormatError("the file contains NUL bytes", kind="nul")
        return etree.fromstring(bytes(source), parser=parser())
    feed = parser()
    while piece := source.read(READ_BYTES):
        if b"\x00" in piece:
            raise FormatError("the file contains NUL bytes", kind="nul")
        feed.feed(piece)
    return feed.close()


def read(source: bytes | IO[bytes], schema: etree.XMLSchema, root_tag: str) -> etree._Element:
    """The document's root, checked against ``schema``; ``FormatError`` otherwise."""
    try:
        root = _root_of(source)
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"not well-formed XML: {exc}"[:300], kind="unreadable") from exc
    if root.getroottree().docinfo.doctype:  # type: ignore[attr-defined]
        raise FormatError("a document type declaration is not allowed", kind="doctype")
    if root.tag != root_tag:
        raise FormatError(f"the root element is {etree.QName(root).localname}", kind="root")
    if not schema.validate(root):
        lines = str(schema.error_log).splitlines()
        # "<string>:LINE:COL:LEVEL:DOMAIN:TYPE: message" → "line LINE: message"
        parts = lines[0].split(":", 6) if lines else []
        detail = f"line {parts[1]}: {parts[6].strip()}" if len(parts) == 7 else "invalid"
        raise FormatError(detail[:300], kind="schema")
    return root


def _v(root: etree._Element, path: str) -> str:
    element = root.find(path)
    return (element.get("V") or "").strip() if element is not None else ""


@dataclasses.dataclass(frozen=True)
class Bordereau:
    domain: str
    element_id: str
    year: str
    number: str
    signed: bool


@dataclasses.dataclass(frozen=True)
class Aller:
    """What the platform keeps of a ``PES_Aller``."""

    nomfic: str
    typfic: str
    id_coll: str
    cod_col: str
    cod_bud: str
    id_post: str
    produced_on: date | None
    domains: list[str]
    # Per domain that states it: the flow's ``InfoDematerialisee`` (False when absent).
    dematerialised: dict[str, bool]
    bordereaux: list[Bordereau]
    global_signature: bool
    pieces: int


def read_aller(source: bytes | IO[bytes]) -> Aller:
    root = read(source, aller_schema(), f"{{{ALLER_NS}}}PES_Aller")
    domains = [DOMAINS[child.tag] for child in root if child.tag in DOMAINS]
    dematerialised: dict[str, bool] = {}
    bordereaux: list[Bordereau] = []
    pieces = 0
    for tag, head in (("PES_DepenseAller", "EnTeteDepense"), ("PES_RecetteAller", "EnTeteRecette")):
        domain = root.find(tag)
        if domain is None:
            continue
        value = _v(domain, f"{head}/InfoDematerialisee")
        dematerialised[DOMAINS[tag]] = value in ("1", "true")
        for bordereau in domain.findall("Bordereau"):
            pieces += len(bordereau.findall("Piece"))
            bordereaux.append(
                Bordereau(
                    DOMAINS[tag],
                    bordereau.get("Id", ""),
                    _v(bordereau, "BlocBordereau/Exer"),
                    _v(bordereau, "BlocBordereau/IdBord"),
                    bordereau.find(f"{{{DS}}}Signature") is not None,
                )
            )
    produced = _v(root, "EnTetePES/DteStr")
    return Aller(
        nomfic=_v(root, "Enveloppe/Parametres/NomFic"),
        typfic=_v(root, "Enveloppe/Parametres/TypFic"),
        id_coll=_v(root, "EnTetePES/IdColl"),
        cod_col=_v(root, "EnTetePES/CodCol"),
        cod_bud=_v(root, "EnTetePES/CodBud"),
        id_post=_v(root, "EnTetePES/IdPost"),
        produced_on=date.fromisoformat(produced) if produced else None,
        domains=domains,
        dematerialised=dematerialised,
        bordereaux=bordereaux,
        global_signature=root.find(f"{{{DS}}}Signature") is not None,
        pieces=pieces,
    )


# --- The acknowledgement (PES_ACQUIT) ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AckElement:
    """One ``ElementACQUIT``: a domain's (or a bordereau's, a piece's, a line's)
    verdict, with the anomaly's code and label when it is KO."""

    domain: str
    ok: bool
    year: str = ""
    bordereau: str = ""
    piece: str = ""
    line: str = ""
    anomaly: str = ""
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Acquit:
    nomfic: str
    id_coll: str
    produced_on: date | None
    elements: list[AckElement]

    @property
    def accepted(self) -> bool:
        return all(e.ok for e in self.elements)


def _set(parent: etree._Element, name: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, name)
    element.set("V", value)
    return element


def write_acquit(
    aller: Aller, elements: list[AckElement], *, sender: str = "DGFIP HELIOS", day: date
) -> bytes:
    """The ``PES_ACQUIT`` of ``aller``: its envelope names the acknowledged flow
    (``NomFic``), its header the collectivity (``IdColl``)."""
    root = etree.Element(f"{{{RETOUR_NS}}}PES_ACQUIT", nsmap={"n": RETOUR_NS})
    envelope = etree.SubElement(root, "Enveloppe")
    parameters = etree.SubElement(envelope, "Parametres")
    _set(parameters, "Version", "2")
    _set(parameters, "TypFic", "PES_ACQUIT")
    _set(parameters, "NomFic", aller.nomfic)
    emitter = etree.SubElement(envelope, "Emetteur")
    _set(emitter, "Sigle", sender[:32])
    _set(emitter, "Adresse", "HELIOS")
    head = etree.SubElement(root, "EnTetePES")
    _set(head, "DteStr", day.isoformat())
    _set(head, "IdPost", aller.id_post or "0000000")
    _set(head, "IdColl", aller.id_coll)
    _set(head, "CodCol", aller.cod_col or "001")
    _set(head, "CodBud", aller.cod_bud or "00")
    acquit = etree.SubElement(root, "ACQUIT")
    _set(etree.SubElement(acquit, "EnTeteAcquit"), "IdVer", "2")
    codes = {name: code for code, name in ACK_DOMAINS.items()}
    for item in elements:
        element = etree.SubElement(acquit, "ElementACQUIT")
        _set(element, "DomaineAck", codes[item.domain])
        _set(element, "EtatAck", "1" if item.ok else "0")
        for name, value in (
            ("ExerciceBord", item.year),
            ("NumBord", item.bordereau),
            ("NumPiece", item.piece),
            ("NumLigne", item.line),
        ):
            if value:
                _set(element, name, value)
        if item.anomaly:
            _set(element, "NumAnoAck", item.anomaly)
        if item.label:
            _set(element, "LibelleAnoAck", item.label[:500])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def read_acquit(data: bytes) -> Acquit:
    root = read(data, acquit_schema(), f"{{{RETOUR_NS}}}PES_ACQUIT")
    elements = []
    for element in root.findall("ACQUIT/ElementACQUIT"):
        state = _v(element, "EtatAck")
        elements.append(
            AckElement(
                domain=ACK_DOMAINS.get(_v(element, "DomaineAck"), _v(element, "DomaineAck")),
                ok=state in ("1", "true"),
                year=_v(element, "ExerciceBord"),
                bordereau=_v(element, "NumBord"),
                piece=_v(element, "NumPiece"),
                line=_v(element, "NumLigne"),
                anomaly=_v(element, "NumAnoAck"),
                label=_v(element, "LibelleAnoAck"),
            )
        )
    produced = _v(root, "EnTetePES/DteStr")
    return Acquit(
        nomfic=_v(root, "Enveloppe/Parametres/NomFic"),
        id_coll=_v(root, "EnTetePES/IdColl"),
        produced_on=date.fromisoformat(produced) if produced else None,
        elements=elements,
    )


def acquit_name(nomfic: str, moment: datetime) -> str:
    """The file name the gateway gives an acknowledgement."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", nomfic)[:100]
    return f"ACK_{safe}_{moment:%Y%m%d%H%M%S%f}.xml"


# --- The treasury's returns (PES_Retour) and their acknowledgement (PES_ACQUIT_RETOUR) ---

ACQUIT_RETOUR_NS = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller/ack"
# The domains a PES_Retour may carry, with the Acquit_Retour's domain code
# (``DomaineAckRetour``: 13 dépense, 14 recette; the client returns travel with the
# revenue ones, ``PES2R_RCE``).
RETOUR_DOMAINS = {
    "PES_DepenseRetour": "depense",
    "PES_RecetteRetour": "recette",
    "PES_ClientRetour": "client",
}
ACK_RETOUR_DOMAINS = {"depense": "13", "recette": "14", "client": "14"}
# ``TypRestit`` of the Acquit_Retour: 01 rejects, 02 periodic, 03 stock.
RESTITUTIONS = {"R": "01", "P": "02", "C": "02", "S": "03"}
# ``EtatPce`` of a returned piece, the same codes in both domains.
PIECE_PENDING, PIECE_REJECTED = "01", "04"
# What an inbox entry keeps of the rejected pieces (the rest is in the file).
MAX_LISTED_PIECES = 50
NOMFIC_LENGTH = 100


def retour_schema() -> etree.XMLSchema:
    return _schema("RETOUR/Rev0/PES_Retour.xsd")


def acquit_retour_schema() -> etree.XMLSchema:
    return _schema("RETOUR/Rev0/PES_V2_Acquit_Retour.xsd")


@dataclasses.dataclass(frozen=True)
class Retour:
    """What the platform keeps of a ``PES_Retour``: its names, its collectivity, and
    per domain the count of bordereaux and pieces (rejected, pending), with the
    rejected pieces themselves (bordereau, piece, observation)."""

    nomfic: str
    typfic: str
    id_coll: str
    cod_col: str
    cod_bud: str
    id_post: str
    produced_on: date | None
    restitution: str
    domains: list[str]
    summary: list[dict[str, object]]
    rejected: list[dict[str, str]]


def restitution_of(nomfic: str, declared: str) -> str:
    """``01``, ``02`` or ``03`` from the header's ``TypRestit`` when it is one of them,
    else from the nature the file name carries (``PES2R_DEP__R_…``: ``R`` rejects,
    ``P`` periodic, ``S`` stock; a leading ``R`` of two letters is a re-emission, a
    trailing ``O`` an ORMC flow), periodic by default."""
    if declared in RESTITUTIONS.values():
        return declared
    parts = nomfic.split("__", 1)
    nature = parts[1].split("_", 1)[0].upper() if len(parts) == 2 else declared.upper()
    if len(nature) > 1 and nature.endswith("O"):
        nature = nature[:-1]
    if len(nature) == 2 and nature.startswith("R"):
        nature = nature[1:]
    return RESTITUTIONS.get(nature, "02")


def _pieces_of(domain: str, bordereau: etree._Element) -> list[tuple[str, str, str]]:
    """(piece id, state, observation) of each piece of a returned bordereau."""
    found = []
    info = "InfoPiece" if domain == "depense" else "BlocPiece"
    for piece in bordereau.findall("Piece"):
        block = piece.find(info)
        if block is None:
            continue
        found.append((_v(block, "IdPce"), _v(block, "EtatPce"), _v(block, "ObsEtat")))
    return found


def _read_retour(root: etree._Element) -> Retour:
    summary: list[dict[str, object]] = []
    rejected: list[dict[str, str]] = []
    declared = ""
    for tag, domain in RETOUR_DOMAINS.items():
        element = root.find(tag)
        if element is None:
            continue
        if domain == "client":
            summary.append({"domain": domain, "clients": len(element.findall("Client"))})
            continue
        head = element.find("EnTeteDepense" if domain == "depense" else "EnTeteRecette")
        declared = declared or (_v(head, "TypRestit") if head is not None else "")
        bordereaux = pieces = rejected_count = pending = 0
        for bordereau in element.findall("Bordereau"):
            bordereaux += 1
            number = _v(bordereau, "BlocBordereau/IdBord")
            for piece, state, observation in _pieces_of(domain, bordereau):
                pieces += 1
                if state == PIECE_PENDING:
                    pending += 1
                if state == PIECE_REJECTED:
                    rejected_count += 1
                    if len(rejected) < MAX_LISTED_PIECES:
                        rejected.append(
                            {
                                "domain": domain,
                                "bordereau": number,
                                "piece": piece,
                                "observation": observation,
                            }
                        )
        counts: dict[str, object] = {
            "domain": domain,
            "bordereaux": bordereaux,
            "pieces": pieces,
            "rejected": rejected_count,
            "pending": pending,
        }
        summary.append(counts)
    nomfic = _v(root, "Enveloppe/Parametres/NomFic")
    produced = _v(root, "EnTetePES/DteStr")
    return Retour(
        nomfic=nomfic,
        typfic=_v(root, "Enveloppe/Parametres/TypFic"),
        id_coll=_v(root, "EnTetePES/IdColl"),
        cod_col=_v(root, "EnTetePES/CodColl"),
        cod_bud=_v(root, "EnTetePES/CodBud"),
        id_post=_v(root, "EnTetePES/IdPost"),
        produced_on=date.fromisoformat(produced) if produced else None,
        restitution=restitution_of(nomfic, declared),
        domains=[str(s["domain"]) for s in summary],
        summary=summary,
        rejected=rejected,
    )


def read_retour(data: bytes) -> Retour:
    return _read_retour(read(data, retour_schema(), f"{{{RETOUR_NS}}}PES_Retour"))


def read_return_file(data: bytes) -> Acquit | Retour:
    """A file of the gateway's outbox, recognised by its root element: the
    acknowledgement of a flow (``PES_ACQUIT``) or a return (``PES_Retour``), each
    checked against its own schema. ``FormatError`` otherwise."""
    try:
        root = _root_of(data)
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"not well-formed XML: {exc}"[:300], kind="unreadable") from exc
    if root.tag == f"{{{RETOUR_NS}}}PES_Retour":
        return read_retour(data)
    return read_acquit(data)


def ack_retour_domains(retour: Retour) -> list[str]:
    """The ``DomaineAckRetour`` codes a return is acknowledged under (one element
    each); a return with no domain block is named by its file type."""
    codes = sorted({ACK_RETOUR_DOMAINS[d] for d in retour.domains})
    if codes:
        return codes
    return ["13" if retour.typfic.upper().startswith("PES2R_DEP") else "14"]


def acquit_retour_nomfic(retour_nomfic: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", retour_nomfic)
    return f"ACQUIT_RETOUR_{safe}"[:NOMFIC_LENGTH]


def write_acquit_retour(
    retour: Retour,
    *,
    day: date,
    sender: str = "MUTUALIS",
    address: str = "TIERS DE TELETRANSMISSION",
) -> bytes:
    """The member's ``PES_ACQUIT_RETOUR`` of ``retour``, checked against its schema
    before it is returned (``FormatError`` if it does not follow it)."""
    root = etree.Element(f"{{{ACQUIT_RETOUR_NS}}}PES_ACQUIT_RETOUR", nsmap={"n": ACQUIT_RETOUR_NS})
    envelope = etree.SubElement(root, "Enveloppe")
    parameters = etree.SubElement(envelope, "Parametres")
    _set(parameters, "Version", "2")
    _set(parameters, "TypFic", "PES_ACQUIT_RETOUR")
    _set(parameters, "NomFic", acquit_retour_nomfic(retour.nomfic))
    emitter = etree.SubElement(envelope, "Emetteur")
    _set(emitter, "Sigle", sender[:32])
    _set(emitter, "Adresse", address[:38])
    head = etree.SubElement(root, "EnTetePES")
    _set(head, "DteStr", day.isoformat())
    _set(head, "IdPost", retour.id_post)
    _set(head, "IdColl", retour.id_coll)
    _set(head, "CodCol", retour.cod_col)
    _set(head, "CodBud", retour.cod_bud)
    acquit = etree.SubElement(root, "ACQUIT_RETOUR")
    _set(etree.SubElement(acquit, "EnTeteAcquit_Retour"), "IdVer", "2")
    for code in ack_retour_domains(retour):
        element = etree.SubElement(acquit, "ElementACQUIT_RETOUR")
        _set(element, "DomaineAckRetour", code)
        _set(element, "NomFichierRetour", retour.nomfic[:NOMFIC_LENGTH])
        _set(element, "TypRestit", retour.restitution)
        _set(element, "DateAcquit", day.isoformat())
    schema = acquit_retour_schema()
    if not schema.validate(root):
        raise FormatError(f"PES_ACQUIT_RETOUR: {schema.error_log}"[:300])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def read_acquit_retour(data: bytes) -> etree._Element:
    """A ``PES_ACQUIT_RETOUR`` checked against its schema (the stand-in's side)."""
    return read(data, acquit_retour_schema(), f"{{{ACQUIT_RETOUR_NS}}}PES_ACQUIT_RETOUR")
