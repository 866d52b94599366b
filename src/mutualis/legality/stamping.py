"""The stamp of an acknowledged act and its acknowledgement slip, as PDF bytes.

The stamp is added to the act's main PDF as an *incremental update* (ISO 32000-1,
7.5.6): the original bytes are kept untouched at the head of the stamped file and the
stamp follows them as new objects. A signature in the original covers a byte range of
those original bytes only, so it still verifies on the stamped file. The stamp is a
``/Stamp`` annotation with its own appearance stream rather than new page content:
adding an annotation is what a signature's modification policy tolerates (PAdES,
DocMDP level 3), rewriting a page's content stream is not.

The words are French whatever the reader's language: they are the legal mentions the
prefecture and the courts read ("Envoyé en préfecture le …", "Reçu en préfecture le …",
"Publié le …", "ID : …").
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from datetime import date

import segno
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from mutualis.core.pdf import text_document

# Annotation flags (ISO 32000-1, 12.5.3): printed with the page, neither moved nor
# changed by a reader.
_PRINT, _LOCKED, _LOCKED_CONTENTS = 4, 128, 512
STAMP_NAME = "mutualis-legality-stamp"
_FONT_SIZE = 8.0
_LEADING = 10.0
_PADDING = 6.0
# About 25 mm: modules of 0.6 mm or more, which a phone reads from paper.
_QR_SIZE = 72.0
_MARGIN = 18.0


def _fr(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def stamp_lines(
    *,
    identifier: str,
    sent_on: date | None,
    received_on: date,
    published_on: date | None,
) -> list[str]:
    """The stamp's mentions, in French, in the order the prefectures print them."""
    lines = []
    if sent_on is not None:
        lines.append(f"Envoyé en préfecture le {_fr(sent_on)}")
    lines.append(f"Reçu en préfecture le {_fr(received_on)}")
    if published_on is not None:
        lines.append(f"Publié le {_fr(published_on)}")
    lines.append(f"ID : {identifier}")
    return lines


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def qr_code(url: str) -> segno.QRCode:
    """The QR code of ``url`` (error correction M: readable with a corner smudged)."""
    return segno.make_qr(url, error="m", boost_error=False)


def _qr_path(url: str, *, x: float, y: float, size: float) -> bytes:
    """Filled squares drawing the QR code of ``url`` in a ``size`` square at (x, y),
    with the quiet zone the standard asks for (four modules)."""
    matrix = qr_code(url).matrix
    modules = len(matrix)
    border = 4
    step = size / (modules + 2 * border)
    parts = [b"q 0 0 0 rg"]
    for row, line in enumerate(matrix):
        for column, dark in enumerate(line):
            if dark:
                left = x + (column + border) * step
                bottom = y + size - (row + border + 1) * step
                parts.append(f"{left:.3f} {bottom:.3f} {step:.3f} {step:.3f} re".encode())
    parts.append(b"f Q")
    return b"\n".join(parts)


def _text_width(text: str) -> float:
    # Helvetica's widths are close to half the size for these characters; a box a little
    # wide is better than a mention cut.
    return len(text) * _FONT_SIZE * 0.56


@dataclasses.dataclass(frozen=True)
class _Box:
    width: float
    height: float


def _appearance(lines: Sequence[str], url: str) -> tuple[bytes, _Box]:
    text_width = max(_text_width(line) for line in lines)
    width = _PADDING * 3 + text_width + _QR_SIZE
    height = max(_QR_SIZE + 2 * _PADDING, len(lines) * _LEADING + 2 * _PADDING)
    top = height - _PADDING - _FONT_SIZE
    content = [
        b"q 1 1 1 rg 0 0 " + f"{width:.2f} {height:.2f}".encode() + b" re f Q",
        b"q 0.1 0.2 0.5 RG 0.8 w 0.4 0.4 "
        + f"{width - 0.8:.2f} {height - 0.8:.2f}".encode()
        + b" re S Q",
        b"BT 0 0 0 rg /F1 " + f"{_FONT_SIZE:.1f} Tf {_LEADING:.1f} TL".encode(),
        f"{_PADDING:.2f} {top:.2f} Td".encode(),
    ]
    content += [b"(" + _pdf_text(line) + b") Tj T*" for line in lines]
    content.append(b"ET")
    content.append(
        _qr_path(
            url,
            x=width - _PADDING - _QR_SIZE,
            y=(height - _QR_SIZE) / 2,
            size=_QR_SIZE,
        )
    )
    return b"\n".join(content), _Box(width, height)


def _name(value: str) -> NameObject:
    return NameObject(value)


def stamp_pdf(original: bytes, *, lines: Sequence[str], url: str) -> bytes:
    """``original`` followed by an incremental update that stamps its first page (top
    right corner) with ``lines`` and the QR code of ``url``; a link on the QR code opens
    ``url`` in a reader."""
    reader = PdfReader(io.BytesIO(original), strict=False)
    writer = PdfWriter(reader, incremental=True)
    page = writer.pages[0]
    content, box = _appearance(lines, url)
    box_area = page.cropbox
    right = float(box_area.right) - _MARGIN
    top = float(box_area.top) - _MARGIN
    left, bottom = right - box.width, top - box.height

    font = DictionaryObject(
        {
            _name("/Type"): _name("/Font"),
            _name("/Subtype"): _name("/Type1"),
            _name("/BaseFont"): _name("/Helvetica"),
            _name("/Encoding"): _name("/WinAnsiEncoding"),
        }
    )
    appearance = DecodedStreamObject()
    appearance.set_data(content)
    appearance.update(
        {
            _name("/Type"): _name("/XObject"),
            _name("/Subtype"): _name("/Form"),
            _name("/BBox"): ArrayObject(
                [FloatObject(0), FloatObject(0), FloatObject(box.width), FloatObject(box.height)]
            ),
            _name("/Resources"): DictionaryObject(
                {_name("/Font"): DictionaryObject({_name("/F1"): writer._add_object(font)})}
            ),
        }
    )
    rect = ArrayObject(
        [FloatObject(left), FloatObject(bottom), FloatObject(right), FloatObject(top)]
    )
    stamp = DictionaryObject(
        {
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/Stamp"),
            _name("/Rect"): rect,
            _name("/F"): NumberObject(_PRINT | _LOCKED | _LOCKED_CONTENTS),
            _name("/NM"): TextStringObject(STAMP_NAME),
            # What a screen reader or a text search finds of the stamp.
            _name("/Contents"): TextStringObject(" — ".join(lines)),
            _name("/AP"): DictionaryObject({_name("/N"): writer._add_object(appearance)}),
        }
    )
    writer.add_annotation(0, stamp)
    qr_left = right - _PADDING - _QR_SIZE
    qr_bottom = bottom + (box.height - _QR_SIZE) / 2
    link = DictionaryObject(
        {
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/Link"),
            _name("/Rect"): ArrayObject(
                [
                    FloatObject(qr_left),
                    FloatObject(qr_bottom),
                    FloatObject(qr_left + _QR_SIZE),
                    FloatObject(qr_bottom + _QR_SIZE),
                ]
            ),
            _name("/Border"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(0)]),
            _name("/F"): NumberObject(_PRINT),
            _name("/A"): DictionaryObject(
                {
                    _name("/S"): _name("/URI"),
                    _name("/URI"): TextStringObject(url),
                }
            ),
        }
    )
    writer.add_annotation(0, link)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stamp_of(stamped: bytes) -> tuple[str, str]:
    """The text of the stamp in ``stamped`` and the address its link opens ("", "" when
    there is none): what a reader of the stamped PDF sees."""
    reader = PdfReader(io.BytesIO(stamped), strict=False)
    page = reader.pages[0]
    text, url = "", ""
    for reference in page.get("/Annots") or []:
        annotation = reference.get_object()
        if annotation.get("/NM") == STAMP_NAME:
            text = page.extract_xform_text(annotation["/AP"]["/N"].get_object())
        elif annotation.get("/Subtype") == "/Link" and "/A" in annotation:
            url = str(annotation["/A"].get("/URI", ""))
    return text, url


# --- The acknowledgement slip ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SlipFile:
    role: str  # "Acte", "Annexe 1 (99_AU)", "Signature de l'acte"…
    name: str
    sha256: str


@dataclasses.dataclass(frozen=True)
class Slip:
    identifier: str
    nature: str
    subject: str
    member: str
    siren: str
    decided_on: date
    sent_on: date | None
    received_on: date
    files: Sequence[SlipFile]
    verification_url: str


def slip_pdf(slip: Slip) -> bytes:
    """The acknowledgement slip ("accusé de réception"), in French like the stamp: what
    the prefecture acknowledged, and the fingerprint of every file it received."""
    lines: list[tuple[str, bool]] = [
        ("Accusé de réception d'un acte en préfecture", True),
        ("", False),
        (f"Identifiant de l'acte : {slip.identifier}", False),
        (f"Collectivité : {slip.member} (SIREN {slip.siren})", False),
        (f"Nature de l'acte : {slip.nature}", False),
        (f"Date de la décision : {_fr(slip.decided_on)}", False),
        (f"Objet : {' '.join(slip.subject.split())}", False),
        (
            "Date d'envoi en préfecture : "
            + (_fr(slip.sent_on) if slip.sent_on is not None else "non connue"),
            False,
        ),
        (f"Date de réception en préfecture : {_fr(slip.received_on)}", False),
        ("", False),
        ("Fichiers transmis (empreinte SHA-256)", True),
    ]
    for item in slip.files:
        lines.append((f"{item.role} : {item.name}", False))
        lines.append((f"    {item.sha256}", False))
    lines += [
        ("", False),
        ("Vérification", True),
        (slip.verification_url, False),
    ]
    return text_document(lines, title=f"Accusé de réception {slip.identifier}")
