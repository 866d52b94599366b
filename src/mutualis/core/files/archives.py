"""Looking inside a ZIP archive before it is stored, without extracting anything.

``zipfile`` reads the central directory (the list at the end of the archive) first: names,
flags and declared sizes are judged before a byte is decompressed. Then every entry is
streamed through the decompressor in bounded reads, counted and checked against its
CRC, and its first bytes typed with libmagic against the same policy as a file sent on
its own. Nothing is written to disk and memory stays within a few reads.

Refused (``errors.ArchiveRefused`` subclasses, each message naming the entry):

- names that would escape the folder they are extracted into, or mislead: absolute
  (``/etc/x``), ``..`` parts, backslashes (a separator on Windows), drive letters
  (``C:``), control and format characters (NUL truncates names in C, bidi overrides
  disguise extensions). ``ZipInfo.orig_filename`` is judged, since ``zipfile`` cuts a
  name at its first NUL;
- symbolic links (a later entry written "through" the link lands anywhere);
- encrypted entries: what cannot be read cannot be checked;
- more entries than ``max_entries`` (every level counted), a declared or actual
  uncompressed total over ``max_uncompressed_bytes`` (every level counted), an entry or
  the whole archive expanding more than ``max_ratio`` times (entries under
  ``RATIO_FLOOR`` are not judged by their ratio: a small run of blanks compresses 300:1
  and harms nobody);
- a ZIP inside a ZIP deeper than ``max_depth`` levels (the archive sent is level 1);
- entries of a type the policy does not accept, executables, names contradicting types.

Office documents in ZIP containers (``.docx``, ``.odt``…) have their structure checked the
same way, not their parts' types (XML and media by design).
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from django.conf import settings

from . import errors
from .policies import (
    EXECUTABLE_EXTENSIONS,
    ZIP_CONTAINER_TYPES,
    ZIP_TYPE,
    Policy,
    check_type,
    extension_of,
)
from .sniff import SNIFF_BYTES, sniff_content_type

READ_BYTES = 1024 * 1024
RATIO_FLOOR = 1024 * 1024
# Bit 0: traditional PKWARE encryption; bit 6: strong encryption.
_ENCRYPTED_FLAGS = 0x01 | 0x40
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_ratio: int
    max_depth: int

    @classmethod
    def from_settings(cls) -> ArchiveLimits:
        return cls(
            max_entries=settings.MUTUALIS_ARCHIVE_MAX_ENTRIES,
            max_uncompressed_bytes=settings.MUTUALIS_ARCHIVE_MAX_UNCOMPRESSED_BYTES,
            max_ratio=settings.MUTUALIS_ARCHIVE_MAX_RATIO,
            max_depth=settings.MUTUALIS_ARCHIVE_MAX_DEPTH,
        )


@dataclass
class ArchiveSummary:
    """What an inspection went through: entries (directories included) and the bytes
    they decompressed to, every level counted."""

    entries: int = 0
    uncompressed_bytes: int = 0


def shown(name: str) -> str:
    """A name as a message can show it: characters that do not print, escaped."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)


def is_unsafe_name(name: str) -> bool:
    if not name or "\\" in name or name.startswith("/") or _DRIVE.match(name):
        return True
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return True
    return ".." in name.split("/")


def inspect_zip(
    file: IO[bytes],
    *,
    name: str,
    policy: Policy | None,
    limits: ArchiveLimits | None = None,
) -> ArchiveSummary:
    """Inspect the ZIP archive ``file`` (seekable) called ``name``; raise an
    ``errors.ArchiveRefused`` or ``errors.FileTypeNotAllowed`` at the first problem.
    ``policy`` None checks the structure only (office containers)."""
    inspection = _Inspection(
        top=name, policy=policy, limits=limits or ArchiveLimits.from_settings()
    )
    position = file.tell()
    try:
        inspection.archive(file, label=name, depth=1, containers_only=policy is None)
    finally:
        file.seek(position)
    return inspection.summary


@dataclass
class _Inspection:
    top: str
    policy: Policy | None
    limits: ArchiveLimits

    def __post_init__(self) -> None:
        self.summary = ArchiveSummary()

    def archive(self, file: IO[bytes], *, label: str, depth: int, containers_only: bool) -> None:
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
            raise errors.ArchiveDamaged(name=label) from None
        with archive:
            infos = archive.infolist()
            self._judge_directory(infos, label=label)
            for info in infos:
                if info.is_dir():
                    continue
                head = self._stream(archive, info, label=label)
                if containers_only:
                    continue
                if not head:
                    # An empty file has no type to read; its name may still be a program's.
                    entry_name = info.filename.rsplit("/", 1)[-1]
                    if extension_of(entry_name) in EXECUTABLE_EXTENSIONS:
                        raise errors.FileExecutable(name=entry_name)
                    continue
                self._judge_entry(archive, info, head, label=label, depth=depth)

    def _judge_directory(self, infos: list[zipfile.ZipInfo], *, label: str) -> None:
        """What the central directory declares, before anything is decompressed."""
        limits = self.limits
        self.summary.entries += len(infos)
        if self.summary.entries > limits.max_entries:
            raise errors.ArchiveTooManyEntries(name=label, limit=limits.max_entries)
        declared = compressed = 0
        for info in infos:
            entry = shown(info.orig_filename)
            if is_unsafe_name(info.orig_filename):
                raise errors.ArchiveUnsafeName(name=label, entry=entry)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise errors.ArchiveSymlink(name=label, entry=entry)
            if info.flag_bits & _ENCRYPTED_FLAGS:
                raise errors.ArchiveEncrypted(name=label, entry=entry)
            if _expands_too_much(info.file_size, info.compress_size, limits.max_ratio):
                raise errors.ArchiveRatioTooHigh(name=label, entry=entry, limit=limits.max_ratio)
            declared += info.file_size
            compressed += info.compress_size
        if self.summary.uncompressed_bytes + declared > limits.max_uncompressed_bytes:
            raise errors.ArchiveTooLarge(name=self.top, limit=limits.max_uncompressed_bytes)
        if _expands_too_much(declared, compressed, limits.max_ratio):
            raise errors.ArchiveRatioTooHigh(name=label, entry=label, limit=limits.max_ratio)

    def _stream(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, label: str) -> bytes:
        """Decompress the entry in bounded reads (zipfile checks its CRC at the end);
        its first bytes, to type it."""
        head = b""
        limit = self.limits.max_uncompressed_bytes
        try:
            with archive.open(info) as entry:
                while data := entry.read(READ_BYTES):
                    if len(head) < SNIFF_BYTES:
                        head += data[: SNIFF_BYTES - len(head)]
                    self.summary.uncompressed_bytes += len(data)
                    if self.summary.uncompressed_bytes > limit:
                        raise errors.ArchiveTooLarge(name=self.top, limit=limit)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
            raise errors.ArchiveDamaged(name=label) from None
        return head

    def _judge_entry(
        self,
        archive: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        head: bytes,
        *,
        label: str,
        depth: int,
    ) -> None:
        if self.policy is None:
            return
        entry_name = info.filename.rsplit("/", 1)[-1]
        content_type = sniff_content_type(head)
        check_type(self.policy, name=entry_name, head=head, content_type=content_type)
        nested = content_type == ZIP_TYPE
        if not nested and content_type not in ZIP_CONTAINER_TYPES:
            return
        inner_label = f"{label} / {shown(info.filename)}"
        if nested and depth >= self.limits.max_depth:
            raise errors.ArchiveTooDeep(
                name=self.top, entry=inner_label, limit=self.limits.max_depth
            )
        # ZipExtFile seeks by decompressing again from the entry's start: the inner
        # central directory is read without the entry ever being held whole.
        with archive.open(info) as inner:
            self.archive(inner, label=inner_label, depth=depth + 1, containers_only=not nested)


def _expands_too_much(uncompressed: int, compressed: int, ratio: int) -> bool:
    return uncompressed > RATIO_FLOOR and uncompressed > ratio * max(compressed, 1)
