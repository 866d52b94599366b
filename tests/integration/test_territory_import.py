"""Importing the territory: the vendored région 27, re-imports, defects and filters.

Each test that needs the région imports it once (3,810 rows, about a second).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from mutualis.core import crossings, territory
from mutualis.core.models import AuditEvent, Organisation
from tests.factories.territory import by_key, change, dump, extract, load

__all__ = ["extract"]  # a fixture (tests/factories/territory.py)

# The full upstream files, next to the repository on the development machine (not in CI).
FULL_FILES = Path(__file__).resolve().parents[3] / "shared" / "data" / "decoupage-administratif"

DIJON = "commune:21231"
DIJON_SIREN = "212102313"
BEAUNE_SIREN = "212100549"
DIJON_METROPOLE = "epci:242100410"
CA_BEAUNE = "epci:200006682"  # Côte-d'Or and Saône-et-Loire
CA_MACONNAIS = "epci:200070308"  # Saône-et-Loire (région 27) and Ain (région 84)


def spanned(key: str) -> set[str]:
    return set(by_key(key).departements_spanned.values_list("insee_code", flat=True))


def import_events() -> list[AuditEvent]:
    with crossings.for_every_member():
        return list(AuditEvent.objects.filter(action="territory.imported").order_by("sequence"))


def kinds() -> Counter[str]:
    return Counter(Organisation.objects.values_list("kind", flat=True))


@pytest.mark.django_db
def test_region_extract_creates_every_organisation_of_the_region():
    report = territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)

    assert Organisation.objects.count() == 3810
    found = kinds()
    assert found["region"] == 1
    assert found["departement"] == 8
    assert sum(found[kind] for kind in ("epci_cc", "epci_ca", "epci_cu", "epci_metro")) == 116
    assert found["commune"] == 3685
    assert report.totals().created == 3810
    assert report.counts["commune"].created == 3685
    # Départements and régions have no SIREN upstream; their population sums the communes.
    region = by_key("region:27")
    assert region.siren == ""
    assert region.population == sum(
        Organisation.objects.filter(kind="commune").values_list("population", flat=True)
    )


@pytest.mark.django_db
def test_dijon_is_linked_to_its_departement_region_and_epci():
    territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)

    dijon = by_key(DIJON)
    assert (dijon.name, dijon.kind, dijon.siren, dijon.insee_code) == (
        "Dijon",
        "commune",
        DIJON_SIREN,
        "21231",
    )
    assert dijon.slug == "dijon-21231"
    assert dijon.departement == by_key("departement:21")
    assert dijon.region == by_key("region:27")
    assert dijon.epci is not None
    assert (dijon.epci.source_key, dijon.epci.name, dijon.epci.kind) == (
        DIJON_METROPOLE,
        "Dijon Métropole",
        "epci_metro",
    )
    assert dijon.epci.region is None
    assert dijon.epci.insee_code == ""
    assert dijon.epci.slug == "dijon-metropole-242100410"
    assert by_key("departement:21").slug == "departement-21-cote-d-or"
    assert by_key("departement:21").region == by_key("region:27")
    assert by_key("region:27").slug == "region-27-bourgogne-franche-comte"


@pytest.mark.django_db
def test_an_epci_spans_the_departements_of_its_imported_communes():
    territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)

    assert spanned(CA_BEAUNE) == {"21", "71"}
    # Its communes in the Ain (région 84) are not imported: neither is the Ain.
    assert spanned(CA_MACONNAIS) == {"71"}
    assert not Organisation.objects.filter(source_key__startswith="commune:01").exists()


@pytest.mark.django_db
def test_a_reimport_changes_nothing_and_is_audited_again():
    territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)
    report = territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)

    totals = report.totals()
    assert (totals.created, totals.updated, totals.unchanged) == (0, 0, 3810)
    assert Organisation.objects.count() == 3810
    assert len(import_events()) == 2


@pytest.mark.django_db
def test_a_changed_epci_is_the_only_row_updated_and_keeps_its_slug(extract):
    territory.import_territory(source=extract)
    change(extract, "epci.json", "242100410", populationMunicipale=1, nom="Dijon Métropole 2")

    report = territory.import_territory(source=extract)

    totals = report.totals()
    assert (totals.created, totals.updated, totals.unchanged) == (0, 1, 3809)
    assert report.counts["epci_metro"].updated == 1
    metropole = by_key(DIJON_METROPOLE)
    assert (metropole.population, metropole.name) == (1, "Dijon Métropole 2")
    assert metropole.slug == "dijon-metropole-242100410"


@pytest.mark.django_db
def test_a_changed_commune_population_updates_its_departement_and_region_sums(extract):
    territory.import_territory(source=extract)
    before = by_key("departement:21").population
    change(extract, "communes.json", "21231", population=161831)

    report = territory.import_territory(source=extract)

    assert report.totals().updated == 3
    assert report.counts["commune"].updated == 1
    assert by_key(DIJON).population == 161831
    assert by_key("departement:21").population == before + 1


@pytest.mark.django_db
@pytest.mark.parametrize("file_name", territory.FILES)
def test_a_truncated_file_writes_nothing(extract, file_name):
    """The last file read (communes.json) included: everything is validated first."""
    path = extract / file_name
    content = path.read_bytes()
    path.write_bytes(content[: len(content) * 2 // 3])

    with pytest.raises(territory.TerritoryFileMalformed) as excinfo:
        territory.import_territory(source=extract)

    assert excinfo.value.file_name == file_name
    assert f"character {excinfo.value.offset}" in str(excinfo.value.message)
    assert Organisation.objects.count() == 0
    assert import_events() == []


@pytest.mark.django_db
def test_a_failure_while_writing_rolls_the_whole_run_back(monkeypatch):
    """The audit event is written last: if it fails, no organisation stays behind."""

    def broken_record(**kwargs: Any) -> None:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(territory.audit, "record", broken_record)
    with pytest.raises(RuntimeError, match="audit trail unavailable"):
        territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)

    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_an_invalid_siren_is_named_and_nothing_is_written(extract):
    wrong = BEAUNE_SIREN[:-1] + str((int(BEAUNE_SIREN[-1]) + 1) % 10)
    index = change(extract, "communes.json", "21054", siren=wrong)

    with pytest.raises(territory.TerritoryRecordInvalid) as excinfo:
        territory.import_territory(source=extract)

    error = excinfo.value
    assert (error.file_name, error.index, error.field) == ("communes.json", index, "siren")
    assert wrong in str(error.message)
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_overseas_collectivities_and_former_communes_are_left_out(extract):
    regions = load(extract, "regions.json")
    dump(extract, "regions.json", [*regions, {"code": "975", "nom": "Saint-Pierre", "zone": "com"}])
    departements = load(extract, "departements.json")
    departements.append({"code": "975", "nom": "Saint-Pierre", "region": "975", "zone": "com"})
    dump(extract, "departements.json", departements)
    communes = load(extract, "communes.json")
    communes += [
        {
            "code": "97501",
            "nom": "Miquelon-Langlade",
            "zone": "com",
            "departement": "975",
            "region": "975",
            "type": "commune-actuelle",
        },
        {
            "code": "21999",
            "nom": "Ancienne",
            "zone": "metro",
            "departement": "21",
            "region": "27",
            "type": "commune-deleguee",
            "population": 12,
        },
    ]
    dump(extract, "communes.json", communes)

    territory.import_territory(source=extract)

    assert Organisation.objects.count() == 3810
    assert not Organisation.objects.filter(insee_code__in=["975", "97501", "21999"]).exists()


@pytest.mark.django_db
def test_the_departement_option_imports_it_with_its_region_communes_and_epcis():
    out = StringIO()

    call_command("import_territory", "--departement", "21", stdout=out)

    assert set(
        Organisation.objects.filter(kind="departement").values_list("insee_code", flat=True)
    ) == {"21"}
    assert Organisation.objects.filter(kind="region").get().insee_code == "27"
    communes = Organisation.objects.filter(kind="commune")
    assert communes.count() == sum(
        1
        for c in load(settings.MUTUALIS_TERRITORY_DIR, "communes.json")
        if c["departement"] == "21"
    )
    assert not communes.exclude(departement__insee_code="21").exists()
    assert spanned(CA_BEAUNE) == {"21"}
    assert not by_key(CA_BEAUNE).member_communes.exclude(departement__insee_code="21").exists()
    assert by_key(CA_BEAUNE).member_communes.exists()
    assert str(communes.count()) in out.getvalue()


@pytest.mark.django_db
def test_importing_the_other_departement_later_links_the_epci_to_both(extract):
    territory.import_territory(source=extract, departements=["21"])
    territory.import_territory(source=extract, departements=["71"])

    assert spanned(CA_BEAUNE) == {"21", "71"}
    # And a later partial import does not unlink the other département.
    territory.import_territory(source=extract, departements=["21"])
    assert spanned(CA_BEAUNE) == {"21", "71"}


@pytest.mark.django_db
def test_one_platform_audit_event_records_counts_digests_and_filters():
    territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR, regions=["27"])

    (event,) = import_events()
    assert event.chain == "platform"
    assert event.organisation_id is None
    assert event.actor == "system:import_territory"
    directory = Path(settings.MUTUALIS_TERRITORY_DIR)
    assert event.payload["files"] == {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in territory.FILES
    }
    assert event.payload["filters"] == {"regions": ["27"], "departements": []}
    assert event.payload["counts"]["commune"] == {"created": 3685, "updated": 0, "unchanged": 0}


@pytest.mark.django_db
def test_a_hand_made_row_with_the_siren_is_adopted_and_a_taken_slug_is_avoided(make_org):
    hand_made = make_org(
        name="Ville de Dijon", siren=DIJON_SIREN, insee_code="", slug="ville-de-dijon"
    )
    make_org(name="Beaune (saisie)", slug="beaune-21054")

    report = territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)

    assert report.counts["commune"].created == 3684
    assert report.counts["commune"].updated == 1
    hand_made.refresh_from_db()
    assert (hand_made.source_key, hand_made.name, hand_made.insee_code) == (DIJON, "Dijon", "21231")
    assert hand_made.slug == "ville-de-dijon"
    assert by_key("commune:21054").slug == "beaune-21054-2"


@pytest.mark.django_db
def test_a_siren_held_by_another_imported_row_is_refused(extract):
    territory.import_territory(source=extract)
    # Two communes swap SIRENs: the database cannot hold both during the update.
    change(extract, "communes.json", "21231", siren=BEAUNE_SIREN)
    change(extract, "communes.json", "21054", siren=DIJON_SIREN)

    with pytest.raises(territory.TerritorySirenConflict) as excinfo:
        territory.import_territory(source=extract)

    assert excinfo.value.code == "territory_siren_conflict"
    assert by_key(DIJON).siren == DIJON_SIREN


@pytest.mark.django_db
def test_the_command_exits_with_the_error_message(extract):
    (extract / "regions.json").unlink()
    with pytest.raises(CommandError, match=r"regions\.json"):
        call_command("import_territory", "--source", str(extract))
    with pytest.raises(CommandError, match="99"):
        call_command("import_territory", "--region", "99")


@pytest.mark.skipif(not FULL_FILES.is_dir(), reason="the full Etalab files are not here")
def test_the_vendored_extract_gives_what_the_full_files_give_for_region_27():
    """The extract is faithful: same organisations, fields and links as --region 27."""
    full = territory.read_territory(FULL_FILES)
    vendored = territory.read_territory(settings.MUTUALIS_TERRITORY_DIR)
    from_full = territory.select(full, regions=["27"])
    from_vendored = territory.select(vendored)

    for level in territory.LEVELS:
        assert territory.wanted_rows(full, from_full, level) == territory.wanted_rows(
            vendored, from_vendored, level
        )
    assert {s: full.epcis[s] for s in from_full.epcis} == vendored.epcis
