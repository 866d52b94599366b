"""The type of a file, read from its first bytes by libmagic (Debian's libmagic1)."""

from __future__ import annotations

import magic

# libmagic recognises every accepted format from its first bytes; office documents (ZIP
# containers) need the names of the first members, within the first few KiB.
SNIFF_BYTES = 64 * 1024

# A gzip stream: its magic number and the deflate method (RFC 1952).
GZIP_HEAD = b"\x1f\x8b\x08"
# A stream's bytes look random: one gzip file in 65,536 has 55 AA at offset 510, the
# signature of a DOS boot sector, a test libmagic ranks above the two-byte gzip magic
# number ("DOS/MBR boot sector", application/octet-stream). Seen on an act's own
# transmission package, which the store then refused as a type not allowed.
BOOT_SECTOR_SIGNATURE = (510, b"\x55\xaa")


def sniff_content_type(head: bytes) -> str:
    """The MIME type libmagic reads from the first bytes of a file."""
    content_type = str(magic.from_buffer(head, mime=True))
    offset, signature = BOOT_SECTOR_SIGNATURE
    if (
        content_type == "application/octet-stream"
        and head.startswith(GZIP_HEAD)
        and head[offset : offset + len(signature)] == signature
    ):
        return "application/gzip"
    return content_type
