"""The type of a file read from its first bytes."""

from __future__ import annotations

import gzip
import random

from mutualis.core.files.sniff import sniff_content_type


def _bytes(count: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(count)


def test_a_gzip_stream_whose_bytes_look_like_a_boot_sector_is_gzip():
    """One gzip stream in 65,536 has 55 AA at offset 510, the signature libmagic reads
    as a DOS boot sector: an act's transmission package was refused for it."""
    stream = bytearray(gzip.compress(_bytes(2000, 1), mtime=0))
    stream[510:512] = b"\x55\xaa"

    assert sniff_content_type(bytes(stream)) == "application/gzip"


def test_a_boot_sector_that_is_not_gzip_stays_unknown():
    sector = bytearray(_bytes(512, 2))
    sector[:3] = b"\xeb\x3c\x90"
    sector[510:512] = b"\x55\xaa"

    assert sniff_content_type(bytes(sector)) == "application/octet-stream"


def test_a_plain_gzip_stream_is_gzip():
    assert sniff_content_type(gzip.compress(b"x" * 3000, mtime=0)) == "application/gzip"
