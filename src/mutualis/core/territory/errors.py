"""Errors of the territory import: each names the file, the position or the record."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.utils.translation import gettext as _

from mutualis.core.errors import MutualisError, TerritoryFileError

# --- Errors ----------------------------------------------------------------------------


class TerritoryFileMissing(TerritoryFileError):
    code = "territory_file_missing"

    def __init__(self, *, file_name: str, directory: Path) -> None:
        self.file_name = file_name
        self.directory = directory
        super().__init__(
            _("%(file)s is missing from %(directory)s.")
            % {"file": file_name, "directory": directory}
        )


class TerritoryFileMalformed(TerritoryFileError):
    """The file is not JSON (truncated download, wrong encoding): where parsing stopped."""

    code = "territory_file_malformed"

    def __init__(self, *, file_name: str, line: int, column: int, offset: int, reason: str) -> None:
        self.file_name = file_name
        self.line = line
        self.column = column
        self.offset = offset
        super().__init__(
            _(
                "%(file)s is not valid JSON at line %(line)d, column %(column)d "
                "(character %(offset)d): %(reason)s."
            )
            % {
                "file": file_name,
                "line": line,
                "column": column,
                "offset": offset,
                "reason": reason,
            }
        )


class TerritoryRecordInvalid(TerritoryFileError):
    """A record does not have the upstream shape: which file, record and field."""

    code = "territory_record_invalid"

    def __init__(
        self,
        *,
        file_name: str,
        index: int | None,
        field: str | None,
        reason: str,
        record_code: str | None = None,
    ) -> None:
        self.file_name = file_name
        self.index = index
        self.record_code = record_code
        if index is None:
            location = file_name
        else:
            location = _("%(file)s, record at index %(index)d") % {
                "file": file_name,
                "index": index,
            }
        if record_code:
            location = _("%(location)s (code %(code)s)") % {
                "location": location,
                "code": record_code,
            }
        if field:
            location = _('%(location)s, field "%(field)s"') % {
                "location": location,
                "field": field,
            }
        super().__init__(
            _("%(location)s: %(reason)s.") % {"location": location, "reason": reason},
            field=field,
        )


class UnknownTerritoryFilter(MutualisError):
    code = "territory_filter_unknown"

    def __init__(self, *, option: str, codes: Iterable[str]) -> None:
        super().__init__(
            _("No %(option)s with the code(s) %(codes)s in the territory files.")
            % {"option": option, "codes": ", ".join(sorted(codes))},
            field=option,
        )


class TerritorySirenConflict(MutualisError):
    """A SIREN of the files belongs to another imported organisation in the database."""

    code = "territory_siren_conflict"

    def __init__(self, *, source_key: str, siren: str, holder: str) -> None:
        super().__init__(
            _(
                "%(key)s has the SIREN %(siren)s, which organisation %(holder)s already "
                "holds: correct that organisation first."
            )
            % {"key": source_key, "siren": siren, "holder": holder},
            field="siren",
        )
