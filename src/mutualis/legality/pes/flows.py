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
