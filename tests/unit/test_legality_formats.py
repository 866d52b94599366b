"""The @ctes formats: numbers, natures, file names, the messages against the vendored
schema, and the contents of the transmission package."""

from __future__ import annotations

import io
import tarfile
from datetime import date

from lxml import etree

from mutualis.legality import actes
from mutualis.legality.actes import ActMessage, Nature, Piece, Sender

PDF = b"%PDF-1.4\n% a small document\n%%EOF\n"
SENDER = Sender(
    siren="212100108",
    departement="021",
    arrondissement="3",
    nature="25",
    return_addresses=["actes@mutualis.example.org"],
)


def _act(**changes: object) -> ActMessage:
    values: dict[str, object] = {
        "departement": "021",
        "arrondissement": "3",
        "siren": "212100108",
        "nature": Nature.DE,
        "number": "DEL_2026_014",
        "decided_on": date(2026, 11, 30),
        "matieres": [1, 1],
        "subject": "Attribution du marché de déneigement — « Côte-d'Or »",
        "classification_date": date(2026, 1, 1),
        "document": Piece(PDF, "pdf", "99_DE", signature=b"\x30\x82pkcs7"),
        "annexes": [Piece(PDF, "pdf", "99_AU"), Piece(PDF, "pdf", "22_NE")],
    }
    values.update(changes)
    return ActMessage(**values)  # type: ignore[arg-type]


def test_an_internal_number_is_fifteen_upper_case_letters_digits_or_underscores_at_most() -> None:
    assert actes.number_is_valid("DEL_2026_014")
    assert actes.number_is_valid("A" * 15)
    assert not actes.number_is_valid("A" * 16)
    assert not actes.number_is_valid("")
    assert not actes.number_is_valid("del_2026")
    assert not actes.number_is_valid("DEL-2026")
    assert not actes.number_is_valid("DÉL2026")


def test_each_nature_has_its_code_and_default_main_piece_type() -> None:
    assert [(n.value, n.name) for n in Nature] == [
        (1, "DE"), (2, "AR"), (3, "AI"), (4, "CC"), (5, "BF"), (6, "AU"),
    ]  # fmt: skip
    assert actes.DEFAULT_MAIN_PIECE_TYPE[Nature.CC] == "99_CO"
    assert actes.DEFAULT_MAIN_PIECE_TYPE[Nature.BF] == "99_BU"
    assert set(actes.DEFAULT_MAIN_PIECE_TYPE) == set(Nature)


def test_files_are_named_after_the_act_identifier() -> None:
    act = _act()
    assert act.identifier == "021-212100108-20261130-DEL_2026_014-DE"
    assert actes.message_file_name(act) == "021-212100108-20261130-DEL_2026_014-DE-1-1_0.xml"
    assert [name for name, _ in actes.pieces(act)] == [
        "99_DE-021-212100108-20261130-DEL_2026_014-DE-1-1_1.pdf",
        "99_AU-021-212100108-20261130-DEL_2026_014-DE-1-1_2.pdf",
        "22_NE-021-212100108-20261130-DEL_2026_014-DE-1-1_3.pdf",
    ]
    assert (
        actes.package_name("EACT", "MUTUALIS", "212100108", date(2026, 12, 1), 4)
        == "EACT-MUTUALIS--212100108--20261201-4.tar.gz"
    )


def test_the_act_message_is_latin_1_with_qualified_attributes_and_valid_against_the_schema() -> (
    None
):
    message = actes.act_message(_act())
    assert message.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    assert "Côte-d'Or".encode("iso-8859-1") in message
    assert actes.schema_errors(message) == []
    root = etree.fromstring(message)
    assert root.get(f"{{{actes.ACTES_NS}}}NumeroInterne") == "DEL_2026_014"
    assert root.get(f"{{{actes.ACTES_NS}}}CodeNatureActe") == "1"
    annexes = root.find(f"{{{actes.ACTES_NS}}}Annexes")
    assert annexes is not None
    assert annexes.get(f"{{{actes.ACTES_NS}}}Nombre") == "2"


def test_a_message_the_schema_refuses_is_reported() -> None:
    too_long = actes.act_message(_act(number="A" * 16, subject="x" * 501))
    errors = actes.schema_errors(too_long)
    assert any("NumeroInterne" in error for error in errors)
    assert any("Objet" in error for error in errors)
    assert actes.schema_errors(b"<not-closed>") != []


def test_the_envelope_names_the_sender_and_every_form_and_is_valid_against_the_schema() -> None:
    document = actes.envelope(SENDER, ["a.xml", "b.pdf"])
    assert actes.schema_errors(document) == []
    root = etree.fromstring(document)
    idcl = root.find(f".//{{{actes.ACTES_NS}}}IDCL")
    assert idcl is not None
    assert idcl.get(f"{{{actes.INSEE_NS}}}SIREN") == "212100108"
    assert idcl.get(f"{{{actes.ACTES_NS}}}Departement") == "021"
    names = root.findall(f".//{{{actes.ACTES_NS}}}NomFichier")
    assert [n.text for n in names] == ["a.xml", "b.pdf"]
    bad = actes.envelope(Sender("2121", "21", "3", "25", ["not an address"]), [])
    assert len(actes.schema_errors(bad)) >= 3


def test_the_package_holds_the_envelope_the_message_and_every_piece() -> None:
    act = _act()
    target = io.BytesIO()
    names = actes.write_package(target, SENDER, act, date(2026, 12, 1), 4)
    target.seek(0)
    with tarfile.open(fileobj=target, mode="r:gz") as archive:
        assert archive.getnames() == names
        contents = {name: archive.extractfile(name).read() for name in names}  # type: ignore[union-attr]
    assert names[0] == "021-212100108-20261201-4-EI-1-1_0.xml"
    assert names[1] == actes.message_file_name(act)
    assert contents[names[2]] == PDF
    assert len(names) == 5
    assert actes.schema_errors(contents[names[0]]) == []
    assert actes.schema_errors(contents[names[1]]) == []
    envelope_names = etree.fromstring(contents[names[0]]).findall(
        f".//{{{actes.ACTES_NS}}}NomFichier"
    )
    assert [n.text for n in envelope_names] == names[1:]
