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
