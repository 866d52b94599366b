"""Reading the Etalab files: every defect is refused with its file, record and field.

Small synthetic files in the upstream format, written to ``tmp_path``; no database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stdnum import luhn

from mutualis.core import territory
from mutualis.core.errors import TerritoryFileError


def a_siren(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def corrupt(number: str) -> str:
    """The same number with a wrong check digit (Luhn catches any single-digit change)."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


COMMUNE_A = a_siren("21210231")
COMMUNE_B = a_siren("21210054")
COMMUNE_C = a_siren("21710076")
EPCI_X = a_siren("24210041")
EPCI_Y = a_siren("20000668")


def upstream() -> dict[str, list[dict[str, Any]]]:
    """Two départements of région 27, one overseas collectivity, three communes, two EPCI."""
    return {
        "regions.json": [
            {"code": "27", "nom": "Bourgogne-Franche-Comté", "zone": "metro"},
            {"code": "975", "nom": "Saint-Pierre-et-Miquelon", "zone": "com"},
        ],
        "departements.json": [
            {"code": "21", "nom": "Côte-d'Or", "region": "27", "zone": "metro"},
            {"code": "71", "nom": "Saône-et-Loire", "region": "27", "zone": "metro"},
            {"code": "975", "nom": "Saint-Pierre-et-Miquelon", "region": "975", "zone": "com"},
        ],
        "epci.json": [
            {
                "code": EPCI_X,
                "nom": "Dijon Métropole",
                "type": "METRO",
                "populationTotale": 260000,
                "populationMunicipale": 255000,
                "membres": [{"code": "21231", "siren": COMMUNE_A}],
            },
            {
                "code": EPCI_Y,
                "nom": "CA Beaune",
                "type": "CA",
                "populationTotale": 53000,
                "populationMunicipale": 52000,
                "membres": [{"code": "21054"}, {"code": "71076"}, {"code": "01001"}],
            },
        ],
        "communes.json": [
            {
                "code": "21231",
                "nom": "Dijon",
                "zone": "metro",
                "departement": "21",
                "region": "27",
                "type": "commune-actuelle",
                "siren": COMMUNE_A,
                "population": 161830,
            },
            {
                "code": "21054",
                "nom": "Beaune",
                "zone": "metro",
                "departement": "21",
                "region": "27",
                "type": "commune-actuelle",
                "siren": COMMUNE_B,
                "population": 20000,
            },
            {
                "code": "71076",
                "nom": "Chagny",
                "zone": "metro",
                "departement": "71",
                "region": "27",
                "type": "commune-actuelle",
                "siren": COMMUNE_C,
                "population": 5500,
            },
            {
                "code": "21999",
                "nom": "Ancienne",
                "zone": "metro",
                "departement": "21",
                "region": "27",
                "type": "commune-deleguee",
            },
            {
                "code": "97501",
                "nom": "Miquelon-Langlade",
                "zone": "com",
                "departement": "975",
                "region": "975",
                "type": "commune-actuelle",
            },
        ],
    }


def write(directory: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    for name, records in files.items():
        (directory / name).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return directory


def read_with(tmp_path: Path, file_name: str, index: int, **changes: Any) -> None:
    files = upstream()
    record = files[file_name][index]
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    territory.read_territory(write(tmp_path, files))


def test_valid_files_are_read_without_overseas_collectivities_or_former_communes(tmp_path):
    data = territory.read_territory(write(tmp_path, upstream()))

    assert set(data.regions) == {"27"}
    assert set(data.departements) == {"21", "71"}
    assert set(data.communes) == {"21231", "21054", "71076"}
    assert data.epcis[EPCI_X].kind == "epci_metro"
    assert data.epcis[EPCI_X].population == 255000  # populationMunicipale
    assert data.epci_of_commune["71076"] == EPCI_Y
    assert data.population_by("departement") == {"21": 181830, "71": 5500}
    assert set(data.digests) == set(territory.FILES)
    assert all(len(digest) == 64 for digest in data.digests.values())


def test_a_missing_file_is_named(tmp_path):
    files = upstream()
    del files["epci.json"]
    with pytest.raises(territory.TerritoryFileMissing) as excinfo:
        territory.read_territory(write(tmp_path, files))
    assert excinfo.value.code == "territory_file_missing"
    assert "epci.json" in str(excinfo.value.message)


@pytest.mark.parametrize("file_name", territory.FILES)
def test_a_truncated_file_is_refused_with_its_position(tmp_path, file_name):
    write(tmp_path, upstream())
    path = tmp_path / file_name
    content = path.read_text(encoding="utf-8")
    path.write_text(content[: len(content) // 2], encoding="utf-8")

    with pytest.raises(territory.TerritoryFileMalformed) as excinfo:
        territory.read_territory(tmp_path)

    error = excinfo.value
    assert isinstance(error, TerritoryFileError)
    assert error.code == "territory_file_malformed"
    assert error.file_name == file_name
    assert error.line == 1
    assert 0 < error.offset <= len(content) // 2
    message = str(error.message)
    assert file_name in message
    assert f"line 1, column {error.column}" in message
    assert f"character {error.offset}" in message


def test_an_empty_file_is_refused_at_its_first_character(tmp_path):
    write(tmp_path, upstream())
    (tmp_path / "regions.json").write_text("", encoding="utf-8")
    with pytest.raises(territory.TerritoryFileMalformed) as excinfo:
        territory.read_territory(tmp_path)
    assert (excinfo.value.line, excinfo.value.column, excinfo.value.offset) == (1, 1, 0)


def test_a_file_that_is_not_utf8_is_refused_with_its_position(tmp_path):
    write(tmp_path, upstream())
    before = b'[\n{"code":"27","nom":"Bourgogne-Franche-Comt'
    (tmp_path / "regions.json").write_bytes(before + b'\xe9","zone":"metro"}]')
    with pytest.raises(territory.TerritoryFileMalformed) as excinfo:
        territory.read_territory(tmp_path)
    assert (excinfo.value.line, excinfo.value.column) == (2, len(before) - 1)
    assert excinfo.value.offset == len(before)


def test_a_file_that_is_not_an_array_is_refused(tmp_path):
    files = upstream()
    write(tmp_path, files)
    (tmp_path / "departements.json").write_text('{"code": "21"}', encoding="utf-8")
    with pytest.raises(territory.TerritoryRecordInvalid) as excinfo:
        territory.read_territory(tmp_path)
    assert "departements.json" in str(excinfo.value.message)


@pytest.mark.parametrize(
    ("file_name", "index", "changes", "field"),
    [
        ("communes.json", 1, {"siren": corrupt(COMMUNE_B)}, "siren"),
        ("communes.json", 1, {"siren": int(COMMUNE_B)}, "siren"),
        ("communes.json", 0, {"nom": None}, "nom"),
        ("communes.json", 0, {"code": None}, "code"),
        ("communes.json", 2, {"population": "5500"}, "population"),
        ("communes.json", 2, {"population": -1}, "population"),
        ("communes.json", 2, {"departement": "99"}, "departement"),
        ("communes.json", 2, {"region": "84"}, "region"),
        ("communes.json", 2, {"code": "7107"}, "code"),
        ("communes.json", 1, {"siren": COMMUNE_A}, "siren"),
        ("communes.json", 1, {"siren": EPCI_X}, "siren"),
        ("epci.json", 0, {"code": corrupt(EPCI_X)}, "code"),
        ("epci.json", 1, {"type": "SIVOM"}, "type"),
        ("epci.json", 1, {"nom": ""}, "nom"),
        ("epci.json", 1, {"populationMunicipale": 52000.5}, "populationMunicipale"),
        ("epci.json", 1, {"membres": {"code": "21054"}}, "membres"),
        ("epci.json", 1, {"membres": [{"siren": COMMUNE_B}]}, "membres[0].code"),
        ("epci.json", 1, {"membres": [{"code": "21231"}]}, "membres[0].code"),
        ("departements.json", 1, {"region": "84"}, "region"),
        ("departements.json", 1, {"code": "21"}, "code"),
        ("regions.json", 0, {"nom": ["Bourgogne"]}, "nom"),
    ],
)
def test_a_wrong_record_is_refused_with_file_index_and_field(
    tmp_path, file_name, index, changes, field
):
    with pytest.raises(territory.TerritoryRecordInvalid) as excinfo:
        read_with(tmp_path, file_name, index, **changes)

    error = excinfo.value
    assert error.code == "territory_record_invalid"
    assert (error.file_name, error.index, error.field) == (file_name, index, field)
    message = str(error.message)
    assert file_name in message
    assert f"record at index {index}" in message
    assert f'field "{field}"' in message


def test_a_record_that_is_not_an_object_is_refused(tmp_path):
    files = upstream()
    files["communes.json"].append("21231")  # type: ignore[arg-type]
    with pytest.raises(territory.TerritoryRecordInvalid) as excinfo:
        territory.read_territory(write(tmp_path, files))
    assert (excinfo.value.file_name, excinfo.value.index) == ("communes.json", 5)


def test_overseas_collectivities_need_no_siren_but_still_a_name(tmp_path):
    with pytest.raises(territory.TerritoryRecordInvalid) as excinfo:
        read_with(tmp_path, "communes.json", 4, nom=None)
    assert excinfo.value.field == "nom"


def test_the_whole_of_france_is_selected_without_filters(tmp_path):
    data = territory.read_territory(write(tmp_path, upstream()))
    selection = territory.select(data)
    assert selection.regions == {"27"}
    assert selection.communes == {"21231", "21054", "71076"}
    assert selection.epcis == {EPCI_X, EPCI_Y}
    assert selection.filters == {"regions": [], "departements": []}


def test_a_departement_brings_its_region_communes_and_their_epcis(tmp_path):
    data = territory.read_territory(write(tmp_path, upstream()))
    selection = territory.select(data, departements=["71"])
    assert selection.regions == {"27"}
    assert selection.departements == {"71"}
    assert selection.communes == {"71076"}
    # The EPCI across the boundary comes whole; only the selected commune is linked.
    assert selection.epcis == {EPCI_Y}


def test_an_unknown_or_overseas_filter_is_refused(tmp_path):
    data = territory.read_territory(write(tmp_path, upstream()))
    with pytest.raises(territory.UnknownTerritoryFilter) as excinfo:
        territory.select(data, regions=["975"])
    assert excinfo.value.code == "territory_filter_unknown"
    assert "975" in str(excinfo.value.message)
    with pytest.raises(territory.UnknownTerritoryFilter):
        territory.select(data, departements=["99"])
