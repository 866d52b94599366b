"""Reading and validating the four Etalab files, then selecting what to import."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from stdnum.fr import siren as stdnum_siren

from mutualis.core.models import Organisation, OrganisationKind

from .errors import (
    TerritoryFileMalformed,
    TerritoryFileMissing,
    TerritoryRecordInvalid,
    UnknownTerritoryFilter,
)

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
ARRONDISSEMENT_CODE = re.compile(r"^(?:\d{2,3}|2[AB])\d$")

NAME_MAX_LENGTH = Organisation._meta.get_field("name").max_length or 200
POPULATION_MAX = 2_147_483_647  # PositiveIntegerField on every backend


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
    # The INSEE code of its chef-lieu (the prefecture's commune), when the file gives it.
    chef_lieu: str = ""


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
    # Its arrondissement's INSEE code (département code and one digit: "212"), when the
    # file gives it (the @ctes envelope names the sender's arrondissement).
    arrondissement: str = ""


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

    def arrondissement_of_departement(self, code: str) -> str:
        """A département's arrondissement: that of its chef-lieu (where the prefecture
        is)."""
        chef_lieu = self.communes.get(self.departements[code].chef_lieu)
        return chef_lieu.arrondissement if chef_lieu else ""

    def arrondissement_of_epci(self, siren: str) -> str:
        """An EPCI's arrondissement, when all its communes share one (the file does not
        name its seat); empty otherwise, and when some of its communes were not read (an
        extract of a region: an EPCI across its border), so that an extract and the
        national files give the same answer."""
        members = self.epcis[siren].members
        if any(code not in self.communes for code in members):
            return ""
        found = {self.communes[code].arrondissement for code in members}
        return found.pop() if len(found) == 1 else ""


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
            chef_lieu = f.record.get("chefLieu")
            departements[code] = DepartementRecord(
                code=code,
                name=name,
                region=region,
                chef_lieu=chef_lieu.strip() if isinstance(chef_lieu, str) else "",
            )
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
        arrondissement = ""
        # Mayotte's communes and a few others have no arrondissement: the file gives "".
        if f.record.get("arrondissement") not in (None, ""):
            arrondissement = f.text("arrondissement", pattern=ARRONDISSEMENT_CODE)
            if not arrondissement.startswith(departement):
                raise f.fail(
                    "arrondissement",
                    _("arrondissement %(code)s is not in département %(other)s")
                    % {"code": arrondissement, "other": departement},
                )
        communes[code] = CommuneRecord(
            code=code,
            name=name,
            siren=siren,
            departement=departement,
            region=region,
            population=f.population("population"),
            arrondissement=arrondissement,
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
