"""The type of a file, read from its first bytes by libmagic (Debian's libmagic1)."""

from __future__ import annotations

import magic

# libmagic recognises every accepted format from its first bytes; office documents (ZIP
# containers) need the names of the first members, within the first few KiB.
SNIFF_BYTES = 64 * 1024


def sniff_content_type(head: bytes) -> str:
    """The MIME type libmagic reads from the first bytes of a file."""
    return str(magic.from_buffer(head, mime=True))
