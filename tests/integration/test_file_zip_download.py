"""Several stored files as one ZIP streamed to the client: bytes intact, names safe and
distinct, length known in advance, HEAD without reading, memory flat."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.test import RequestFactory

from mutualis.core.files import (
    ZipEntry,
    open_stored_file,
    register_owner,
    serve_zip,
    store_file,
    store_zip,
    unregister_owner,
    zip_stream,
)
from mutualis.core.files import zips as zips_module
from mutualis.core.models import StoredFile

pytestmark = pytest.mark.django_db

OWNER = "tests.consultation_files"
PDF_HEAD = b"%PDF-1.7\n"
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _owner():
    register_owner(OWNER, can_read=lambda request, stored_file: False)
    yield
    unregister_owner(OWNER)


def stored(name: str, size: int) -> tuple[StoredFile, bytes]:
    data = PDF_HEAD + os.urandom(size - len(PDF_HEAD))
    return store_file(file=io.BytesIO(data), name=name, owner_kind=OWNER), data


def download(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_archive_opens_and_every_entry_is_the_stored_file():
    files = [stored(f"Pièce {n}.pdf", 300_000 + n) for n in range(3)]
    request = RequestFactory().get("/dce.zip")
    response = serve_zip(
        request,
        [ZipEntry(f, path=f"Lot {n}/{f.original_name}") for n, (f, _data) in enumerate(files)],
        "DCE 2026-014",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="DCE 2026-014.zip"'
    body = download(response)
    # Announced before the first byte, and exact.
    assert response["Content-Length"] == str(len(body))
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None  # every CRC checks
        infos = archive.infolist()
        assert [i.filename for i in infos] == [f"Lot {n}/Pièce {n}.pdf" for n in range(3)]
        for info, (stored_file, data) in zip(infos, files, strict=True):
            assert info.compress_type == zipfile.ZIP_STORED  # not compressed again
            content = archive.read(info)
            assert content == data
            assert hashlib.sha256(content).hexdigest() == stored_file.sha256


def test_entry_names_are_made_safe_and_distinct():
    files = [stored("CCAP.pdf", 1000)[0] for _ in range(4)]
    paths = ["../../etc/CCAP.pdf", "etc/ccap.PDF", "C:\\Lot 1\\CCAP.pdf", "Lot 1/CCAP\u202e.pdf"]
    entries = [ZipEntry(f, path=p) for f, p in zip(files, paths, strict=True)]
    body = download(serve_zip(RequestFactory().get("/"), entries, "DCE.zip"))
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.namelist() == [
            "etc/CCAP.pdf",
            "etc/ccap (2).PDF",  # the same name for Windows and macOS
            "C_/Lot 1/CCAP.pdf",
            "Lot 1/CCAP.pdf",
        ]


def test_head_answers_the_length_without_reading_a_file(monkeypatch):
    files = [stored(f"{n}.pdf", 50_000) for n in range(2)]
    entries = [f for f, _data in files]
    full = serve_zip(RequestFactory().get("/"), entries, "DCE")
    length = full["Content-Length"]
    assert len(download(full)) == int(length)

    def refuse(stored_file):
        raise AssertionError("HEAD opened a stored file")

    monkeypatch.setattr(zips_module, "open_stored_file", refuse)
    head = serve_zip(RequestFactory().head("/"), entries, "DCE")
    assert head.status_code == 200
    assert head["Content-Length"] == length
    assert head.content == b""
    assert head["Content-Type"] == "application/zip"


def test_memory_stays_flat_while_a_large_archive_streams():
    """24 MiB of files go out while Python holds at most a few reads at a time."""
    files = [stored(f"plan-{n}.pdf", 8 * MB) for n in range(3)]
    response = serve_zip(RequestFactory().get("/"), [f for f, _data in files], "DCE")
    total = 0
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            total += len(chunk)
            digest.update(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == int(response["Content-Length"]) > 24 * MB
    # A few 1 MiB reads in flight, never the archive: under a sixth of its size.
    assert peak < total / 6
    assert peak < 4 * MB


def test_files_past_4_gib_get_zip64_records(settings):
    """A sparse 4.5 GiB file (no disk used): the announced length and the first
    header already carry ZIP64; only the head of the stream is read."""
    size = 4 * 1024**3 + 512 * MB
    row, _data = stored("maquette.pdf", 1000)
    path = Path(storages["files"].path(row.key))
    os.truncate(path, size)
    StoredFile.objects.filter(pk=row.pk).update(size=size)
    row.refresh_from_db()

    stream = zip_stream([row])
    assert len(stream) > size
    first = next(iter(stream))
    signature, version_needed = struct.unpack("<4sH", first[:6])
    assert signature == b"PK\x03\x04"
    assert version_needed >= 45  # ZIP64


def test_an_archive_of_files_that_never_change_can_be_stored_once():
    files = [stored(f"Pièce {n}.pdf", 100_000) for n in range(3)]
    archive = store_zip(
        entries=[f for f, _data in files], name="DCE v2", owner_kind=OWNER, owner_ref="7"
    )
    assert archive.original_name == "DCE v2.zip"
    assert archive.content_type == "application/zip"
    assert (archive.owner_kind, archive.owner_ref) == (OWNER, "7")
    with open_stored_file(archive) as file, zipfile.ZipFile(file) as reread:
        contents = [reread.read(info) for info in reread.infolist()]
    assert contents == [data for _f, data in files]
    assert archive.size == len(zip_stream([f for f, _data in files]))
