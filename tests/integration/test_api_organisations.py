"""The public API of the directory: GET /api/v1/organisations, its OpenAPI document and docs."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

URL = "/api/v1/organisations"


@pytest.fixture
def territory(make_org):
    region = make_org(name="Bourgogne-Franche-Comté", kind="region", insee_code="27")
    cote_dor = make_org(name="Côte-d'Or", kind="departement", insee_code="21", region=region)
    saone = make_org(name="Saône-et-Loire", kind="departement", insee_code="71", region=region)
    epci = make_org(
        name="CC Rives de Saône",
        kind="epci_cc",
        insee_code="",
        region=region,
        departement=cote_dor,
        adhesion_status="member",
    )
    epci.departements_spanned.set([cote_dor, saone])
    dijon = make_org(
        name="Dijon",
        insee_code="21231",
        population=159346,
        region=region,
        departement=cote_dor,
        epci=epci,
        adhesion_status="member",
        adhesion_since=date(2024, 1, 15),
        slug="dijon",
    )
    make_org(name="Mâcon", insee_code="71270", region=region, departement=saone)
    return {"epci": epci, "dijon": dijon}


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_lists_organisations_with_their_public_facts(client, territory):
    response = client.get(URL, {"q": "Dijon"})

    assert response.status_code == 200
    assert response.json() == {
        "total": 1,
        "total_is_exact": True,
        "page": 1,
        "page_size": 50,
        "results": [
            {
                "siren": territory["dijon"].siren,
                "name": "Dijon",
                "kind": "commune",
                "insee_code": "21231",
                "population": 159346,
                "slug": "dijon",
                "adhesion_status": "member",
                "adhesion_since": "2024-01-15",
                "departement": "21",
                "region": "27",
                "epci_siren": territory["epci"].siren,
            }
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Bourgogne-Franche-Comté", "CC Rives de Saône", "Côte-d'Or", "Dijon", "Mâcon",
              "Saône-et-Loire"]),
        ({"kind": "commune"}, ["Dijon", "Mâcon"]),
        ({"adhesion": "member"}, ["CC Rives de Saône", "Dijon"]),
        ({"departement": "71"}, ["CC Rives de Saône", "Mâcon", "Saône-et-Loire"]),
        ({"q": "saône rives"}, ["CC Rives de Saône"]),
        ({"q": "71270"}, ["Mâcon"]),
        ({"kind": "commune", "departement": "21", "adhesion": "member"}, ["Dijon"]),
        ({"kind": "", "departement": "", "q": ""}, ["Bourgogne-Franche-Comté",
          "CC Rives de Saône", "Côte-d'Or", "Dijon", "Mâcon", "Saône-et-Loire"]),
    ],
)  # fmt: skip
def test_filters(client, territory, query, expected):
    response = client.get(URL, query)
    assert response.status_code == 200
    assert names(response) == expected
    assert response.json()["total"] == len(expected)


@pytest.mark.django_db
def test_pages_give_the_total_and_one_page_of_results(client, make_org):
    for n in range(7):
        make_org(name=f"Commune {n}")

    first = client.get(URL, {"page_size": 3}).json()
    last = client.get(URL, {"page_size": 3, "page": 3}).json()
    beyond = client.get(URL, {"page_size": 3, "page": 4}).json()

    assert (first["total"], first["page"], first["page_size"]) == (7, 1, 3)
    assert [r["name"] for r in first["results"]] == ["Commune 0", "Commune 1", "Commune 2"]
    assert [r["name"] for r in last["results"]] == ["Commune 6"]
    assert beyond == {
        "total": 7,
        "total_is_exact": True,
        "page": 4,
        "page_size": 3,
        "results": [],
    }


@pytest.mark.django_db
def test_at_most_three_queries_whatever_the_page_size(client, make_org, territory):
    for n in range(40):
        make_org(
            name=f"Commune {n}",
            departement=territory["dijon"].departement,
            region=territory["dijon"].region,
            epci=territory["epci"],
        )

    # The département (with the EPCIs spanning it: read once, then kept in the cache), the
    # page, and the count when the page is full; a page that is not full is the last one
    # and gives the count itself.
    for page_size, queries in ((1, 3), (10, 2), (500, 1)):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL, {"page_size": page_size, "departement": "21"})
        assert response.status_code == 200
        assert len(ctx.captured_queries) == queries, [q["sql"] for q in ctx.captured_queries]
        assert response.json()["total"] == len(
            client.get(URL, {"page_size": 500, "departement": "21"}).json()["results"]
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"kind": "castle"}, "kind", "enum"),
        ({"adhesion": "maybe"}, "adhesion", "enum"),
        ({"page": 0}, "page", "greater_than_equal"),
        ({"page": "first"}, "page", "int_parsing"),
        ({"page": 10**22}, "page", "less_than_equal"),
        ({"page_size": 1000}, "page_size", "less_than_equal"),
        ({"page_size": 0}, "page_size", "greater_than_equal"),
        ({"departement": "Côte-d'Or"}, "departement", "string_too_long"),
        ({"departement": "2C"}, "departement", "string_pattern_mismatch"),
        ({"q": "x" * 101}, "q", "string_too_long"),
    ],
)
def test_invalid_parameter_is_422_naming_the_field(client, query, field, code):
    response = client.get(URL, query)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_parameters"
    assert body["message"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]
    assert body["errors"][0]["message"]


@pytest.mark.django_db
def test_every_invalid_parameter_is_reported(client):
    body = client.get(URL, {"kind": "castle", "page": 0}).json()
    assert sorted(e["field"] for e in body["errors"]) == ["kind", "page"]


@pytest.mark.django_db
def test_signed_in_people_get_the_same_public_answer(client, territory, agent_b, outsider):
    anonymous = client.get(URL).json()
    for person in (agent_b.user, outsider):
        client.force_login(person)
        assert client.get(URL).json() == anonymous


# The OpenAPI document and its documentation page


@pytest.fixture
def openapi(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_document_describes_the_operation(openapi):
    assert openapi["openapi"].startswith("3.")
    operation = openapi["paths"]["/api/v1/organisations"]["get"]
    assert operation["operationId"] == "list_organisations"
    assert operation["summary"]
    assert operation["description"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"kind", "departement", "adhesion", "q", "page", "page_size"}
    assert all(p["in"] == "query" and p["description"] for p in parameters.values())
    assert parameters["page_size"]["schema"]["maximum"] == 500
    assert set(operation["responses"]) == {"200", "400", "422", "429"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrganisationPage"
    }


def test_openapi_document_has_schemas_with_examples(openapi):
    schemas = openapi["components"]["schemas"]
    assert {"OrganisationPage", "OrganisationOut", "ValidationErrorOut", "ErrorOut"} <= set(schemas)
    assert set(schemas["OrganisationPage"]["properties"]) == {
        "total", "total_is_exact", "page", "page_size", "results",
    }  # fmt: skip
    assert "commune" in schemas["OrganisationKind"]["enum"]
    assert schemas["OrganisationOut"]["properties"]["siren"]["examples"] == ["212102313"]
    assert set(schemas["ErrorOut"]["properties"]) == {"code", "field", "message"}


def test_openapi_document_is_valid(openapi):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi)


def test_docs_page_loads_nothing_from_outside(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    # Every address the page loads is on the platform itself.
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded
    assert all(url.startswith("/static/") for url in loaded), loaded
    assert not re.search(r"https?://", html), "an absolute address in the docs page"
    # Swagger UI sends the document to an online validator unless told not to.
    assert '"validatorUrl": null' in html
