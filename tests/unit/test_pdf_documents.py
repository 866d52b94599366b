"""The plain PDF documents the platform writes (core.pdf, with fpdf2)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from mutualis.core.pdf import latin1, text_document, text_pdf


def _text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_text_pdf_shows_its_lines_with_their_accents_and_its_title():
    pdf = text_pdf(["Attestation de vigilance", "Société (démo) \u2013 100 €"], title="Essai")
    assert pdf.startswith(b"%PDF-")
    [page] = _text(pdf)
    assert "Attestation de vigilance" in page
    assert "Société (démo) - 100 EUR" in page
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Essai"


def test_a_long_document_is_wrapped_over_pages():
    lines = [("Accusé de réception", True)] + [(f"Ligne {n} " * 20, False) for n in range(80)]
    pages = _text(text_document(lines, title="Accusé"))
    assert len(pages) > 1
    assert pages[0].startswith("Accusé de réception")
    assert "Ligne 79" in pages[-1]


def test_characters_the_core_fonts_lack_become_plain_ones():
    assert latin1("l\u2019œuvre \u2014 « 3 € »") == "l'oeuvre - « 3 EUR »"
    assert latin1("日本") == "??"
