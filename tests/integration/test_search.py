"""Accent- and case-insensitive search in every list that searches: the directory page and
API, the back office's organisations, people and companies; the folded columns behind it,
kept right by every write path; the bounded count of the directory."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core import territory
from mutualis.core.models import Organisation
from mutualis.core.search import fold
from mutualis.directory import selectors as directory
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.identity import UserFactory

pytestmark = pytest.mark.django_db

API_URL = "/api/v1/organisations"
PAGE_URL = "/organisations/"


@pytest.fixture
def places(make_org):
    region = make_org(name="Bourgogne-Franche-Comté", kind="region", insee_code="27")
    cote_dor = make_org(name="Côte-d'Or", kind="departement", insee_code="21", region=region)
    make_org(name="Saint-Apollinaire", insee_code="21540", departement=cote_dor)
    make_org(name="Strasbourg", insee_code="67482")
    make_org(name="L'Haÿ-les-Roses", insee_code="94038")
    make_org(name="Œuilly", insee_code="02566")
    return cote_dor


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


def api_names(client, q: str) -> list[str]:
    response = client.get(API_URL, {"q": q})
    assert response.status_code == 200
    return [row["name"] for row in response.json()["results"]]


def page_names(client, q: str) -> list[str]:
    response = client.get(PAGE_URL, {"q": q})
    assert response.status_code == 200
    return [row["name"] for row in response.context["page"].object_list]


# --- The directory ---------------------------------------------------------------------


@pytest.mark.parametrize("names_of", [api_names, page_names], ids=["api", "page"])
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cote d or", ["Côte-d'Or"]),
        ("COTE-D'OR", ["Côte-d'Or"]),
        ("côte", ["Côte-d'Or"]),
        ("saint-apollinaire", ["Saint-Apollinaire"]),
        ("st apollinaire", ["Saint-Apollinaire"]),
        ("ST-APOLLINAIRE", ["Saint-Apollinaire"]),
        ("apollinaire saint", ["Saint-Apollinaire"]),
        ("hay les roses", ["L'Haÿ-les-Roses"]),
        ("oeuilly", ["Œuilly"]),
        ("STRAS", ["Strasbourg"]),
        ("21540", ["Saint-Apollinaire"]),
        ("cote dijon", []),
    ],
)
def test_directory_search_ignores_accents_case_and_punctuation(
    client, places, names_of, q, expected
):
    assert names_of(client, q) == expected


@pytest.mark.parametrize("q", ["dij\x00on", "\x00", "a\x00" * 40])
def test_a_nul_byte_in_the_query_is_refused_by_the_api(client, places, q):
    response = client.get(API_URL, {"q": q})

    # Refused at the edge (mutualis.core.edge), before the operation's own validation.
    assert response.status_code == 400
    assert response.json()["code"] == "control_character"
    assert response.json()["field"] == "q"


def test_a_nul_byte_in_the_query_does_not_break_the_page(client, places):
    response = client.get(PAGE_URL, {"q": "c\x00te"})

    assert response.status_code == 400


def test_a_very_long_query_is_refused_by_the_api_and_flagged_by_the_page(client, places):
    # Under the edge's bound (mutualis.core.edge), over the search's own.
    api = client.get(API_URL, {"q": "côte " * 1000})
    page = client.get(PAGE_URL, {"q": "côte " * 1000})

    assert api.status_code == 422
    assert page.status_code == 200
    assert page.context["form"].errors["q"]


def test_the_count_stops_past_the_page_and_says_so(client, make_org, monkeypatch):
    monkeypatch.setattr(directory, "COUNT_AHEAD", 2)
    for n in range(9):
        make_org(name=f"Commune {n}")

    first = client.get(API_URL, {"page_size": 3}).json()
    third = client.get(API_URL, {"page_size": 3, "page": 3}).json()
    page = client.get(PAGE_URL).content.decode()

    # Page 1 of 3 rows counts up to 3 + 2 rows, and finds more.
    assert (first["total"], first["total_is_exact"]) == (5, False)
    # Page 3 counts up to 9 + 2: all 9, exactly.
    assert (third["total"], third["total_is_exact"]) == (9, True)
    assert [r["name"] for r in third["results"]] == ["Commune 6", "Commune 7", "Commune 8"]
    # The page (50 a page) counts up to 52: exact.
    assert "9 organisations" in page


def test_the_page_says_more_than_when_the_count_stops(client, make_org, monkeypatch):
    monkeypatch.setattr(directory, "COUNT_AHEAD", 2)
    monkeypatch.setattr("mutualis.directory.views.PAGE_SIZE", 3)
    for n in range(9):
        make_org(name=f"Commune {n}")

    html = client.get(PAGE_URL).content.decode()
    last_page = client.get(PAGE_URL, {"page": 3})

    assert "More than 5 organisations" in html
    assert "Last page" not in html
    assert "Next page" in html
    assert [r["name"] for r in last_page.context["page"].object_list] == [
        "Commune 6",
        "Commune 7",
        "Commune 8",
    ]
    assert "9 organisations" in last_page.content.decode()


# --- The folded column stays right -----------------------------------------------------


def test_the_folded_name_follows_create_and_update(make_org):
    organisation = make_org(name="Côte-d'Or", kind="departement", insee_code="21")
    assert Organisation.objects.get(pk=organisation.pk).search_name == "cote d or"

    organisation.name = "Saône-et-Loire"
    organisation.save(update_fields=["name"])

    assert Organisation.objects.get(pk=organisation.pk).search_name == "saone et loire"


def test_the_territory_import_folds_the_names_it_writes(tmp_path):
    source = settings.MUTUALIS_TERRITORY_DIR
    territory.import_territory(source=source, departements=["21"])

    rows = list(Organisation.objects.values_list("name", "search_name"))
    assert len(rows) > 700
    assert all(search_name == fold(name) for name, search_name in rows)
    assert Organisation.objects.get(source_key="departement:21").search_name == "cote d or"


def test_a_re_import_mends_a_stale_folding():
    source = settings.MUTUALIS_TERRITORY_DIR
    territory.import_territory(source=source, departements=["21"])
    Organisation.objects.filter(source_key="commune:21231").update(search_name="")

    territory.import_territory(source=source, departements=["21"])

    assert Organisation.objects.get(source_key="commune:21231").search_name == "dijon"


# --- The back office -------------------------------------------------------------------


def test_back_office_organisations_ignore_accents_and_case(staff_client, places):
    url = reverse("backoffice:organisation_list")

    response = staff_client.get(url, {"q": "COTE d'or"})

    assert [o.name for o in response.context["page"]] == ["Côte-d'Or"]


def test_back_office_people_ignore_accents_and_case(staff_client):
    UserFactory(email="helene.noel@dijon.example", first_name="Hélène", last_name="Noël")
    UserFactory(email="paul@beaune.example", first_name="Paul", last_name="Martin")
    url = reverse("backoffice:user_list")

    for q in ("helene noel", "NOËL", "hélène.noël", "noel@dijon"):
        response = staff_client.get(url, {"q": q})
        assert [u.email for u in response.context["page"]] == ["helene.noel@dijon.example"], q


def test_a_renamed_person_is_found_by_the_new_name(staff_client):
    person = UserFactory(email="a@dijon.example", first_name="Anne", last_name="Durand")
    person.last_name = "Lefèvre"
    person.save(update_fields=["last_name"])

    response = staff_client.get(reverse("backoffice:user_list"), {"q": "lefevre"})

    assert [u.email for u in response.context["page"]] == ["a@dijon.example"]


def test_back_office_companies_ignore_accents_and_case(staff_client):
    alice = verified_person("alice@menuiserie.example")
    with scopes_disabled():
        register_company(alice, siren=company_siren(1), name="Ébénisterie Léa")
    carol = verified_person("carol@plomberie.example")
    with scopes_disabled():
        register_company(carol, siren=company_siren(2), name="Plomberie Y")
    url = reverse("backoffice:company_list")

    response = staff_client.get(url, {"q": "EBENISTERIE lea"})

    assert [c.name for c in response.context["page"]] == ["Ébénisterie Léa"]


# --- PostgreSQL ------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_answers_a_word_of_the_name_from_the_trigram_index(places):
    query = directory.search_organisations(text="apollinaire")
    sql, params = query.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # The test table is tiny: forbid the plans that would otherwise be cheaper.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "organisation_search_name_trgm" in plan, plan
    assert [row["name"] for row in query] == ["Saint-Apollinaire"]
