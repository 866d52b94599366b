"""Storing files: what is recorded, what is refused, and durability before the answer."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from PIL import Image

from mutualis.core.files import (
    DOCUMENT_TYPES,
    IMAGE_TYPES,
    errors,
    open_stored_file,
    register_owner,
    store_file,
    synced_together,
    unregister_owner,
)
from mutualis.core.files import storage as storage_module
from mutualis.core.models import StoredFile

pytestmark = pytest.mark.django_db

OWNER = "tests.documents"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _owner():
    register_owner(OWNER, can_read=lambda request, stored_file: False)
    yield
    unregister_owner(OWNER)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def files_root() -> Path:
    return Path(storages["files"].location)


def stored_paths() -> list[Path]:
    root = files_root()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_the_size_sha256_type_and_name_are_recorded():
    data = PDF + os.urandom(300_000)
    stored = store_file(
        file=SimpleUploadedFile("../Cahier des clauses\u202e.pdf", data),
        name="../Cahier des clauses\u202e.pdf",
        owner_kind=OWNER,
        owner_ref="42",
    )
    stored.refresh_from_db()
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == "application/pdf"
    assert stored.original_name == "Cahier des clauses.pdf"
    assert (stored.owner_kind, stored.owner_ref) == (OWNER, "42")
    # Stored under a key of ours, not the name; and readable back whole.
    assert stored.key == f"{stored.pk.hex[:2]}/{stored.pk.hex}"
    with open_stored_file(stored) as file:
        assert file.read() == data
    assert stored_paths() == [files_root() / stored.key]


def test_a_file_on_disk_is_measured_while_the_storage_reads_it(monkeypatch):
    """The upload is read once, by the storage: nothing reads it again to hash it."""
    upload = TemporaryUploadedFile("big.pdf", "application/pdf", 0, None)
    payload = PDF + os.urandom(3 * 1024 * 1024 + 17)
    upload.write(payload)
    upload.seek(0)
    reads = []
    real_read = upload.file.read

    def counting_read(size=-1):
        data = real_read(size)
        reads.append(len(data))
        return data

    monkeypatch.setattr(upload.file, "read", counting_read)
    stored = store_file(file=upload, name="big.pdf", owner_kind=OWNER)
    assert stored.size == len(payload)
    assert stored.sha256 == hashlib.sha256(payload).hexdigest()
    # The head read for the type, then the storage's single pass.
    assert sum(reads) == len(payload) + 64 * 1024


def test_the_file_and_its_directory_are_fsynced_in_order(monkeypatch):
    calls = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        calls.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(source, target):
        calls.append(("rename", str(target)))
        real_rename(source, target)

    monkeypatch.setattr(storage_module.os, "fsync", fsync)
    monkeypatch.setattr(storage_module.os, "rename", rename)
    stored = store_file(file=io.BytesIO(PDF), name="a.pdf", owner_kind=OWNER)

    path = str(files_root() / stored.key)
    directory = os.path.dirname(path)
    assert calls[-3][0] == "fsync"
    assert calls[-3][1].startswith(directory + "/.upload-")
    assert calls[-2] == ("rename", path)
    assert calls[-1] == ("fsync", directory)
    # The new directories themselves were made durable in their parents.
    assert ("fsync", str(files_root())) in calls


def test_files_stored_together_are_synced_when_the_block_ends(monkeypatch):
    """Inside ``synced_together`` nothing is synced file by file; leaving the block
    fsyncs every file and its directory (all of them, before it returns)."""
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "fsync", fsync)
    with synced_together():
        first = store_file(file=io.BytesIO(PDF), name="a.pdf", owner_kind=OWNER)
        second = store_file(file=io.BytesIO(PDF + b"2"), name="b.pdf", owner_kind=OWNER)
        assert synced == []

    paths = [str(files_root() / stored.key) for stored in (first, second)]
    assert set(paths + [os.path.dirname(p) for p in paths]) <= set(synced)
    # Written under their names, whole, as outside the block.
    for stored, data in ((first, PDF), (second, PDF + b"2")):
        with open_stored_file(stored) as file:
            assert file.read() == data


def test_a_block_left_by_an_error_syncs_nothing(monkeypatch):
    synced = []
    monkeypatch.setattr(storage_module.os, "fsync", synced.append)

    def store_then_fail():
        with synced_together():
            store_file(file=io.BytesIO(PDF), name="a.pdf", owner_kind=OWNER)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        store_then_fail()

    assert synced == []


@pytest.mark.parametrize(
    ("data", "allowed"),
    [
        (PDF, IMAGE_TYPES),  # a PDF named .png
        (b"<html><script>alert(1)</script></html>", DOCUMENT_TYPES),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', DOCUMENT_TYPES),
        (b"MZ\x90\x00\x03" + b"\x00" * 200, DOCUMENT_TYPES),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, DOCUMENT_TYPES),
    ],
)
def test_the_type_is_read_from_the_bytes_not_the_name(data, allowed):
    with pytest.raises(errors.FileTypeNotAllowed) as excinfo:
        store_file(file=io.BytesIO(data), name="logo.png", owner_kind=OWNER, allowed_types=allowed)
    assert excinfo.value.code == "file_type_not_allowed"
    assert not StoredFile.objects.exists()
    assert stored_paths() == []


def test_a_png_named_pdf_is_stored_as_a_png():
    stored = store_file(file=io.BytesIO(png()), name="scan.pdf", owner_kind=OWNER)
    assert stored.content_type == "image/png"


def test_an_empty_file_is_refused():
    with pytest.raises(errors.FileEmpty) as excinfo:
        store_file(file=io.BytesIO(b""), name="empty.pdf", owner_kind=OWNER)
    assert excinfo.value.code == "file_empty"


def test_a_file_over_the_limit_is_refused_before_it_is_read():
    upload = SimpleUploadedFile("big.pdf", PDF + b"0" * 2000)
    with pytest.raises(errors.FileTooLarge) as excinfo:
        store_file(file=upload, name="big.pdf", owner_kind=OWNER, max_size=1000)
    assert excinfo.value.code == "file_too_large"
    assert "1000" in str(excinfo.value.message)


def test_a_stream_that_grows_past_the_limit_leaves_nothing_behind(settings):
    """A body whose size was not declared is counted as it is written."""
    settings.MUTUALIS_FILES_MAX_BYTES = 100_000
    with pytest.raises(errors.FileTooLarge):
        store_file(file=io.BytesIO(PDF + b"0" * 200_000), name="big.pdf", owner_kind=OWNER)
    assert not StoredFile.objects.exists()
    assert stored_paths() == []


def test_an_empty_name_is_refused():
    with pytest.raises(errors.FileNameRequired):
        store_file(file=io.BytesIO(PDF), name="/../", owner_kind=OWNER)


def test_an_unregistered_owner_kind_cannot_store():
    with pytest.raises(ValueError, match="not registered"):
        store_file(file=io.BytesIO(PDF), name="a.pdf", owner_kind="nobody.knows")


def test_a_refused_row_leaves_no_bytes(monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(StoredFile.objects, "create", fail)
    with pytest.raises(RuntimeError):
        store_file(file=io.BytesIO(PDF), name="a.pdf", owner_kind=OWNER)
    assert stored_paths() == []


def test_object_storage_is_a_configuration_switch(tmp_path):
    """MUTUALIS_FILE_STORAGE=s3 and the usual AWS_* variables give django-storages' S3
    storage, which signs short-lived URLs (no network is needed to sign)."""
    script = (
        "import django; django.setup()\n"
        "from django.core.files.storage import storages\n"
        "s = storages['files']\n"
        "print(type(s).__module__, type(s).__name__, s.bucket_name, s.location)\n"
        "print(s.url('ab/cd', parameters={'ResponseContentType': 'application/pdf'}, expire=60))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mutualis.settings",
        "MUTUALIS_VAR_DIR": str(tmp_path),
        "MUTUALIS_FILE_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "mutualis-files",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_S3_REGION_NAME": "fr-par",
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    result = subprocess.run(  # noqa: S603 - this interpreter, a script of this test
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    description, url = result.stdout.splitlines()
    assert description == "storages.backends.s3 S3Storage mutualis-files files"
    assert url.startswith("http://127.0.0.1:9/mutualis-files/files/ab/cd?")
    assert "response-content-type=application%2Fpdf" in url
    assert "X-Amz-Expires=60" in url
