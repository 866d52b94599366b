"""Refused uploads: a stable ``code`` and a translated ``message``, shown on ``field``."""

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class FileRefused(MutualisError):
    code = "file_refused"
    field_name = "file"
    message = _("The file was refused.")


class FileEmpty(FileRefused):
    code = "file_empty"
    message = _("The file is empty.")


class FileTooLarge(FileRefused):
    code = "file_too_large"
    message = _("The file is too large.")

    def __init__(self, *, limit: int | None = None, field: str | None = None) -> None:
        message = None
        if limit is not None:
            message = _("The file is too large: at most %(limit)s.") % {
                "limit": filesizeformat(limit)
            }
        super().__init__(message, field=field)


class FileTypeNotAllowed(FileRefused):
    code = "file_type_not_allowed"
    message = _("This type of file is not accepted here.")


class FileNameRequired(FileRefused):
    code = "file_name_required"
    message = _("The file has no usable name.")


# --- Accepted-type policies (policies.py) ----------------------------------------------


class FileTypeRefused(FileTypeNotAllowed):
    """The bytes are of a type the policy does not accept; the message lists what it
    accepts, so that the person knows what to export the document as."""

    def __init__(self, *, name: str, accepted: str, field: str | None = None) -> None:
        super().__init__(
            _(
                "“%(name)s” is not of an accepted type. Accepted: %(accepted)s. Export the "
                "document in one of these formats (PDF is always accepted), or put it in a "
                "ZIP archive if it is of another kind."
            )
            % {"name": name, "accepted": accepted},
            field=field,
        )


class FileExecutable(FileTypeNotAllowed):
    code = "file_executable"

    def __init__(self, *, name: str, field: str | None = None) -> None:
        super().__init__(
            _(
                "“%(name)s” is a program or a script (by its content or its name), which "
                "cannot be deposited here, even inside an archive. Send documents only (PDF, "
                "office documents, plans, images)."
            )
            % {"name": name},
            field=field,
        )


class FileNameContradictsType(FileTypeNotAllowed):
    code = "file_name_contradicts_type"

    def __init__(
        self, *, name: str, extension: str, expected: str, field: str | None = None
    ) -> None:
        super().__init__(
            _(
                "The name of “%(name)s” ends in “%(extension)s”, but its content is of "
                "another type, whose names end in %(expected)s. Rename the file with the right "
                "extension, or export the document again in the format its name says."
            )
            % {"name": name, "extension": extension or "…", "expected": expected},
            field=field,
        )


class FileSetTooLarge(FileRefused):
    code = "file_set_too_large"

    def __init__(self, *, limit: int, field: str | None = None) -> None:
        super().__init__(
            _(
                "Together, the files would exceed %(limit)s. Remove files that are no longer "
                "needed, or compress large plans before adding them."
            )
            % {"limit": filesizeformat(limit)},
            field=field,
        )


# --- Archives (archives.py) ------------------------------------------------------------


class ArchiveRefused(FileRefused):
    code = "archive_refused"
    message = _("The archive was refused.")


class ArchiveDamaged(ArchiveRefused):
    code = "archive_damaged"

    def __init__(self, *, name: str, field: str | None = None) -> None:
        super().__init__(
            _(
                "The archive “%(name)s” is damaged and cannot be read. Create it again "
                "(a standard ZIP file) and send it anew."
            )
            % {"name": name},
            field=field,
        )


class ArchiveUnsafeName(ArchiveRefused):
    code = "archive_unsafe_name"

    def __init__(self, *, name: str, entry: str, field: str | None = None) -> None:
        super().__init__(
            _(
                "The archive “%(name)s” contains an entry named “%(entry)s”, which points "
                "outside the archive's folder or holds forbidden characters (absolute path, "
                "“..”, backslash, drive letter, control character). Rename it and create the "
                "archive again."
            )
            % {"name": name, "entry": entry},
            field=field,
        )


class ArchiveSymlink(ArchiveRefused):
    code = "archive_symlink"

    def __init__(self, *, name: str, entry: str, field: str | None = None) -> None:
        super().__init__(
            _(
                "The archive “%(name)s” contains a symbolic link (“%(entry)s”). Put the file "
                "itself in the archive instead of a link to it."
            )
            % {"name": name, "entry": entry},
            field=field,
        )


class ArchiveEncrypted(ArchiveRefused):
    code = "archive_encrypted"

    def __init__(self, *, name: str, entry: str, field: str | None = None) -> None:
        super().__init__(
            _(
                "The archive “%(name)s” is protected by a password (“%(entry)s” is "
                "encrypted): its content cannot be checked. Create the archive without a "
                "password."
            )
            % {"name": name, "entry": entry},
            field=field,
        )


class ArchiveTooManyEntries(ArchiveRefused):
    code = "archive_too_many_entries"

    def __init__(self, *, name: str, limit: int, field: str | None = None) -> None:
        super().__init__(
            _(
                "The archive “%(name)s” holds more than %(limit)d files and folders. Split it "
                "into several archives."
            )
            % {"name": name, "limit": limit},
            field=field,
        )


class ArchiveTooLarge(ArchiveRefused):
    code = "archive_too_large"

    def __init__(self, *, name: str, limit: int, field: str | None = None) -> None:
        super().__init__(
            _(
                "Once uncompressed, the archive “%(name)s” would take more than %(limit)s. "
                "Split it into several archives."
            )
            % {"name": name, "limit": filesizeformat(limit)},
            field=field,
        )


class ArchiveRatioTooHigh(ArchiveRefused):
    code = "archive_ratio_too_high"

    def __init__(self, *, name: str, entry: str, limit: int, field: str | None = None) -> None:
        super().__init__(
            _(
                "In the archive “%(name)s”, “%(entry)s” expands more than %(limit)d times its "
                "compressed size, as archives built to saturate servers do. Send the file "
                "without compressing it, or in another format."
            )
            % {"name": name, "entry": entry, "limit": limit},
            field=field,
        )


class ArchiveTooDeep(ArchiveRefused):
    code = "archive_too_deep"

    def __init__(self, *, name: str, entry: str, limit: int, field: str | None = None) -> None:
        super().__init__(
            _(
                "The archive “%(name)s” holds archives inside archives more than %(limit)d "
                "levels deep (“%(entry)s”). Put the files in a single archive."
            )
            % {"name": name, "entry": entry, "limit": limit},
            field=field,
        )
