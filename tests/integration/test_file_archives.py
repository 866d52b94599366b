"""Accepted-type policies and ZIP inspection: hostile files and archives, built here in
code (never committed binaries), are refused with the error that says what to fix, and
nothing is stored."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import storages

from mutualis.core.files import (
    CONSULTATION_DOCUMENTS,
    ArchiveLimits,
    errors,
    get_policy,
    inspect_zip,
    register_owner,
    register_policy,
    store_file,
    unregister_owner,
    unregister_policy,
)
from mutualis.core.models import StoredFile

pytestmark = pytest.mark.django_db

OWNER = "tests.consultation"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PE = b"MZ\x90\x00\x03" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
MACHO = bytes.fromhex("cffaedfe07000001") + b"\x00" * 200
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"
MB = 1024 * 1024
OOXML = "application/vnd.openxmlformats-officedocument"


@pytest.fixture(autouse=True)
def _owner():
    register_owner(OWNER, can_read=lambda request, stored_file: False)
    yield
    unregister_owner(OWNER)


def make_zip(
    entries: list[tuple[str | zipfile.ZipInfo, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def docx() -> bytes:
    """The smallest ZIP that libmagic reads as a Word document."""
    return make_zip(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/document.xml", b"<w:document/>"),
        ]
    )


def store(data: bytes, name: str, **kwargs) -> StoredFile:
    return store_file(
        file=io.BytesIO(data),
        name=name,
        owner_kind=OWNER,
        policy=kwargs.pop("policy", CONSULTATION_DOCUMENTS),
        **kwargs,
    )


def nothing_stored() -> bool:
    root = Path(storages["files"].location)
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return not StoredFile.objects.exists() and not files


# --- Types read from the bytes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (PDF, "Règlement de consultation.pdf", "application/pdf"),
        (docx(), "CCTP.docx", f"{OOXML}.wordprocessingml.document"),
        # French spreadsheets write semicolons, which libmagic reads as plain text.
        (b"lot;prix\n1;1000\n2;2000\n", "BPU.csv", "text/plain"),
        (b"lot,prix\n1,1000\n2,2000\n", "DQE.csv", "text/csv"),
        (b"{\\rtf1\\ansi Acte d'engagement}", "AE.rtf", "text/rtf"),
        (b"AC1032" + b"\x00" * 200, "Plan masse.dwg", "image/vnd.dwg"),
        (make_zip([("CCAP.pdf", PDF)]), "DCE.zip", "application/zip"),
    ],
)
def test_documents_of_a_consultation_are_accepted(data, name, content_type):
    stored = store(data, name)
    assert stored.content_type == content_type
    assert stored.size == len(data)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PE, "notice.pdf"),  # a Windows program disguised as a PDF
        (ELF, "plan.dwg"),
        (MACHO, "photo.jpg"),
        (SCRIPT, "lisez-moi.txt"),
        (PDF, "devis.pdf.exe"),  # a real PDF, but Windows would run the name
        (b"WScript.Echo 1\n", "facture.vbs"),
        (b"alert(document.cookie)\n", "script.js"),
        (b"@echo off\r\n", "installer.bat"),
    ],
)
def test_executables_are_refused_by_their_bytes_or_their_name(data, name):
    with pytest.raises(errors.FileExecutable) as excinfo:
        store(data, name)
    assert excinfo.value.code == "file_executable"
    assert name in str(excinfo.value.message)
    assert nothing_stored()


def test_a_type_whose_bytes_contradict_its_extension_is_refused():
    with pytest.raises(errors.FileNameContradictsType) as excinfo:
        store(PDF, "CCTP.docx")
    assert excinfo.value.code == "file_name_contradicts_type"
    message = str(excinfo.value.message)
    assert ".docx" in message
    assert ".pdf" in message  # what the name should end in
    assert nothing_stored()


def test_a_type_outside_the_policy_is_refused_with_what_is_accepted():
    with pytest.raises(errors.FileTypeNotAllowed) as excinfo:
        store(b"<html><script>alert(1)</script></html>", "page.html")
    assert excinfo.value.code == "file_type_not_allowed"
    assert ".pdf" in str(excinfo.value.message)
    assert ".dwg" in str(excinfo.value.message)


def test_seven_zip_is_refused_since_nothing_can_look_inside():
    with pytest.raises(errors.FileTypeNotAllowed):
        store(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 100, "DCE.7z")


def test_a_file_over_the_policy_limit_is_refused(settings):
    settings.MUTUALIS_FILES_POLICY_MAX_FILE_BYTES = 1000
    with pytest.raises(errors.FileTooLarge):
        store(PDF + b"0" * 2000, "gros.pdf")
    assert nothing_stored()


def test_a_set_over_its_total_is_refused_and_leaves_nothing(settings):
    settings.MUTUALIS_FILES_POLICY_MAX_SET_BYTES = 10_000
    store(PDF + b"0" * 5000, "premier.pdf", set_bytes=0)
    with pytest.raises(errors.FileSetTooLarge) as excinfo:
        store(PDF + b"0" * 5000, "second.pdf", set_bytes=5000 + len(PDF))
    assert excinfo.value.code == "file_set_too_large"
    assert StoredFile.objects.count() == 1


def test_a_policy_of_a_service_applies_its_own_types_and_limits():
    register_policy("tests.answers", types={"application/pdf": {"pdf"}}, max_file_bytes=500)
    try:
        with pytest.raises(errors.FileTypeNotAllowed):
            store(docx(), "offre.docx", policy="tests.answers")
        with pytest.raises(errors.FileTooLarge):
            store(PDF + b"0" * 1000, "offre.pdf", policy="tests.answers")
        assert store(PDF, "offre.pdf", policy="tests.answers").content_type == "application/pdf"
    finally:
        unregister_policy("tests.answers")


def test_a_policy_cannot_accept_programs():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        register_policy("tests.bad", types={"application/x-dosexec": {"exe"}})
    with pytest.raises(ValueError, match="not registered"):
        get_policy("tests.bad")


# --- Hostile archives ------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "../../etc/passwd",
        "pieces/../../../etc/cron.d/x",
        "/etc/passwd",
        "..\\..\\windows\\win.ini",
        "C:/Windows/System32/x.pdf",
        "CCAP.pdf\x00.exe",  # zipfile cuts the name at the NUL: the raw name is judged
        "devis\u202efdp.exe",
    ],
)
def test_an_archive_with_a_path_traversal_or_control_name_is_refused(entry):
    # zipfile would cut a NUL out of a name it writes: write a placeholder, patch bytes.
    archive = make_zip([(entry.replace("\x00", "\x01"), PDF)])
    archive = archive.replace(b"CCAP.pdf\x01", b"CCAP.pdf\x00")
    with pytest.raises(errors.ArchiveUnsafeName) as excinfo:
        store(archive, "DCE.zip")
    assert excinfo.value.code == "archive_unsafe_name"
    assert "DCE.zip" in str(excinfo.value.message)
    assert nothing_stored()


def test_a_symbolic_link_in_an_archive_is_refused():
    link = zipfile.ZipInfo("pieces/lien")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(errors.ArchiveSymlink) as excinfo:
        store(make_zip([("CCAP.pdf", PDF), (link, b"/etc/passwd")]), "DCE.zip")
    assert excinfo.value.code == "archive_symlink"


def test_an_encrypted_entry_is_refused_since_it_cannot_be_checked():
    data = bytearray(make_zip([("CCAP.pdf", PDF)], compression=zipfile.ZIP_STORED))
    # Set the "encrypted" flag in the local header and in the central directory, as an
    # archiver does with a password (the standard library writes no encrypted entry).
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = data.find(signature) + offset
        data[position] |= 0x01
    with pytest.raises(errors.ArchiveEncrypted) as excinfo:
        store(bytes(data), "DCE.zip")
    assert excinfo.value.code == "archive_encrypted"
    assert "CCAP.pdf" in str(excinfo.value.message)


def test_a_decompression_bomb_is_refused_by_its_ratio():
    """A few kilobytes that expand to 50 MB of zeros: the central directory's sizes say
    so before anything is decompressed."""
    bomb = make_zip([("notice.txt", b"\x00" * (50 * MB))])
    assert len(bomb) < 100_000
    with pytest.raises(errors.ArchiveRatioTooHigh) as excinfo:
        store(bomb, "DCE.zip")
    assert excinfo.value.code == "archive_ratio_too_high"
    assert "100" in str(excinfo.value.message)
    assert nothing_stored()


def test_many_small_entries_that_together_expand_too_much_are_refused():
    """Each entry under the ratio floor, the whole archive far over the ratio."""
    entries = [(f"page-{n}.txt", b"a" * (MB // 2)) for n in range(40)]
    with pytest.raises(errors.ArchiveRatioTooHigh):
        store(make_zip(entries), "DCE.zip")


def test_declared_sizes_that_lie_are_caught_while_streaming():
    """A central directory that declares tiny sizes (so the ratio looks harmless) cannot
    hide the bytes: the stream is counted and checked against its CRC."""
    data = bytearray(make_zip([("notice.txt", b"lot 1 " * (MB // 2))]))
    directory = data.find(b"PK\x01\x02")
    # The declared uncompressed size in the central directory: offset 24, 4 bytes.
    data[directory + 24 : directory + 28] = (10).to_bytes(4, "little")
    with pytest.raises(errors.ArchiveDamaged):
        store(bytes(data), "DCE.zip")


def test_an_archive_over_the_uncompressed_total_is_refused():
    limits = ArchiveLimits(
        max_entries=100, max_uncompressed_bytes=2 * MB, max_ratio=100, max_depth=2
    )
    archive = make_zip([(f"plan-{n}.pdf", PDF + os.urandom(MB)) for n in range(3)])
    with pytest.raises(errors.ArchiveTooLarge) as excinfo:
        inspect_zip(
            io.BytesIO(archive),
            name="DCE.zip",
            policy=get_policy(CONSULTATION_DOCUMENTS),
            limits=limits,
        )
    assert excinfo.value.code == "archive_too_large"


def test_too_many_entries_are_refused(settings):
    settings.MUTUALIS_ARCHIVE_MAX_ENTRIES = 50
    archive = make_zip([(f"piece-{n}.pdf", PDF) for n in range(51)])
    with pytest.raises(errors.ArchiveTooManyEntries) as excinfo:
        store(archive, "DCE.zip")
    assert "50" in str(excinfo.value.message)


def test_a_zip_inside_a_zip_is_accepted_a_third_level_is_refused():
    lot = make_zip([("CCAP.pdf", PDF)])
    stored = store(make_zip([("lot-1.zip", lot)], compression=zipfile.ZIP_STORED), "a.zip")
    assert stored.content_type == "application/zip"

    deeper = make_zip([("lots.zip", make_zip([("lot-1.zip", lot)]))])
    with pytest.raises(errors.ArchiveTooDeep) as excinfo:
        store(deeper, "b.zip")
    assert excinfo.value.code == "archive_too_deep"
    assert "lots.zip / lot-1.zip" in str(excinfo.value.message)
    assert StoredFile.objects.count() == 1


def test_a_zip_inside_a_zip_is_streamed_and_its_entries_checked_too():
    inner = make_zip([("notice.pdf", PE)])  # a program under a PDF's name, one level down
    with pytest.raises(errors.FileExecutable) as excinfo:
        store(make_zip([("CCAP.pdf", PDF), ("annexes.zip", inner)]), "DCE.zip")
    assert "notice.pdf" in str(excinfo.value.message)


def test_a_disguised_executable_inside_an_archive_is_refused():
    with pytest.raises(errors.FileExecutable):
        store(make_zip([("CCAP.pdf", PDF), ("plan.dwg", ELF)]), "DCE.zip")


def test_an_empty_entry_named_like_a_program_is_refused():
    with pytest.raises(errors.FileExecutable):
        store(make_zip([("CCAP.pdf", PDF), ("setup.exe", b"")]), "DCE.zip")


def test_an_entry_whose_bytes_contradict_its_name_is_refused():
    with pytest.raises(errors.FileNameContradictsType):
        store(make_zip([("CCTP.docx", PDF)]), "DCE.zip")


def test_a_damaged_archive_is_refused():
    archive = make_zip([("CCAP.pdf", PDF + bytes(2000))])
    with pytest.raises(errors.ArchiveDamaged) as excinfo:
        store(archive[:-30], "DCE.zip")
    assert excinfo.value.code == "archive_damaged"


def test_office_documents_have_their_structure_checked():
    """A .docx is a ZIP container: a bomb inside it is refused like in any archive."""
    bomb = make_zip(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/document.xml", b" " * (20 * MB)),
        ]
    )
    with pytest.raises(errors.ArchiveRatioTooHigh):
        store(bomb, "CCTP.docx")


def test_an_inspected_archive_is_stored_whole():
    archive = make_zip(
        [
            ("Lot 1/", b""),
            ("Lot 1/CCTP.docx", docx()),
            ("Lot 1/plan.dwg", b"AC1032" + bytes(5000)),
            ("RC.pdf", PDF),
            ("vide.txt", b""),
        ]
    )
    stored = store(archive, "DCE.zip")
    assert stored.size == len(archive)
    with zipfile.ZipFile(storages["files"].open(stored.key)) as reread:
        assert reread.read("RC.pdf") == PDF


def test_a_bomb_inside_a_nested_archive_is_refused():
    """The outer archive looks harmless (its entry, a ZIP, does not compress); the ZIP
    inside is read through the outer one and its own central directory judged."""
    inner = make_zip([("notice.txt", b"\x00" * (20 * MB))])
    with pytest.raises(errors.ArchiveRatioTooHigh) as excinfo:
        store(make_zip([("CCAP.pdf", PDF), ("annexes.zip", inner)]), "DCE.zip")
    assert "DCE.zip / annexes.zip" in str(excinfo.value.message)
    assert nothing_stored()
