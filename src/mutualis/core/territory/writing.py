"""Writing the selected organisations: upsert by natural key, in one transaction."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from mutualis.core import audit
from mutualis.core.models import Organisation, OrganisationKind
from mutualis.core.search import fold

from .errors import TerritorySirenConflict
from .reading import (
    KIND_ORDER,
    LEVELS,
    ImportReport,
    KindCounts,
    Selection,
    TerritoryData,
    read_territory,
    select,
)

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

# --- Writing ---------------------------------------------------------------------------

LOADED_FIELDS = (
    *("pk", "source_key", "siren", "name", "search_name", "kind", "insee_code", "population"),
    "arrondissement",
    *("region_id", "departement_id", "epci_id"),
)


def _slug_name(name: str) -> str:
    return slugify(name.translate(SLUG_REPLACEMENTS))[:SLUG_NAME_MAX_LENGTH].strip("-")


@dataclasses.dataclass
class WantedRow:
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


def _fields(
    name: str, kind: str, insee_code: str, population: int | None, arrondissement: str = ""
) -> dict[str, Any]:
    # ``bulk_create`` and ``bulk_update`` bypass ``Organisation.save()``, which folds the
    # name for search: the import folds it itself (and mends a stale folding on re-import).
    return {
        "name": name,
        "search_name": fold(name),
        "kind": kind,
        "insee_code": insee_code,
        "population": population,
        "arrondissement": arrondissement,
    }


def wanted_rows(data: TerritoryData, selection: Selection, level: str) -> list[WantedRow]:
    """The rows of one level, in a stable order (so that slug suffixes are stable too)."""
    if level == "region":
        population = data.population_by("region")
        return [
            WantedRow(
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
            WantedRow(
                source_key=f"departement:{d.code}",
                slug=f"departement-{d.code.lower()}-{_slug_name(d.name)}",
                fields=_fields(
                    d.name,
                    OrganisationKind.DEPARTEMENT.value,
                    d.code,
                    population.get(d.code),
                    data.arrondissement_of_departement(d.code),
                ),
                links={"region_id": f"region:{d.region}"},
            )
            for d in (data.departements[code] for code in sorted(selection.departements))
        ]
    if level == "epci":
        return [
            WantedRow(
                source_key=f"epci:{e.siren}",
                slug=f"{_slug_name(e.name)}-{e.siren}",
                fields={
                    **_fields(
                        e.name, e.kind, "", e.population, data.arrondissement_of_epci(e.siren)
                    ),
                    "siren": e.siren,
                },
            )
            for e in (data.epcis[siren] for siren in sorted(selection.epcis))
        ]
    rows = []
    for code in sorted(selection.communes):
        c = data.communes[code]
        epci = data.epci_of_commune.get(code)
        rows.append(
            WantedRow(
                source_key=f"commune:{code}",
                slug=f"{_slug_name(c.name)}-{code.lower()}",
                fields={
                    **_fields(
                        c.name,
                        OrganisationKind.COMMUNE.value,
                        code,
                        c.population,
                        c.arrondissement,
                    ),
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

    def check_sirens(self, rows: Iterable[WantedRow]) -> None:
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

    def write_level(self, rows: list[WantedRow]) -> None:
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
    levels = {level: wanted_rows(data, selection, level) for level in LEVELS}
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
