"""Several stored files as one ZIP archive, streamed as it is made.

``serve_zip(request, entries, name)`` answers a GET or HEAD with an archive built on the
fly by zipstream-ng: nothing is assembled in memory or on disk; each file is read in
``CHUNK_BYTES`` reads while the archive goes out. Files are stored, not compressed again
(PDFs, office documents and images are compressed already: deflating them again costs a
core for a few percent), so the archive's length is known before the first byte and sent
as ``Content-Length``: browsers show the progress and the time left. ZIP64 records are
written where a file or the archive passes 4 GiB.

The caller checks permissions first (each context knows who may read its files), then::

    return serve_zip(request, [ZipEntry(f, path=f"Lot {n}/{f.original_name}") ...],
                     name="DCE 2026-014.zip")

Entry names are made safe and distinct by ``names.unique_names``. Under gunicorn the
archive costs one Python loop over 1 MiB reads (zipstream-ng computes each file's CRC-32
on the way) and a copy of every byte into the socket, where a single file goes out with
sendfile: bench/files.py measures it at about 0.6-0.7 x nginx. Files that never change
(a consultation's published version) can instead be archived once with ``store_zip``
and the archive served like any stored file (``serve_file``: sendfile, ranges, so a
broken download resumes).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from zipstream import ZIP_STORED, ZipStream

from mutualis.core.models import StoredFile

from .download import content_disposition
from .names import sanitise_name, unique_names
from .store import open_stored_file, store_file

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ZipEntry:
    """A stored file and its path inside the archive (folders separated by ``/``; by
    default the file's own name)."""

    stored_file: StoredFile
    path: str = ""


def _chunks(stored_file: StoredFile) -> Iterator[bytes]:
    """The file's bytes, opened only when the archive reaches it."""
    with open_stored_file(stored_file) as file:
        while data := file.read(CHUNK_BYTES):
            yield data


def zip_stream(entries: Iterable[StoredFile | ZipEntry]) -> ZipStream:
    """The archive of ``entries``, not yet read: ``len()`` is its size in bytes and
    iterating it reads the files one after the other."""
    listed = [e if isinstance(e, ZipEntry) else ZipEntry(e) for e in entries]
    names = unique_names(e.path or e.stored_file.original_name for e in listed)
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    for entry, arcname in zip(listed, names, strict=True):
        stream.add(_chunks(entry.stored_file), arcname, size=entry.stored_file.size)
    return stream


def archive_name(name: str) -> str:
    name = sanitise_name(name)
    return name if name.lower().endswith(".zip") else f"{name}.zip"


def serve_zip(
    request: HttpRequest, entries: Iterable[StoredFile | ZipEntry], name: str
) -> HttpResponseBase:
    """The response to a GET or HEAD of the archive of ``entries`` named ``name``
    (permission already granted by the caller). HEAD answers the same headers, length
    included, without opening a file."""
    stream = zip_stream(entries)
    headers = {
        "Content-Disposition": content_disposition(archive_name(name), inline=False),
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        # The archive is made anew at each request: no range can be resumed in it.
        "Accept-Ranges": "none",
    }
    length = str(len(stream))
    if request.method == "HEAD":
        head = HttpResponse(content_type="application/zip", headers=headers)
        head["Content-Length"] = length
        return head
    response = StreamingHttpResponse(stream, content_type="application/zip", headers=headers)
    response["Content-Length"] = length
    return response


def store_zip(
    *,
    entries: Iterable[StoredFile | ZipEntry],
    name: str,
    owner_kind: str,
    owner_ref: str = "",
) -> StoredFile:
    """The archive of ``entries``, written once and stored as a file of its own (for
    ``owner_kind``), to be served by the download view like any file.

    The archive is spooled to a temporary file, then stored through ``store_file`` (type
    read, SHA-256 measured, fsynced): it takes the archive's size on disk twice for a
    moment. Call it inside the caller's transaction, as ``store_file``.
    """
    stream = zip_stream(entries)
    size = len(stream)
    with tempfile.TemporaryFile(prefix="mutualis-zip-") as spool:
        for chunk in stream:
            spool.write(chunk)
        spool.seek(0)
        return store_file(
            file=spool,
            name=archive_name(name),
            owner_kind=owner_kind,
            owner_ref=owner_ref,
            allowed_types={"application/zip"},
            max_size=size,
        )
