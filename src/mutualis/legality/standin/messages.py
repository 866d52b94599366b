"""The ministry's return messages, as the stand-in (and the tests) write them: the
``ARActe`` acknowledgement, the ``AnomalieActe``, the ``EnveloppeMISILLCL`` naming the
member, packed as a ``tar.gz`` attached to an e-mail to the platform's return address.

A message's file is named ``{IDActe}-1-{2|3}_0.xml`` (1-2: acknowledgement, 1-3: anomaly),
as the acts' own message is ``-1-1_0.xml``.
"""

from __future__ import annotations

import copy
import io
import tarfile
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone
from lxml import etree

from ..actes import ACTES_NS, INSEE_NS, NSMAP, _q, _serialise

ACK_SUFFIX = "-1-2_0.xml"
ANOMALY_SUFFIX = "-1-3_0.xml"


def _acte_recu(parent: etree._Element, acte: etree._Element) -> None:
    """``ActeRecu``: the act's message as received (its attributes and children)."""
    received = etree.SubElement(parent, _q("ActeRecu"))
    for name, value in acte.attrib.items():
        received.set(name, value)
    for child in acte:
        received.append(copy.deepcopy(child))


def ar_acte(acte: etree._Element, identifier: str, received_on: date) -> bytes:
    """The ``ARActe`` of the act whose ``Acte`` message is ``acte``."""
    root = etree.Element(_q("ARActe"), nsmap=NSMAP)
    root.set(_q("IDActe"), identifier)
    root.set(_q("DateReception"), received_on.isoformat())
    _acte_recu(root, acte)
    version = acte.findtext(_q("ClassificationDateVersion")) or received_on.isoformat()
    etree.SubElement(root, _q("ClassificationDateVersionEnCours")).text = version
    return _serialise(root)


def anomalie_acte(acte: etree._Element, on: date, nature: str, detail: str) -> bytes:
    """An ``AnomalieActe``: the prefecture refuses the act's transmission."""
    root = etree.Element(_q("AnomalieActe"), nsmap=NSMAP)
    etree.SubElement(root, _q("Date")).text = on.isoformat()
    etree.SubElement(root, _q("Nature")).text = nature
    etree.SubElement(root, _q("Detail")).text = detail
    _acte_recu(root, acte)
    version = acte.findtext(_q("ClassificationDateVersion")) or on.isoformat()
    etree.SubElement(root, _q("ClassificationDateVersionEnCours")).text = version
    return _serialise(root)


def envelope(siren: str, departement: str, forms: list[str]) -> bytes:
    root = etree.Element(_q("EnveloppeMISILLCL"), nsmap=NSMAP)
    emitter = etree.SubElement(root, _q("Emetteur"))
    etree.SubElement(emitter, _q("IDPref")).set(_q("Departement"), departement)
    sent = etree.SubElement(root, _q("FormulairesEnvoyes"))
    for name in forms:
        etree.SubElement(etree.SubElement(sent, _q("Formulaire")), _q("NomFichier")).text = name
    etree.SubElement(root, _q("Destinataire")).set(f"{{{INSEE_NS}}}SIREN", siren)
    return _serialise(root)


def return_package(siren: str, departement: str, name: str, message: bytes) -> bytes:
    """The ``tar.gz`` of one return message with its envelope."""
    entries = [
        (
            f"{departement}-{siren}-{timezone.localdate():%Y%m%d}-EM-1-1_0.xml",
            envelope(siren, departement, [name]),
        ),
        (name, message),
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


__all__ = [
    "ACK_SUFFIX",
    "ACTES_NS",
    "ANOMALY_SUFFIX",
    "anomalie_acte",
    "ar_acte",
    "envelope",
    "return_mail",
    "return_package",
]
