"""The ministry's return messages, as the stand-in (and the tests) write them: the
``ARActe`` acknowledgement, the ``AnomalieActe``, the prefecture's letters
(``CourrierSimple``, ``DemandePieceComplementaire``, ``LettreObservations``,
``DefereTA``), the acknowledgements of the member's answers and cancellations, the
classification (``RetourClassification``, ``ReponseClassificationSansChangement``), and
the ``EnveloppeMISILLCL`` naming the member, packed as a ``tar.gz`` attached to an
e-mail to the platform's return address.

A message's file is named ``{IDActe}-1-{2|3}_0.xml`` (1-2: acknowledgement, 1-3: anomaly),
as the acts' own message is ``-1-1_0.xml``.
"""

from __future__ import annotations

import copy
import io
import tarfile
from collections.abc import Mapping, Sequence
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone
from lxml import etree

from ..actes import ACTES_NS, INSEE_NS, NSMAP, qualified, serialise

ACK_SUFFIX = "-1-2_0.xml"
ANOMALY_SUFFIX = "-1-3_0.xml"


def _acte_recu(parent: etree._Element, acte: etree._Element) -> None:
    """``ActeRecu``: the act's message as received (its attributes and children)."""
    received = etree.SubElement(parent, qualified("ActeRecu"))
    for name, value in acte.attrib.items():
        received.set(name, value)
    for child in acte:
        received.append(copy.deepcopy(child))


def ar_acte(acte: etree._Element, identifier: str, received_on: date) -> bytes:
    """The ``ARActe`` of the act whose ``Acte`` message is ``acte``."""
    root = etree.Element(qualified("ARActe"), nsmap=NSMAP)
    root.set(qualified("IDActe"), identifier)
    root.set(qualified("DateReception"), received_on.isoformat())
    _acte_recu(root, acte)
    version = acte.findtext(qualified("ClassificationDateVersion")) or received_on.isoformat()
    etree.SubElement(root, qualified("ClassificationDateVersionEnCours")).text = version
    return serialise(root)


def anomalie_acte(acte: etree._Element, on: date, nature: str, detail: str) -> bytes:
    """An ``AnomalieActe``: the prefecture refuses the act's transmission."""
    root = etree.Element(qualified("AnomalieActe"), nsmap=NSMAP)
    etree.SubElement(root, qualified("Date")).text = on.isoformat()
    etree.SubElement(root, qualified("Nature")).text = nature
    etree.SubElement(root, qualified("Detail")).text = detail
    _acte_recu(root, acte)
    version = acte.findtext(qualified("ClassificationDateVersion")) or on.isoformat()
    etree.SubElement(root, qualified("ClassificationDateVersionEnCours")).text = version
    return serialise(root)


def envelope(siren: str, departement: str, forms: list[str]) -> bytes:
    root = etree.Element(qualified("EnveloppeMISILLCL"), nsmap=NSMAP)
    emitter = etree.SubElement(root, qualified("Emetteur"))
    etree.SubElement(emitter, qualified("IDPref")).set(qualified("Departement"), departement)
    sent = etree.SubElement(root, qualified("FormulairesEnvoyes"))
    for name in forms:
        etree.SubElement(
            etree.SubElement(sent, qualified("Formulaire")), qualified("NomFichier")
        ).text = name
    etree.SubElement(root, qualified("Destinataire")).set(f"{{{INSEE_NS}}}SIREN", siren)
    return serialise(root)


def return_package(
    siren: str,
    departement: str,
    name: str,
    message: bytes,
    files: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """The ``tar.gz`` of one return message with its envelope and the files it names."""
    entries = [
        (
            f"{departement}-{siren}-{timezone.localdate():%Y%m%d}-EM-1-1_0.xml",
            envelope(siren, departement, [name]),
        ),
        (name, message),
        *files,
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for entry, content in entries:
            info = tarfile.TarInfo(entry)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def return_mail(
    *, to: str, subject: str, attachment_name: str, attachment: bytes, sender: str
) -> bytes:
    """The e-mail carrying a return package, as bytes (RFC 5322)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = make_msgid(domain="actes.standin.localhost")
    mail.set_content("Message @ctes en pièce jointe.\n")
    mail.add_attachment(
        attachment, maintype="application", subtype="x-gzip", filename=attachment_name
    )
    return mail.as_bytes()


def _element(kind: str) -> etree._Element:
    return etree.Element(qualified(kind), nsmap=NSMAP)


def _document(parent: etree._Element, tag: str, name: str) -> None:
    etree.SubElement(etree.SubElement(parent, qualified(tag)), qualified("NomFichier")).text = name


# The prefecture's letters: the element holding the letter's text.
LETTER_TEXT = {
    "CourrierSimple": None,
    "DemandePieceComplementaire": "DescriptionPieces",
    "LettreObservations": "Motif",
}


def letter(kind: str, identifier: str, on: date, text: str, document_name: str) -> bytes:
    """A ``CourrierSimple``, ``DemandePieceComplementaire`` or ``LettreObservations``
    about the act ``identifier``, dated ``on``, naming its PDF ``document_name``."""
    root = _element(kind)
    root.set(qualified("IDActe"), identifier)
    root.set(qualified("DateCourrierPref"), on.isoformat())
    text_element = LETTER_TEXT[kind]
    if text_element is not None:
        etree.SubElement(root, qualified(text_element)).text = text
    _document(root, "Document", document_name)
    return serialise(root)


def defere_ta(identifier: str, filed_on: date, illegality: str, names: Sequence[str]) -> bytes:
    root = _element("DefereTA")
    root.set(qualified("IDActe"), identifier)
    etree.SubElement(root, qualified("DateDepot")).text = filed_on.isoformat()
    etree.SubElement(root, qualified("NatureIllegalite")).text = illegality
    attached = etree.SubElement(root, qualified("PiecesJointes"))
    for name in names:
        _document(attached, "PieceJointe", name)
    return serialise(root)


def ar_reponse(kind: str, identifier: str, letter_date: date, received_on: date) -> bytes:
    """``ARPieceComplementaire`` or ``ARReponseRejetLettreObservations``."""
    root = _element(kind)
    root.set(qualified("DateReception"), received_on.isoformat())
    infos = etree.SubElement(root, qualified("InfosCourrierPref"))
    infos.set(qualified("IDActe"), identifier)
    infos.set(qualified("DateCourrierPref"), letter_date.isoformat())
    return serialise(root)


def ar_annulation(identifier: str, received_on: date) -> bytes:
    root = _element("ARAnnulation")
    root.set(qualified("IDActe"), identifier)
    root.set(qualified("DateReception"), received_on.isoformat())
    return serialise(root)


def retour_classification(
    version: date,
    matieres: Mapping[str, str],
    piece_types: Mapping[int, Sequence[tuple[str, str]]],
) -> bytes:
    """A ``RetourClassification``: ``matieres`` by dotted code (two levels and more),
    ``piece_types`` per nature code."""
    root = _element("RetourClassification")
    etree.SubElement(root, qualified("DateClassification")).text = version.isoformat()
    natures = etree.SubElement(root, qualified("NaturesActes"))
    labels = {1: "Délibérations", 2: "Actes réglementaires", 3: "Actes individuels",
              4: "Contrats, conventions et avenants", 5: "Documents budgétaires et financiers",
              6: "Autres"}  # fmt: skip
    abbreviations = {1: "DE", 2: "AR", 3: "AI", 4: "CC", 5: "BF", 6: "AU"}
    for code, types in piece_types.items():
        nature = etree.SubElement(natures, qualified("NatureActe"))
        nature.set(qualified("CodeNatureActe"), str(code))
        nature.set(qualified("Libelle"), labels.get(code, str(code)))
        nature.set(qualified("TypeAbrege"), abbreviations.get(code, "AU"))
        for piece_code, label in types:
            piece = etree.SubElement(nature, qualified("TypePJNatureActe"))
            piece.set(qualified("CodeTypePJ"), piece_code)
            piece.set(qualified("Libelle"), label)
    tree = etree.SubElement(root, qualified("Matieres"))
    elements: dict[str, etree._Element] = {}
    for dotted, label in sorted(
        matieres.items(), key=lambda item: [int(p) for p in item[0].split(".")]
    ):
        parts = dotted.split(".")
        parent = tree if len(parts) == 1 else elements.get(".".join(parts[:-1]))
        if parent is None:
            continue
        child = etree.SubElement(parent, qualified(f"Matiere{len(parts)}"))
        child.set(qualified("CodeMatiere"), parts[-1])
        child.set(qualified("Libelle"), label)
        elements[dotted] = child
    return serialise(root)


def sans_changement(version: date) -> bytes:
    root = _element("ReponseClassificationSansChangement")
    etree.SubElement(root, qualified("DateClassification")).text = version.isoformat()
    return serialise(root)


__all__ = [
    "ACK_SUFFIX",
    "ACTES_NS",
    "ANOMALY_SUFFIX",
    "anomalie_acte",
    "ar_acte",
    "ar_annulation",
    "ar_reponse",
    "defere_ta",
    "envelope",
    "letter",
    "retour_classification",
    "return_mail",
    "return_package",
    "sans_changement",
]
