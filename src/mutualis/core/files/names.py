"""File names as people give them, made safe to keep, show and offer back.

The name is never a path on disk (the store keys files by a random identifier); it is
shown in pages and sent in ``Content-Disposition``. So it must not carry a directory,
control characters that break a header or a log line, or bidirectional controls that
make ``invoice‮fdp.exe`` read as ``invoiceexe.pdf``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .errors import FileNameRequired

MAX_NAME_LENGTH = 200
# The extension survives truncation when it is this short or shorter.
MAX_EXTENSION_LENGTH = 16

_PATH_SEPARATORS = re.compile(r"[/\\]")
# Characters Windows refuses in a file name (a colon would also read as a drive letter).
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
# Device names Windows will not extract a file under, whatever the extension.
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10))}
    | {f"LPT{n}" for n in range(1, 10)}
)


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


def unique_names(paths: Iterable[str]) -> list[str]:
    """Safe, distinct entry names for an archive, in the order given.

    Each path is split on slashes and backslashes; every part is sanitised like a file
    name (so no ``..``, no absolute path, no control character survives) and the
    characters Windows refuses become ``_`` (its device names, ``CON.pdf``, get a leading
    ``_``); the parts are joined with ``/``. Names that collide once case and Unicode
    form are ignored (as on Windows and macOS, where the second would overwrite the
    first) get `` (2)``, `` (3)``… before their extension.
    """
    taken: set[str] = set()
    result = []
    for path in paths:
        parts = [part for part in _PATH_SEPARATORS.split(path or "") if part.strip(" .")]
        if not parts:
            raise FileNameRequired()
        safe = "/".join(_portable(part) for part in parts)
        candidate, number = safe, 1
        while _folded(candidate) in taken:
            number += 1
            folder, slash, leaf = safe.rpartition("/")
            stem, dot, extension = leaf.rpartition(".")
            if not dot or not stem:
                stem, extension = leaf, ""
            leaf = f"{stem} ({number}){'.' if extension else ''}{extension}"
            candidate = f"{folder}{slash}{leaf}"
        taken.add(_folded(candidate))
        result.append(candidate)
    return result


def _portable(part: str) -> str:
    part = _WINDOWS_FORBIDDEN.sub("_", sanitise_name(part))
    if part.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        part = f"_{part}"
    return part


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()
