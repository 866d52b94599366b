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

from mutualis.core import audit

from .errors import (
    TerritoryFileMalformed,
    TerritoryFileMissing,
    TerritoryRecordInvalid,
    TerritorySirenConflict,
    UnknownTerritoryFilter,
)
from .reading import (
    FILES,
    LEVELS,
    ImportReport,
    KindCounts,
    Selection,
    TerritoryData,
    read_territory,
    select,
)
from .writing import import_territory, wanted_rows

__all__ = [
    "FILES",
    "LEVELS",
    "ImportReport",
    "KindCounts",
    "Selection",
    "TerritoryData",
    "TerritoryFileMalformed",
    "TerritoryFileMissing",
    "TerritoryRecordInvalid",
    "TerritorySirenConflict",
    "UnknownTerritoryFilter",
    "audit",
    "import_territory",
    "read_territory",
    "select",
    "wanted_rows",
]
