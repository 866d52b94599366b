"""Import of the French administrative territory from Etalab's "découpage administratif".

The operator onboards the public bodies of a territory from the upstream files of the
npm package ``@etalab/decoupage-administratif`` (``communes.json``, ``epci.json``,
``departements.json``, ``regions.json``), unchanged: the format is Etalab's, so a new
release is dropped in as it comes.

The import runs in two phases. ``read_territory`` parses and validates every record of
the four files without touching the database, so that a truncated download or a
malformed record stops the run before anything is written. ``import_territory`` then
upserts the selected organisations by ``source_key`` inside one transaction, with one
platform audit event, so that a run is applied whole or not at all.

Choices the data leaves open:

- Only current communes (``type == "commune-actuelle"``) are imported; the overseas
  collectivities outside départements (zone ``com``) are left out everywhere.
- An EPCI's population is its ``populationMunicipale``, the same INSEE measure as the
  communes' ``population``, so that figures add up without the people "counted apart".
- A département's or région's population is the sum of the populations of all its
  current communes in the files, whatever the filters: a partial import never writes a
  partial figure, and importing one département after the whole région changes nothing.
- Départements and régions carry no SIREN upstream: the import never writes theirs, so
  that a SIREN the operator entered by hand survives re-imports.
- A slug is set once, at creation, and never changed, so public addresses stay stable.
- A row created by hand with the SIREN of a commune or EPCI (and no ``source_key``) is
  adopted by the import rather than duplicated.
- Rows that disappear upstream (a commune merged into a new one) are left alone: they
  may carry a membership and its history, which only the operator can wind up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from stdnum.fr import siren as stdnum_siren

from . import audit
from .errors import MutualisError, TerritoryFileError
from .models import Organisation, OrganisationKind

REGIONS_FILE = "regions.json"
DEPARTEMENTS_FILE = "departements.json"
EPCI_FILE = "epci.json"
COMMUNES_FILE = "communes.json"
# Read in this order; all four are parsed and validated before any write.
FILES = (REGIONS_FILE, DEPARTEMENTS_FILE, EPCI_FILE, COMMUNES_FILE)

CURRENT_COMMUNE = "commune-actuelle"
# Overseas collectivities outside départements: not members of a French grouping.
EXCLUDED_ZONE = "com"

EPCI_KINDS: dict[str, str] = {
    "CC": OrganisationKind.EPCI_CC.value,
    "CA": OrganisationKind.EPCI_CA.value,
    "CU": OrganisationKind.EPCI_CU.value,
    "METRO": OrganisationKind.EPCI_METRO.value,
    "MET69": OrganisationKind.METROPOLE_LYON.value,
}

# Kinds in the order they are written: each level's foreign keys point to earlier ones.
LEVELS: tuple[str, ...] = ("region", "departement", "epci", "commune")
KIND_ORDER: tuple[str, ...] = tuple(
    kind.value
    for kind in (
        OrganisationKind.REGION,
        OrganisationKind.DEPARTEMENT,
        OrganisationKind.EPCI_CC,
        OrganisationKind.EPCI_CA,
        OrganisationKind.EPCI_CU,
        OrganisationKind.EPCI_METRO,
        OrganisationKind.METROPOLE_LYON,
        OrganisationKind.COMMUNE,
    )
)

COMMUNE_CODE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")
DEPARTEMENT_CODE = re.compile(r"^(?:\d{2,3}|2[AB])$")
REGION_CODE = re.compile(r"^\d{2,3}$")

NAME_MAX_LENGTH = Organisation._meta.get_field("name").max_length or 200
POPULATION_MAX = 2_147_483_647  # PositiveIntegerField on every backend
SLUG_NAME_MAX_LENGTH = 80  # leaves room for the code and a de-duplication suffix
# Apostrophes separate words ("Côte-d'Or" → "cote-d-or"); ligatures have no Unicode
# decomposition, so slugify would drop them ("Œuilly" → "uilly").
SLUG_REPLACEMENTS = str.maketrans(
    {"'": " ", "\u2019": " ", "œ": "oe", "Œ": "Oe", "æ": "ae", "Æ": "Ae"}
)

BATCH_SIZE = 1000
# Fixed key of the PostgreSQL advisory lock that serialises imports ("territor").
IMPORT_LOCK_KEY = 0x7465727269746F72
ACTOR = audit.SystemActor("import_territory")


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


# --- Parsed records --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RegionRecord:
    code: str
    name: str


@dataclasses.dataclass(frozen=True)
class DepartementRecord:
    code: str
    name: str
    region: str


@dataclasses.dataclass(frozen=True)
class EpciRecord:
    siren: str
    name: str
    kind: str
    population: int | None
    members: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class CommuneRecord:
    code: str
    name: str
    siren: str
    departement: str
    region: str
    population: int | None


@dataclasses.dataclass
class TerritoryData:
    """The validated content of the four files, keyed by code (SIREN for EPCI)."""

    regions: dict[str, RegionRecord]
    departements: dict[str, DepartementRecord]
    epcis: dict[str, EpciRecord]
    communes: dict[str, CommuneRecord]
    epci_of_commune: dict[str, str]
    digests: dict[str, str]

    def population_by(self, attribute: str) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for commune in self.communes.values():
            totals[getattr(commune, attribute)] += commune.population or 0
        return dict(totals)


@dataclasses.dataclass(frozen=True)
class Selection:
    """Codes to import: a subset of ``TerritoryData`` closed over its references."""

    regions: frozenset[str]
    departements: frozenset[str]
    epcis: frozenset[str]
    communes: frozenset[str]
    filters: dict[str, list[str]]


@dataclasses.dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclasses.dataclass
class ImportReport:
    counts: dict[str, KindCounts]
    files: dict[str, str]
    filters: dict[str, list[str]]

    def totals(self) -> KindCounts:
        total = KindCounts()
        for c in self.counts.values():
            total.created += c.created
            total.updated += c.updated
            total.unchanged += c.unchanged
        return total

    def as_payload(self) -> dict[str, Any]:
        return {
            "counts": {kind: dataclasses.asdict(c) for kind, c in self.counts.items()},
            "files": self.files,
            "filters": self.filters,
        }


# --- Reading and validation ------------------------------------------------------------


def _load_json(path: Path, file_name: str) -> tuple[list[Any], str]:
    """Parse a file once; its SHA-256 comes from the same bytes."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise TerritoryFileMalformed(
            file_name=file_name,
            line=line,
            column=column,
            offset=exc.start,
            reason=_("not UTF-8 text"),
        ) from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TerritoryFileMalformed(
            file_name=file_name,
            line=exc.lineno,
            column=exc.colno,
            offset=exc.pos,
            reason=exc.msg,
        ) from exc
    if not isinstance(value, list):
        raise TerritoryRecordInvalid(
            file_name=file_name,
            index=None,
            field=None,
            reason=_("expected a JSON array of records at the top level"),
        )
    return value, digest


class _Fields:
    """Typed access to one record's fields; errors name the file, the record and the field."""

    def __init__(self, file_name: str, index: int, record: Any) -> None:
        self.file_name = file_name
        self.index = index
        if not isinstance(record, dict):
            raise TerritoryRecordInvalid(
                file_name=file_name, index=index, field=None, reason=_("expected a JSON object")
            )
        self.record = record
        code = record.get("code")
        self.code = code if isinstance(code, str) else None

    def fail(self, field: str | None, reason: str) -> TerritoryRecordInvalid:
        return TerritoryRecordInvalid(
            file_name=self.file_name,
            index=self.index,
            field=field,
            reason=reason,
            record_code=self.code,
        )

    def text(
        self, field: str, *, pattern: re.Pattern[str] | None = None, max_length: int = 200
    ) -> str:
        value = self.record.get(field)
        if value is None:
            raise self.fail(field, _("missing"))
        if not isinstance(value, str):
            raise self.fail(field, _("expected a string"))
        value = value.strip()
        if not value:
            raise self.fail(field, _("empty"))
        if len(value) > max_length:
            raise self.fail(field, _("longer than %(max)d characters") % {"max": max_length})
        if pattern is not None and not pattern.match(value):
            raise self.fail(field, _('"%(value)s" is not a valid code') % {"value": value})
        return value

    def population(self, field: str) -> int | None:
        """A head count, or None when the upstream record has none."""
        value = self.record.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, _("expected a whole number"))
        if not 0 <= value <= POPULATION_MAX:
            raise self.fail(field, _("%(value)d is out of range") % {"value": value})
        return value

    def siren(self, field: str) -> str:
        value = self.text(field, max_length=9)
        if not stdnum_siren.is_valid(value):
            raise self.fail(
                field,
                _('"%(value)s" is not a valid SIREN number (9 digits with a valid check digit)')
                % {"value": value},
            )
        return value

    def members(self, field: str) -> tuple[str, ...]:
        value = self.record.get(field)
        if not isinstance(value, list):
            raise self.fail(field, _("expected a JSON array"))
        codes = []
        for position, member in enumerate(value):
            where = f"{field}[{position}]"
            if not isinstance(member, dict):
                raise self.fail(where, _("expected a JSON object"))
            code = member.get("code")
            if not isinstance(code, str) or not COMMUNE_CODE.match(code):
                raise self.fail(f"{where}.code", _("expected a commune code"))
            codes.append(code)
        return tuple(codes)


def _records(file_name: str, values: list[Any]) -> Iterator[_Fields]:
    for index, record in enumerate(values):
        yield _Fields(file_name, index, record)


def _check_unique(fields: _Fields, field: str, value: str, seen: dict[str, int]) -> None:
    if value in seen:
        raise fields.fail(
            field,
            _("%(value)s already appears at index %(other)d")
            % {"value": value, "other": seen[value]},
        )
    seen[value] = fields.index


def read_territory(source: Path) -> TerritoryData:
    """Parse and validate the four files of ``source``; nothing is written.

    Every record is checked, not only those a filter selects, so that a run on one
    région also tells the operator that the files as a whole are sound.
    """
    source = Path(source)
    for file_name in FILES:
        if not (source / file_name).is_file():
            raise TerritoryFileMissing(file_name=file_name, directory=source)
    loaded: dict[str, list[Any]] = {}
    digests: dict[str, str] = {}
    for file_name in FILES:
        loaded[file_name], digests[file_name] = _load_json(source / file_name, file_name)

    regions = _read_regions(loaded[REGIONS_FILE])
    departements = _read_departements(loaded[DEPARTEMENTS_FILE], regions)
    epcis = _read_epcis(loaded[EPCI_FILE])
    communes = _read_communes(loaded[COMMUNES_FILE], departements, epcis)
    epci_of_commune = _epci_of_commune(loaded[EPCI_FILE], epcis)
    return TerritoryData(
        regions=regions,
        departements=departements,
        epcis=epcis,
        communes=communes,
        epci_of_commune=epci_of_commune,
        digests=digests,
    )


def _kept(fields: _Fields) -> bool:
    return fields.text("zone", max_length=20) != EXCLUDED_ZONE


def _read_regions(values: list[Any]) -> dict[str, RegionRecord]:
    regions: dict[str, RegionRecord] = {}
    seen: dict[str, int] = {}
    for f in _records(REGIONS_FILE, values):
        code = f.text("code", max_length=5)
        name = f.text("nom", max_length=NAME_MAX_LENGTH)
        _check_unique(f, "code", code, seen)
        if _kept(f):
            f.text("code", pattern=REGION_CODE)
            regions[code] = RegionRecord(code=code, name=name)
    return regions


def _read_departements(
    values: list[Any], regions: dict[str, RegionRecord]
) -> dict[str, DepartementRecord]:
    departements: dict[str, DepartementRecord] = {}
    seen: dict[str, int] = {}
    for f in _records(DEPARTEMENTS_FILE, values):
        code = f.text("code", max_length=5)
        name = f.text("nom", max_length=NAME_MAX_LENGTH)
        _check_unique(f, "code", code, seen)
        if _kept(f):
            f.text("code", pattern=DEPARTEMENT_CODE)
            region = f.text("region", pattern=REGION_CODE)
            if region not in regions:
                raise f.fail(
                    "region",
                    _("région %(code)s is not in %(file)s")
                    % {"code": region, "file": REGIONS_FILE},
                )
            departements[code] = DepartementRecord(code=code, name=name, region=region)
    return departements


def _read_epcis(values: list[Any]) -> dict[str, EpciRecord]:
    epcis: dict[str, EpciRecord] = {}
    for f in _records(EPCI_FILE, values):
        siren = f.siren("code")
        name = f.text("nom", max_length=NAME_MAX_LENGTH)
        kind_code = f.text("type", max_length=10)
        if kind_code not in EPCI_KINDS:
            raise f.fail(
                "type",
                _('unknown EPCI type "%(value)s" (expected one of %(expected)s)')
                % {"value": kind_code, "expected": ", ".join(EPCI_KINDS)},
            )
        if siren in epcis:
            raise f.fail("code", _("%(value)s appears twice") % {"value": siren})
        epcis[siren] = EpciRecord(
            siren=siren,
            name=name,
            kind=EPCI_KINDS[kind_code],
            population=f.population("populationMunicipale"),
            members=f.members("membres"),
        )
    return epcis


def _epci_of_commune(values: list[Any], epcis: dict[str, EpciRecord]) -> dict[str, str]:
    """A commune belongs to one EPCI at most (French law since 2017)."""
    owner: dict[str, str] = {}
    for index, epci in enumerate(epcis.values()):
        for position, code in enumerate(epci.members):
            if code in owner:
                raise _Fields(EPCI_FILE, index, values[index]).fail(
                    f"membres[{position}].code",
                    _("commune %(code)s is already a member of EPCI %(other)s")
                    % {"code": code, "other": owner[code]},
                )
            owner[code] = epci.siren
    return owner


def _read_communes(
    values: list[Any],
    departements: dict[str, DepartementRecord],
    epcis: dict[str, EpciRecord],
) -> dict[str, CommuneRecord]:
    communes: dict[str, CommuneRecord] = {}
    epci_sirens = set(epcis)
    sirens: dict[str, int] = {}
    for f in _records(COMMUNES_FILE, values):
        code = f.text("code", max_length=5)
        name = f.text("nom", max_length=NAME_MAX_LENGTH)
        if f.text("type", max_length=40) != CURRENT_COMMUNE or not _kept(f):
            continue
        f.text("code", pattern=COMMUNE_CODE)
        if code in communes:
            raise f.fail("code", _("%(value)s appears twice") % {"value": code})
        siren = f.siren("siren")
        _check_unique(f, "siren", siren, sirens)
        if siren in epci_sirens:
            raise f.fail(
                "siren",
                _("%(value)s is also the SIREN of an EPCI in %(file)s")
                % {"value": siren, "file": EPCI_FILE},
            )
        departement = f.text("departement", pattern=DEPARTEMENT_CODE)
        region = f.text("region", pattern=REGION_CODE)
        if departement not in departements:
            raise f.fail(
                "departement",
                _("département %(code)s is not in %(file)s")
                % {"code": departement, "file": DEPARTEMENTS_FILE},
            )
        if departements[departement].region != region:
            raise f.fail(
                "region",
                _("région %(code)s differs from the région of its département (%(other)s)")
                % {"code": region, "other": departements[departement].region},
            )
        communes[code] = CommuneRecord(
            code=code,
            name=name,
            siren=siren,
            departement=departement,
            region=region,
            population=f.population("population"),
        )
    return communes


# --- Selection -------------------------------------------------------------------------


def select(
    data: TerritoryData, *, regions: Sequence[str] = (), departements: Sequence[str] = ()
) -> Selection:
    """What to import: everything, or the union of the régions and départements named.

    A région brings its départements and communes; a département brings its région and
    communes; either brings every EPCI with at least one selected commune (an EPCI
    across a boundary is imported whole, but only the selected communes are linked).
    """
    wanted_regions = {code.strip() for code in regions}
    wanted_departements = {code.strip().upper() for code in departements}
    if unknown := wanted_regions - set(data.regions):
        raise UnknownTerritoryFilter(option="region", codes=unknown)
    if unknown := wanted_departements - set(data.departements):
        raise UnknownTerritoryFilter(option="departement", codes=unknown)

    if not wanted_regions and not wanted_departements:
        communes = set(data.communes)
        selected_departements = set(data.departements)
        selected_regions = set(data.regions)
    else:
        communes = {
            code
            for code, c in data.communes.items()
            if c.region in wanted_regions or c.departement in wanted_departements
        }
        selected_departements = wanted_departements | {
            code for code, d in data.departements.items() if d.region in wanted_regions
        }
        selected_regions = wanted_regions | {
            data.departements[code].region for code in wanted_departements
        }
    epcis = {data.epci_of_commune[code] for code in communes if code in data.epci_of_commune}
    return Selection(
        regions=frozenset(selected_regions),
        departements=frozenset(selected_departements),
        epcis=frozenset(epcis),
        communes=frozenset(communes),
        filters={"regions": sorted(wanted_regions), "departements": sorted(wanted_departements)},
    )


# --- Writing ---------------------------------------------------------------------------

LOADED_FIELDS = (
    *("pk", "source_key", "siren", "name", "kind", "insee_code", "population"),
    *("region_id", "departement_id", "epci_id"),
)


def _slug_name(name: str) -> str:
    return slugify(name.translate(SLUG_REPLACEMENTS))[:SLUG_NAME_MAX_LENGTH].strip("-")


@dataclasses.dataclass
class _Wanted:
    """One organisation as the files describe it.

    ``fields`` holds what the import owns (the SIREN only for communes and EPCI);
    ``links`` the foreign keys it owns, by the target's source key. The rest (an EPCI's
    région, a département's SIREN, adhesion, branding) belongs to the operator.
    """

    source_key: str
    slug: str
    fields: dict[str, Any]
    links: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def siren(self) -> str:
        return str(self.fields.get("siren", ""))


def _fields(name: str, kind: str, insee_code: str, population: int | None) -> dict[str, Any]:
    return {"name": name, "kind": kind, "insee_code": insee_code, "population": population}


def _wanted(data: TerritoryData, selection: Selection, level: str) -> list[_Wanted]:
    """The rows of one level, in a stable order (so that slug suffixes are stable too)."""
    if level == "region":
        population = data.population_by("region")
        return [
            _Wanted(
                source_key=f"region:{r.code}",
                slug=f"region-{r.code.lower()}-{_slug_name(r.name)}",
                fields=_fields(
                    r.name, OrganisationKind.REGION.value, r.code, population.get(r.code)
                ),
            )
            for r in (data.regions[code] for code in sorted(selection.regions))
        ]
    if level == "departement":
        population = data.population_by("departement")
        return [
            _Wanted(
                source_key=f"departement:{d.code}",
                slug=f"departement-{d.code.lower()}-{_slug_name(d.name)}",
                fields=_fields(
                    d.name, OrganisationKind.DEPARTEMENT.value, d.code, population.get(d.code)
                ),
                links={"region_id": f"region:{d.region}"},
            )
            for d in (data.departements[code] for code in sorted(selection.departements))
        ]
    if level == "epci":
        return [
            _Wanted(
                source_key=f"epci:{e.siren}",
                slug=f"{_slug_name(e.name)}-{e.siren}",
                fields={**_fields(e.name, e.kind, "", e.population), "siren": e.siren},
            )
            for e in (data.epcis[siren] for siren in sorted(selection.epcis))
        ]
    rows = []
    for code in sorted(selection.communes):
        c = data.communes[code]
        epci = data.epci_of_commune.get(code)
        rows.append(
            _Wanted(
                source_key=f"commune:{code}",
                slug=f"{_slug_name(c.name)}-{code.lower()}",
                fields={
                    **_fields(c.name, OrganisationKind.COMMUNE.value, code, c.population),
                    "siren": c.siren,
                },
                links={
                    "region_id": f"region:{c.region}",
                    "departement_id": f"departement:{c.departement}",
                    "epci_id": f"epci:{epci}" if epci else "",
                },
            )
        )
    return rows


class _Writer:
    """Diffs the wanted rows against the database, loaded once, and writes in bulk.

    Levels are written in order (régions, départements, EPCI, communes), so that every
    foreign key of a new row points to a row that already has its primary key: no second
    pass over new rows, and existing rows are updated only where something changed.
    """

    def __init__(self) -> None:
        self.existing: dict[str, dict[str, Any]] = {
            row["source_key"]: row
            for row in Organisation.objects.exclude(source_key="").values(*LOADED_FIELDS)
        }
        # Rows made by hand that an imported SIREN may adopt.
        self.unkeyed_by_siren: dict[str, dict[str, Any]] = {
            row["siren"]: row
            for row in Organisation.objects.filter(source_key="")
            .exclude(siren="")
            .values(*LOADED_FIELDS)
        }
        self.keyed_siren_holder: dict[str, str] = {
            row["siren"]: key for key, row in self.existing.items() if row["siren"]
        }
        self.pk_by_key: dict[str, int] = {key: row["pk"] for key, row in self.existing.items()}
        self.departement_of: dict[str, int | None] = {
            key: row["departement_id"] for key, row in self.existing.items()
        }
        self.slugs: set[str] = set(Organisation.objects.values_list("slug", flat=True))
        self.counts: dict[str, KindCounts] = {}
        # Existing rows left as they were, by kind: a change of links may still move them.
        self.unchanged_kind: dict[int, str] = {}
        self.now = timezone.now()

    def check_sirens(self, rows: Iterable[_Wanted]) -> None:
        """Refuse before writing when a SIREN moved to another key (say, a merger)."""
        for row in rows:
            holder = self.keyed_siren_holder.get(row.siren)
            if row.siren and holder is not None and holder != row.source_key:
                raise TerritorySirenConflict(
                    source_key=row.source_key, siren=row.siren, holder=holder
                )

    def count(self, kind: str) -> KindCounts:
        return self.counts.setdefault(str(kind), KindCounts())

    def unique_slug(self, base: str) -> str:
        slug, n = base, 1
        while slug in self.slugs:
            n += 1
            slug = f"{base}-{n}"
        self.slugs.add(slug)
        return slug

    def write_level(self, rows: list[_Wanted]) -> None:
        new: list[Organisation] = []
        changed: list[Organisation] = []
        changed_fields: set[str] = set()
        for row in rows:
            values = {
                **row.fields,
                **{name: self.pk_by_key.get(key) for name, key in row.links.items()},
            }
            current = self.existing.get(row.source_key)
            if current is None and row.siren:
                current = self.unkeyed_by_siren.get(row.siren)
                if current is not None:
                    values["source_key"] = row.source_key
            self.departement_of[row.source_key] = values.get("departement_id")
            if current is None:
                new.append(
                    Organisation(
                        source_key=row.source_key, slug=self.unique_slug(row.slug), **values
                    )
                )
                self.count(values["kind"]).created += 1
                continue
            self.pk_by_key[row.source_key] = current["pk"]
            diff = [name for name, value in values.items() if current.get(name) != value]
            if not diff:
                self.count(values["kind"]).unchanged += 1
                self.unchanged_kind[current["pk"]] = str(values["kind"])
                continue
            changed_fields.update(diff)
            changed.append(Organisation(pk=current["pk"], updated_at=self.now, **values))
            self.count(values["kind"]).updated += 1
        created = Organisation.objects.bulk_create(new, batch_size=BATCH_SIZE)
        for organisation in created:
            self.pk_by_key[organisation.source_key] = organisation.pk
        if changed:
            fields = sorted({name.removesuffix("_id") for name in changed_fields} | {"updated_at"})
            Organisation.objects.bulk_update(changed, fields, batch_size=BATCH_SIZE)

    def link_departements_spanned(self, data: TerritoryData, epcis: Iterable[str]) -> None:
        """An EPCI spans the départements of those of its communes in the database.

        Communes imported by earlier runs count too, so that importing one département
        never unlinks an EPCI from a neighbouring département imported before.
        """
        through = Organisation.departements_spanned.through
        wanted: dict[int, set[int]] = {}
        for siren in epcis:
            key = f"epci:{siren}"
            spanned = {
                self.departement_of.get(f"commune:{code}") for code in data.epcis[siren].members
            }
            wanted[self.pk_by_key[key]] = {pk for pk in spanned if pk is not None}
        current: dict[int, dict[int, int]] = defaultdict(dict)
        for link_pk, from_pk, to_pk in through.objects.values_list(
            "pk", "from_organisation_id", "to_organisation_id"
        ):
            if from_pk in wanted:
                current[from_pk][to_pk] = link_pk
        to_add = []
        to_remove: list[int] = []
        touched: set[int] = set()
        for epci_pk, targets in wanted.items():
            have = current.get(epci_pk, {})
            for target in targets - have.keys():
                to_add.append(through(from_organisation_id=epci_pk, to_organisation_id=target))
                touched.add(epci_pk)
            for target in have.keys() - targets:
                to_remove.append(have[target])
                touched.add(epci_pk)
        through.objects.bulk_create(to_add, batch_size=BATCH_SIZE)
        for start in range(0, len(to_remove), BATCH_SIZE):
            through.objects.filter(pk__in=to_remove[start : start + BATCH_SIZE]).delete()
        self._count_link_changes(touched)

    def _count_link_changes(self, touched: set[int]) -> None:
        """An EPCI whose only change is its départements counts as updated, not unchanged."""
        moved = [pk for pk in touched if pk in self.unchanged_kind]
        for pk in moved:
            kind_counts = self.count(self.unchanged_kind.pop(pk))
            kind_counts.unchanged -= 1
            kind_counts.updated += 1
        if moved:
            Organisation.objects.filter(pk__in=moved).update(updated_at=self.now)


def import_territory(
    *,
    source: Path,
    regions: Sequence[str] = (),
    departements: Sequence[str] = (),
    actor: audit.SystemActor = ACTOR,
) -> ImportReport:
    """Create or update the organisations of the territory from the Etalab files.

    Reads and validates every file first (``TerritoryFileError`` before any write), then
    writes everything and one platform audit event in one transaction.
    """
    data = read_territory(source)
    selection = select(data, regions=regions, departements=departements)
    return _write(data=data, selection=selection, actor=actor)


@transaction.atomic(durable=True)
def _write(*, data: TerritoryData, selection: Selection, actor: audit.SystemActor) -> ImportReport:
    if connection.vendor == "postgresql":
        # Two concurrent runs would both see a row as missing and the second would fail
        # on the unique source key; the second waits instead, then diffs against the
        # first one's committed rows (each statement reads a fresh snapshot).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
    writer = _Writer()
    levels = {level: _wanted(data, selection, level) for level in LEVELS}
    writer.check_sirens(row for rows in levels.values() for row in rows)
    for level in LEVELS:
        writer.write_level(levels[level])
    writer.link_departements_spanned(data, selection.epcis)
    report = ImportReport(
        counts={kind: writer.counts[kind] for kind in KIND_ORDER if kind in writer.counts},
        files=dict(data.digests),
        filters=selection.filters,
    )
    audit.record(actor=actor, action="territory.imported", payload=report.as_payload())
    return report
