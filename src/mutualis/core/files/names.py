"""File names as people give them, made safe to keep, show and offer back.

The name is never a path on disk (the store keys files by a random identifier); it is
shown in pages and sent in ``Content-Disposition``. So it must not carry a directory,
control characters that break a header or a log line, or bidirectional controls that
make ``invoice‮fdp.exe`` read as ``invoiceexe.pdf``.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import FileNameRequired

MAX_NAME_LENGTH = 200
# The extension survives truncation when it is this short or shorter.
MAX_EXTENSION_LENGTH = 16

_PATH_SEPARATORS = re.compile(r"[/\\]")


def sanitise_name(name: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """The name to keep for display: NFC, last path part only, no control, format
    (bidi, zero-width) or unassigned characters, spaces collapsed, no leading or trailing
    dots, at most ``max_length`` characters with the extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = _PATH_SEPARATORS.split(name)[-1]
    # Category C: Cc controls, Cf format (bidi overrides and isolates, zero-width
    # joiners, BOM), Cs lone surrogates, Co private use, Cn unassigned.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    # Every Unicode space (no-break, ideographic…) becomes one plain space.
    name = " ".join(name.split())
    # A leading dot hides a file once saved; trailing dots and spaces are dropped by
    # Windows; "." and ".." mean directories.
    name = name.strip(" .")
    if not name:
        raise FileNameRequired()
    if len(name) > max_length:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= MAX_EXTENSION_LENGTH:
            keep = max_length - len(extension) - 1
            name = f"{stem[:keep].rstrip(' .')}.{extension}"
        else:
            name = name[:max_length].rstrip(" .")
    return name
