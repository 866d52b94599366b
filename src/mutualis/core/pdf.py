"""Plain PDF documents with lines of text, written by fpdf2: the demo's documents, the
tests' uploads and the acknowledgement slips are real documents a reader opens and a
program extracts text from, not placeholders.

The PDF core fonts (Helvetica) write Latin-1: the few typographic characters of French
outside it become their plain equivalents (``latin1``), any other one a question mark.
Each document carries its creation time: the same lines written a second later make
other bytes (compare what was stored, not a document written again).
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

_PLAIN = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2014": "-",
        "\u2013": "-",
        "\u2026": "...",
        "\u20ac": "EUR",
        "œ": "oe",
        "Œ": "OE",
    }
)


def latin1(text: str) -> str:
    """``text`` as the core fonts can write it."""
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def _document(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(latin1(title))
    pdf.set_producer("Mutualis")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    return pdf


def text_document(lines: Sequence[tuple[str, bool]], *, title: str = "") -> bytes:
    """An A4 PDF of ``lines`` (its text, and whether it is a heading), on as many pages
    as they need; long lines are wrapped."""
    pdf = _document(title)
    for text, heading in lines:
        pdf.set_font("Helvetica", "B" if heading else "", 11 if heading else 10)
        pdf.multi_cell(0, 5.5, latin1(text) or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def text_pdf(lines: Sequence[str], *, title: str = "") -> bytes:
    """A PDF showing ``lines``, the first one larger, as a heading."""
    pdf = _document(title)
    for number, text in enumerate(lines):
        pdf.set_font("Helvetica", "B" if number == 0 else "", 16 if number == 0 else 11)
        pdf.multi_cell(0, 8 if number == 0 else 6, latin1(text) or " ", new_x="LMARGIN",
                       new_y="NEXT")  # fmt: skip
    return bytes(pdf.output())
