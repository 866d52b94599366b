"""The @ctes formats: natures, internal numbers, file names, the ``Acte`` message, the
``EnveloppeCLMISILL`` envelope and the ``tar.gz`` transmission package.

Pure functions, no database: the services give them plain values. The messages are
ISO-8859-1 XML whose elements and attributes are qualified by the ``actes:`` namespace
(the schema says ``attributeFormDefault="qualified"``), checked against the vendored
schema (``schemas/``, see its SOURCE.md).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import io
import re
import tarfile
from collections.abc import Iterable, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import IO

from lxml import etree

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
INSEE_NS = "http://xml.insee.fr/schema"
NSMAP = {"actes": ACTES_NS, "insee": INSEE_NS}
SCHEMA_PATH = Path(__file__).parent / "schemas" / "actesv1_1.xsd"

NUMBER_MAX_LENGTH = 15
NUMBER_PATTERN = re.compile(r"[A-Z0-9_]{1,15}")
SUBJECT_MAX_LENGTH = 499
DEPARTEMENT_PATTERN = re.compile(r"[09][0-9][AB0-9]")
ARRONDISSEMENT_PATTERN = re.compile(r"[0-9]")
SIREN_PATTERN = re.compile(r"[0-9]{9}")


class Nature(enum.IntEnum):
    """The six natures of act, with their two-letter code (the ``IDActe``'s suffix)."""

    DE = 1  # délibérations
    AR = 2  # actes réglementaires
    AI = 3  # actes individuels
    CC = 4  # contrats, conventions et avenants
    BF = 5  # documents budgétaires et financiers
    AU = 6  # autres


# The piece types of the default typology (``TypePJNatureActe/@CodeTypePJ``): the
# prefecture's own list replaces them once its classification is received.
DEFAULT_MAIN_PIECE_TYPE = {
    Nature.DE: "99_DE",
    Nature.AR: "99_AR",
    Nature.AI: "99_AI",
    Nature.CC: "99_CO",
    Nature.BF: "99_BU",
    Nature.AU: "99_AU",
}
ANNEX_PIECE_TYPE = "99_AU"


def number_is_valid(number: str) -> bool:
    """An internal number @ctes accepts: 1 to 15 upper-case letters, digits and ``_``."""
    return NUMBER_PATTERN.fullmatch(number) is not None


def act_identifier(
    departement: str, siren: str, decided_on: date, number: str, nature: Nature
) -> str:
    """The act's ``IDActe``: ``{dept}-{SIREN}-{yyyymmdd}-{number}-{nature}``."""
    return f"{departement}-{siren}-{decided_on:%Y%m%d}-{number}-{nature.name}"


@dataclasses.dataclass(frozen=True)
class Piece:
    """One file of the act: its bytes, its extension, its piece type code, and the
    detached signature sent with it, if any."""

    content: bytes
    extension: str
    piece_type: str
    signature: bytes | None = None


@dataclasses.dataclass(frozen=True)
class ActMessage:
    """What the ``Acte`` message and the package need to know of an act."""

    departement: str
    arrondissement: str
    siren: str
    nature: Nature
    number: str
    decided_on: date
    matieres: Sequence[int]
    subject: str
    classification_date: date
    document: Piece
    annexes: Sequence[Piece] = ()
    paper_follows: bool = False

    @property
    def identifier(self) -> str:
        return act_identifier(
            self.departement, self.siren, self.decided_on, self.number, self.nature
        )


def message_file_name(act: ActMessage) -> str:
    """The ``Acte`` message: ``{IDActe}-1-1_0.xml`` (the message is the file 0)."""
    return f"{act.identifier}-1-1_0.xml"


def piece_file_name(act: ActMessage, piece: Piece, position: int) -> str:
    """A piece: its type code, the act's identifier, then ``-1-1_{position}``; the main
    document is 1, the annexes 2, 3…"""
    return f"{piece.piece_type}-{act.identifier}-1-1_{position}.{piece.extension}"


def pieces(act: ActMessage) -> list[tuple[str, Piece]]:
    """Every piece of the act with its name, the main document first."""
    return [(piece_file_name(act, act.document, 1), act.document)] + [
        (piece_file_name(act, annex, index), annex)
        for index, annex in enumerate(act.annexes, start=2)
    ]


def serialise(root: etree._Element) -> bytes:
    document = etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1")
    if not isinstance(document, bytes):  # pragma: no cover - an encoding always gives bytes
        raise TypeError(type(document))
    return document


def qualified(name: str) -> str:
    """``name`` in the @ctes namespace (lxml's ``{namespace}name``)."""
    return f"{{{ACTES_NS}}}{name}"


def _signed_file(parent: etree._Element, tag: str, name: str, piece: Piece) -> None:
    element = etree.SubElement(parent, qualified(tag))
    etree.SubElement(element, qualified("NomFichier")).text = name
    if piece.signature is not None:
        etree.SubElement(element, qualified("Signature")).text = base64.b64encode(
            piece.signature
        ).decode()


def act_message(act: ActMessage) -> bytes:
    """The ``Acte`` message, ISO-8859-1 XML."""
    root = etree.Element(qualified("Acte"), nsmap=NSMAP)
    root.set(qualified("Date"), act.decided_on.isoformat())
    root.set(qualified("NumeroInterne"), act.number)
    root.set(qualified("CodeNatureActe"), str(int(act.nature)))
    for level, code in enumerate(act.matieres[:5], start=1):
        etree.SubElement(root, qualified(f"CodeMatiere{level}")).set(
            qualified("CodeMatiere"), str(code)
        )
    etree.SubElement(root, qualified("Objet")).text = act.subject
    etree.SubElement(
        root, qualified("ClassificationDateVersion")
    ).text = act.classification_date.isoformat()
    named = pieces(act)
    _signed_file(root, "Document", named[0][0], named[0][1])
    annexes = etree.SubElement(root, qualified("Annexes"))
    annexes.set(qualified("Nombre"), str(len(named) - 1))
    for name, piece in named[1:]:
        _signed_file(annexes, "Annexe", name, piece)
    etree.SubElement(root, qualified("DocumentPapier")).text = "O" if act.paper_follows else "N"
    return serialise(root)


@dataclasses.dataclass(frozen=True)
class Sender:
    """The member sending, as the envelope names it."""

    siren: str
    departement: str
    arrondissement: str
    nature: str  # the authority's two-digit nature code (``IDCL/@Nature``)
    return_addresses: Sequence[str]


def envelope(sender: Sender, forms: Iterable[str]) -> bytes:
    """The ``EnveloppeCLMISILL`` naming the sender, the return mailboxes and the
    messages sent (``FormulairesEnvoyes``)."""
    root = etree.Element(qualified("EnveloppeCLMISILL"), nsmap=NSMAP)
    emitter = etree.SubElement(root, qualified("Emetteur"))
    idcl = etree.SubElement(emitter, qualified("IDCL"))
    idcl.set(f"{{{INSEE_NS}}}SIREN", sender.siren)
    idcl.set(qualified("Departement"), sender.departement)
    idcl.set(qualified("Arrondissement"), sender.arrondissement)
    idcl.set(qualified("Nature"), sender.nature)
    addresses = etree.SubElement(root, qualified("AdressesRetour"))
    for address in sender.return_addresses:
        etree.SubElement(addresses, qualified("Email")).text = address
    sent = etree.SubElement(root, qualified("FormulairesEnvoyes"))
    for name in forms:
        etree.SubElement(
            etree.SubElement(sent, qualified("Formulaire")), qualified("NomFichier")
        ).text = name
    return serialise(root)


def envelope_file_name(sender: Sender, on: date, serial: int) -> str:
    """``{dept}-{SIREN}-{yyyymmdd}-{serial}-EI-1-1_0.xml``: the envelope of the day's
    ``serial``-th transmission."""
    return f"{sender.departement}-{sender.siren}-{on:%Y%m%d}-{serial}-EI-1-1_0.xml"


def package_name(tri: str, appli: str, siren: str, on: date, serial: int) -> str:
    """The archive's name: ``{TRI}-{APPLI}--{SIREN}--{yyyymmdd}-{serial}.tar.gz``."""
    return f"{tri}-{appli}--{siren}--{on:%Y%m%d}-{serial}.tar.gz"


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def schema_errors(document: bytes) -> list[str]:
    """What the vendored @ctes schema finds wrong in ``document`` (empty: valid)."""
    try:
        tree = etree.fromstring(document)
    except etree.XMLSyntaxError as exc:
        return [str(exc)]
    checker = schema()
    if checker.validate(tree):
        return []
    return str(checker.error_log).splitlines()


def write_package(
    target: IO[bytes], sender: Sender, act: ActMessage, on: date, serial: int
) -> list[str]:
    """Write the ``tar.gz`` of one act to ``target`` (a temporary file: the archive is
    streamed, never held whole in memory); the names it holds, envelope first."""
    message = act_message(act)
    named = pieces(act)
    entries: list[tuple[str, bytes]] = [(message_file_name(act), message)]
    entries += [(name, piece.content) for name, piece in named]
    envelope_bytes = envelope(sender, [name for name, _ in entries])
    entries.insert(0, (envelope_file_name(sender, on, serial), envelope_bytes))
    with tarfile.open(fileobj=target, mode="w:gz") as archive:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return [name for name, _ in entries]


# The budget document (nature 5 may send it as XML): the DGFiP's ``DocumentBudgetaire``
# schema, vendored in ``schemas/docbudg/`` with one patch that lets it compile
# (``schemas/docbudg.patch``, explained in ``schemas/SOURCE-docbudg.md``).
BUDGET_SCHEMA_PATH = Path(__file__).parent / "schemas" / "docbudg" / "DocumentBudgetaire.xsd"
BUDGET_NS = "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"
# Parsing a member's file: no entity expansion, no network, no DTD.
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


@cache
def budget_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(BUDGET_SCHEMA_PATH)))


def budget_errors(document: bytes) -> list[str]:
    """What the budget document schema finds wrong in ``document`` (empty: valid)."""
    try:
        tree = etree.fromstring(document, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        return [str(exc)]
    checker = budget_schema()
    if checker.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in list(checker.error_log)]  # type: ignore[call-overload]
