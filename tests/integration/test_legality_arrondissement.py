"""The arrondissement a member's @ctes envelope names is imported from the Etalab files
(the territory import) and fills the enrolment when the administrator leaves it empty."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.test import Client

from mutualis.core import territory
from mutualis.core.errors import TerritoryFileError
from mutualis.core.models import Organisation
from mutualis.legality import services
from tests.factories.identity import make_member
from tests.factories.legality import subscribe
from tests.factories.mfa import give_authenticator_app
from tests.factories.territory import by_key, change, extract

__all__ = ["extract"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(db):
    territory.import_territory(source=settings.MUTUALIS_TERRITORY_DIR)


def test_each_level_gets_its_arrondissement(imported):
    assert by_key("commune:21231").arrondissement == "212"  # Dijon
    assert by_key("commune:21054").arrondissement == "211"  # Beaune
    # A département: its chef-lieu's (Dijon, the prefecture).
    assert by_key("departement:21").arrondissement == "212"
    # An EPCI over several arrondissements (or départements): none can be chosen.
    assert by_key("epci:200006682").arrondissement == ""  # CA Beaune, two départements
    assert Organisation.objects.filter(kind="commune", arrondissement="").count() == 0


def test_an_epci_inside_one_arrondissement_gets_it(imported):
    from django.db.models import Count

    found = (
        Organisation.objects.filter(kind__in=["epci_cc", "epci_ca"])
        .exclude(arrondissement="")
        .first()
    )
    assert found is not None
    members = (
        Organisation.objects.filter(epci=found).values("arrondissement").annotate(n=Count("pk"))
    )
    assert [m["arrondissement"] for m in members] == [found.arrondissement]


def test_an_arrondissement_of_another_departement_is_refused(extract):
    change(extract, "communes.json", "21231", arrondissement="711")

    with pytest.raises(TerritoryFileError, match="arrondissement"):
        territory.import_territory(source=extract)

    assert not Organisation.objects.exists()


def test_a_malformed_arrondissement_is_refused(extract):
    change(extract, "communes.json", "21231", arrondissement="21X")

    with pytest.raises(TerritoryFileError):
        territory.import_territory(source=extract)


def test_the_enrolment_takes_the_arrondissement_from_the_directory(imported):
    dijon = by_key("commune:21231")
    subscribe(dijon)
    admin = make_member(dijon, "admin@dijon.example.org", roles=["org_admin"])
    give_authenticator_app(admin.user)

    client = Client()
    client.force_login(admin.user)
    page = client.get(f"/o/{dijon.slug}/legality/enrolment/")
    assert page.status_code == 200
    assert 'name="arrondissement" value="2"' in page.content.decode()

    enrolment = services.save_enrolment(
        actor=admin,
        convention_reference="PREF-21-2024",
        convention_date=date(2024, 3, 1),
        departement="",
        arrondissement="",
        authority_nature="25",
        natures=[1],
    )

    assert (enrolment.departement, enrolment.arrondissement) == ("021", "2")
