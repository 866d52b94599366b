"""Answering a download of a stored file, once its owner has allowed it.

- The bytes go out through ``FileResponse``: under gunicorn its ``wsgi.file_wrapper``
  hands the file descriptor to ``sendfile``, which sends from the descriptor's current
  offset as many bytes as ``Content-Length`` says. A ranged answer therefore seeks the
  file to the first byte and sets the length: sendfile still does the work, and servers
  without it read through ``_Window``, which stops at the last byte of the range.
- HTTP ranges (RFC 9110 §14): one range, a suffix (``-500``) or an open end (``9500-``)
  answers 206; a range past the end 416 with ``Content-Range: bytes */size``; several
  ranges, or a malformed header, the whole file (200), which the RFC allows.
- Validators: the SHA-256 is a strong ETag (the bytes of a stored file never change), the
  storing time ``Last-Modified``; ``If-None-Match``/``If-Modified-Since`` answer 304,
  ``If-Match``/``If-Unmodified-Since`` 412 (Django's ``get_conditional_response``);
  ``If-Range`` keeps the range only if it names the current ETag (or date).
- ``MUTUALIS_FILES_X_ACCEL_PREFIX`` set: the app answers headers only, with
  ``X-Accel-Redirect`` naming the file under that internal nginx location; nginx sends
  the bytes and handles the ranges.
- A storage without local paths (S3): a redirect to a short-lived signed URL whose
  response carries the same name and type.
"""

from __future__ import annotations

import re
import unicodedata
from typing import IO
from urllib.parse import quote

from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe

from mutualis.core.models import StoredFile

from .store import file_storage, local_path

# Shown in the browser rather than saved: types that run no script on our origin.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "application/pdf"})
# What FileResponse reads at a time where the server has no sendfile (runserver, tests):
# large enough to cost little per call, small enough to keep memory flat.
BLOCK_SIZE = 256 * 1024
PUBLIC_MAX_AGE = 24 * 3600

_NUMBER = re.compile(r"[0-9]+")


class RangeNotSatisfiable(Exception):
    pass


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) that a ``Range`` header asks for, or None
    to answer the whole file; raises ``RangeNotSatisfiable`` for a range past the end."""
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = (part.strip() for part in spec.partition("-"))
    if not dash or any(part and not _NUMBER.fullmatch(part) for part in (first, last)):
        return None
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 §14.2 says
    end = int(last) if last else size - 1
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(end, size - 1)


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266: a plain ASCII ``filename`` for old clients, and ``filename*`` in UTF-8
    (RFC 8187) when the name is not plain ASCII."""
    kind = "inline" if inline else "attachment"
    # Accents dropped (é → e), any other character not plain printable ASCII, and the
    # quote, backslash and percent that old clients misread, replaced by "_".
    fallback = "".join(
        "_" if not (" " <= ch <= "~") or ch in '"\\%' else ch
        for ch in unicodedata.normalize("NFKD", name)
        if not unicodedata.combining(ch)
    )
    header = f'{kind}; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


class _Window:
    """``length`` bytes of ``file`` from its current offset. Has ``fileno`` so that
    gunicorn sends it with sendfile (from that offset, Content-Length bytes), and no
    ``tell``/``seek``, so that ``FileResponse`` does not measure it itself."""

    mode = "rb"

    def __init__(self, file: IO[bytes], length: int) -> None:
        self._file = file
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if size < 0 or size > self._left:
            size = self._left
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()


class _FileResponse(FileResponse):
    block_size = BLOCK_SIZE


def _if_range_matches(request: HttpRequest, etag: str, last_modified: int) -> bool:
    value = request.headers.get("If-Range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith('"'):
        return value == etag  # strong comparison: W/ tags never match
    return parse_http_date_safe(value) == last_modified


def serve_file(request: HttpRequest, stored_file: StoredFile, *, public: bool) -> HttpResponseBase:
    """The response to a GET or HEAD of ``stored_file`` (permission already granted)."""
    inline = stored_file.content_type in INLINE_TYPES
    headers = {
        "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}" if public else "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(stored_file.original_name, inline=inline),
    }
    path = local_path(stored_file)
    prefix = settings.MUTUALIS_FILES_X_ACCEL_PREFIX
    if path is not None and prefix:
        # nginx evaluates the range and the validators itself, with its own ETag (it
        # keeps only Content-Type, Content-Disposition, Cache-Control… of this answer).
        accel = HttpResponse(content_type=stored_file.content_type, headers=headers)
        accel["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(stored_file.key)
        return accel

    etag = f'"{stored_file.sha256}"'
    last_modified = int(stored_file.created_at.timestamp())
    headers["ETag"] = etag
    headers["Last-Modified"] = http_date(last_modified)
    probe = HttpResponse(headers=headers)
    conditional = get_conditional_response(
        request, etag=etag, last_modified=last_modified, response=probe
    )
    if conditional is not None and conditional is not probe:
        return conditional
    if path is None:
        return _redirect_to_storage(stored_file, headers)

    headers["Accept-Ranges"] = "bytes"

    size = stored_file.size
    requested = None
    range_header = request.headers.get("Range")
    if range_header and _if_range_matches(request, etag, last_modified):
        try:
            requested = byte_range(range_header, size)
        except RangeNotSatisfiable:
            unsatisfiable = HttpResponse(status=416, headers=headers)
            unsatisfiable["Content-Range"] = f"bytes */{size}"
            return unsatisfiable

    file = open(path, "rb")  # noqa: SIM115 - closed by the response
    if requested is None:
        start, length, status = 0, size, 200
    else:
        start, end = requested
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        file.seek(start)
    response = _FileResponse(
        _Window(file, length),
        status=status,
        content_type=stored_file.content_type,
        headers=headers,
    )
    response["Content-Length"] = str(length)
    return response


def _redirect_to_storage(stored_file: StoredFile, headers: dict[str, str]) -> HttpResponseBase:
    """Object storage serves the bytes (and ranges) itself, through a URL signed for a
    short time; the name and type it answers with are ours."""
    storage = file_storage()
    url = storage.url(  # type: ignore[call-arg]
        stored_file.key,
        parameters={
            "ResponseContentDisposition": headers["Content-Disposition"],
            "ResponseContentType": stored_file.content_type,
        },
        expire=settings.MUTUALIS_FILES_URL_SECONDS,
    )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response
