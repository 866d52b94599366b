"""Accepted-type policies: which files a service takes, decided from the bytes.

A policy names, for each accepted type (as libmagic reads it from the first bytes), the
extensions a file of that type may carry, and the limits of a file and of a set of files
(a consultation's documents). A service registers its policy once and passes its code to
``store_file(policy=…)``::

    register_policy("procurement.answers", types={"application/pdf": {"pdf"}})

Checked, in order, for a file and for every entry of a ZIP archive (``archives.py``):

1. a name ending in an executable's or a script's extension (``.exe``, ``.js``, ``.vbs``…)
   is refused, whatever the bytes are (Windows runs by extension);
2. bytes that start like a program (PE ``MZ``, ELF, Mach-O, a ``#!`` script) or that
   libmagic reads as one are refused, whatever the name says;
3. a type the policy does not list is refused, with the list of what it accepts;
4. a name whose extension is not one of its type's is refused: a PDF named ``.docx`` is
   not what it claims, and the person who opens it would be misled.

Limits left at ``None`` follow the settings (``MUTUALIS_FILES_POLICY_MAX_FILE_BYTES``,
``MUTUALIS_FILES_POLICY_MAX_SET_BYTES``), read when a file is checked.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import errors

# Names that Windows, a desktop or a shell would run when opened: refused by name alone.
EXECUTABLE_EXTENSIONS = frozenset(
    {
        # Windows programs, installers, libraries, shortcuts and shell scripts
        *("exe", "com", "scr", "pif", "cpl", "dll", "sys", "drv", "ocx", "msi", "msp", "mst"),
        *("bat", "cmd", "lnk", "url", "scf", "inf", "reg", "hta", "msc", "gadget", "appx"),
        *("msix", "application", "appref-ms", "chm"),
        # Windows Script Host and PowerShell
        *("js", "jse", "vbs", "vbe", "vb", "wsf", "wsh", "wsc", "ps1", "ps1xml", "ps2"),
        *("psm1", "psd1", "psc1"),
        # Unix, macOS, Java, Android and interpreters
        *("sh", "bash", "zsh", "csh", "ksh", "fish", "command", "run", "bin", "elf", "so"),
        *("dylib", "app", "dmg", "pkg", "deb", "rpm", "appimage", "jar", "class", "apk"),
        *("py", "pyc", "pyw", "pl", "rb", "php", "lua", "tcl", "cgi"),
    }
)
# How programs begin: DOS/PE, ELF, Mach-O (both orders, both widths, universal), scripts.
_EXECUTABLE_HEADS = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
_EXECUTABLE_TYPES = frozenset(
    {
        "application/x-dosexec",
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-pie-executable",
        "application/x-mach-binary",
        "application/x-elf",
        "application/vnd.microsoft.portable-executable",
        "application/x-msdownload",
        "application/java-archive",
        "application/x-java-applet",
        "application/vnd.android.package-archive",
        "text/x-shellscript",
        "text/x-msdos-batch",
        "text/javascript",
        "application/javascript",
    }
)

ZIP_TYPE = "application/zip"
# ZIP containers whose entries are the format's own parts (XML, media): their structure
# is inspected like an archive's (a bomb is a bomb), their entries' types are not.
ZIP_CONTAINER_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)

# What a buyer and a business exchange in a public procurement: documents, spreadsheets,
# plans, photos, and ZIP archives of them. libmagic's reading of each, and the extensions
# that reading allows. Old Office files are OLE containers that libmagic names by their
# application when it can and ``x-ole-storage`` otherwise (``.msi`` installers are OLE
# too, and refused by name). 7-Zip and RAR are not accepted: the standard library cannot
# look inside them, so nothing could check them for traversal names or bombs.
PROCUREMENT_DOCUMENT_TYPES: Mapping[str, Collection[str]] = {
    "application/pdf": {"pdf"},
    "application/msword": {"doc", "dot"},
    "application/vnd.ms-excel": {"xls", "xlt"},
    "application/vnd.ms-powerpoint": {"ppt", "pps", "pot"},
    "application/x-ole-storage": {"doc", "xls", "ppt"},
    "application/CDFV2": {"doc", "xls", "ppt"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {"docx"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"xlsx"},
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": {"pptx"},
    "application/vnd.oasis.opendocument.text": {"odt"},
    "application/vnd.oasis.opendocument.spreadsheet": {"ods"},
    "application/vnd.oasis.opendocument.presentation": {"odp"},
    "text/rtf": {"rtf"},
    # libmagic reads CSV as text/csv only when it is regular; IFC (ISO 10303-21) and DXF
    # written by some tools are plain text.
    "text/plain": {"txt", "csv", "ifc", "dxf"},
    "text/csv": {"csv", "txt"},
    "image/vnd.dwg": {"dwg"},
    "image/vnd.dxf": {"dxf"},
    "image/png": {"png"},
    "image/jpeg": {"jpg", "jpeg"},
    "image/tiff": {"tif", "tiff"},
    ZIP_TYPE: {"zip"},
}
CONSULTATION_DOCUMENTS = "consultation_documents"


@dataclass(frozen=True)
class Policy:
    code: str
    types: Mapping[str, frozenset[str]]
    max_file_bytes: int | None = None
    max_set_bytes: int | None = None
    inspect_archives: bool = True

    def file_limit(self) -> int:
        if self.max_file_bytes is not None:
            return self.max_file_bytes
        return int(settings.MUTUALIS_FILES_POLICY_MAX_FILE_BYTES)

    def set_limit(self) -> int:
        if self.max_set_bytes is not None:
            return self.max_set_bytes
        return int(settings.MUTUALIS_FILES_POLICY_MAX_SET_BYTES)

    def accepted(self) -> str:
        """The accepted extensions, for messages: ``.csv, .doc, .docx…``."""
        return ", ".join(f".{ext}" for ext in sorted(set().union(*self.types.values())))


_registry: dict[str, Policy] = {}


def register_policy(
    code: str,
    *,
    types: Mapping[str, Collection[str]],
    max_file_bytes: int | None = None,
    max_set_bytes: int | None = None,
    inspect_archives: bool = True,
) -> Policy:
    """Declare policy ``code``: each accepted MIME type with its extensions (lower case,
    no dot). Registering the same policy again is harmless; another one under the same
    code is a configuration error."""
    if not types:
        raise ImproperlyConfigured(f"policy {code!r} accepts no type")
    frozen = MappingProxyType(
        {mime: frozenset(ext.lower().lstrip(".") for ext in exts) for mime, exts in types.items()}
    )
    for mime, extensions in frozen.items():
        if mime in _EXECUTABLE_TYPES or extensions & EXECUTABLE_EXTENSIONS:
            raise ImproperlyConfigured(f"policy {code!r} would accept programs ({mime})")
    policy = Policy(
        code=code,
        types=frozen,
        max_file_bytes=max_file_bytes,
        max_set_bytes=max_set_bytes,
        inspect_archives=inspect_archives,
    )
    existing = _registry.get(code)
    if existing is not None and existing != policy:
        raise ImproperlyConfigured(f"policy {code!r} is already registered")
    _registry[code] = policy
    return policy


def unregister_policy(code: str) -> None:
    """Forget a policy (for tests that register one of their own)."""
    _registry.pop(code, None)


def get_policy(code: str) -> Policy:
    try:
        return _registry[code]
    except KeyError:
        raise ValueError(f"file policy {code!r} is not registered") from None


def extension_of(name: str) -> str:
    """The last extension of ``name``, lower case, without the dot ("" when none)."""
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def is_executable(head: bytes, content_type: str) -> bool:
    return (
        head.startswith(_EXECUTABLE_HEADS)
        or content_type in _EXECUTABLE_TYPES
        or (content_type.startswith("text/x-script"))
    )


def check_type(policy: Policy, *, name: str, head: bytes, content_type: str) -> None:
    """Refuse (``errors.FileTypeNotAllowed`` subclasses) a file named ``name`` whose first
    bytes are ``head`` and whose type libmagic read as ``content_type``."""
    extension = extension_of(name)
    if extension in EXECUTABLE_EXTENSIONS or is_executable(head, content_type):
        raise errors.FileExecutable(name=name)
    extensions = policy.types.get(content_type)
    if extensions is None:
        raise errors.FileTypeRefused(name=name, accepted=policy.accepted())
    if extension not in extensions:
        raise errors.FileNameContradictsType(
            name=name,
            extension=f".{extension}" if extension else "",
            expected=", ".join(f".{ext}" for ext in sorted(extensions)),
        )


def check_set_size(policy: Policy, *, set_bytes: int, adding: int) -> None:
    """Refuse adding ``adding`` bytes to a set that already holds ``set_bytes``."""
    limit = policy.set_limit()
    if set_bytes + adding > limit:
        raise errors.FileSetTooLarge(limit=limit)


register_policy(CONSULTATION_DOCUMENTS, types=PROCUREMENT_DOCUMENT_TYPES)
