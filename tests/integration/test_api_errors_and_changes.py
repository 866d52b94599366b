"""The API's shared behaviour: one error shape for every error, and the change feed's
cursor pagination (GET /api/v1/organisations/changes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from mutualis.core.api.pagination import CURSOR_SALT
from mutualis.core.models import Organisation

pytestmark = pytest.mark.django_db

CHANGES = "/api/v1/organisations/changes"


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert {"code", "field", "message"} <= set(body)
    assert (body["code"], body["field"]) == (code, field)
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


# --- One error shape -----------------------------------------------------------------


def test_invalid_parameters_are_422_naming_the_field(client):
    body = assert_error(client.get(CHANGES, {"limit": 0}), 422, "invalid_parameters", "limit")
    assert [(e["code"], e["field"]) for e in body["errors"]] == [("greater_than_equal", "limit")]


def test_several_invalid_parameters_name_no_single_field(client):
    body = assert_error(
        client.get("/api/v1/organisations", {"kind": "castle", "page": 0}),
        422,
        "invalid_parameters",
    )
    assert sorted(e["field"] for e in body["errors"]) == ["kind", "page"]


@pytest.mark.urls("tests.integration.api_test_urls")
def test_missing_token_is_401(client):
    assert_error(client.get("/test-api/scope"), 401, "not_authenticated")


@pytest.mark.urls("tests.integration.api_test_urls")
def test_a_refused_use_case_is_400_with_its_code_and_field(client):
    assert_error(client.get("/test-api/refused"), 400, "test_refused", "name")


@pytest.mark.urls("tests.integration.api_test_urls")
def test_an_http_error_gets_a_code_from_its_status(client):
    body = assert_error(client.get("/test-api/conflict"), 409, "conflict")
    assert body["message"] == "Already done."


def test_the_openapi_document_has_no_key_twice(client, db):
    """A response declared twice (``200`` by ``response=`` and ``"200"`` in
    ``openapi_extra``) is written twice in the JSON: Python keeps the last one, Swagger UI
    refuses the whole document ("duplicated mapping key")."""
    import json

    repeated: list[tuple[str, ...]] = []

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _value in pairs]
        repeated.extend(tuple(keys) for key in keys if keys.count(key) > 1)
        return dict(pairs)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=unique)
    assert repeated == []


def test_openapi_documents_the_error_shape_on_every_operation(client):
    document = client.get("/api/v1/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorOut"}
    validation = {"$ref": "#/components/schemas/ValidationErrorOut"}
    for path in ("/api/v1/organisations", "/api/v1/organisations/changes"):
        responses = document["paths"][path]["get"]["responses"]
        assert responses["429"]["content"]["application/json"]["schema"] == error
        assert responses["422"]["content"]["application/json"]["schema"] == validation
    changes = document["paths"]["/api/v1/organisations/changes"]["get"]["responses"]
    assert changes["400"]["content"]["application/json"]["schema"] == error
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorOut"]["properties"]) == {"code", "field", "message"}
    assert set(schemas["ValidationErrorOut"]["properties"]) == {
        "code", "field", "message", "errors",
    }  # fmt: skip
    assert '"code"' in document["info"]["description"]


# --- The change feed -----------------------------------------------------------------


def walk(client, limit: int, cursor: str | None = None) -> tuple[list[str], str | None, int]:
    """Every page from ``cursor``: the names in order, the last cursor, the pages read."""
    names: list[str] = []
    pages = 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = client.get(CHANGES, params).json()
        pages += 1
        names += [row["name"] for row in body["results"]]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return names, cursor, pages


def test_the_feed_lists_organisations_in_the_order_of_modification(client, make_org):
    now = timezone.now()
    for n, minutes in enumerate([3, 1, 2]):
        org = make_org(name=f"Commune {n}")
        Organisation.objects.filter(pk=org.pk).update(updated_at=now - timedelta(minutes=minutes))

    body = client.get(CHANGES).json()

    assert [row["name"] for row in body["results"]] == ["Commune 0", "Commune 2", "Commune 1"]
    assert body["has_more"] is False
    assert body["next_cursor"]
    assert body["results"][0]["updated_at"]
    assert set(body["results"][0]) >= {"siren", "slug", "kind", "adhesion_status"}


def test_equal_timestamps_are_paged_in_a_stable_order_without_loss(client, make_org):
    orgs = [make_org(name=f"Commune {n}") for n in range(7)]
    same = timezone.now() - timedelta(hours=1)
    Organisation.objects.update(updated_at=same)

    names, cursor, pages = walk(client, limit=2)

    assert names == [o.name for o in sorted(orgs, key=lambda o: o.pk)]
    assert pages == 4
    # Nothing new: the last cursor gives an empty page and is handed back.
    again = client.get(CHANGES, {"cursor": cursor}).json()
    assert again == {"results": [], "has_more": False, "next_cursor": cursor}


def test_a_modified_organisation_comes_again_after_the_cursor(client, make_org):
    first, second = make_org(name="Commune 1"), make_org(name="Commune 2")
    Organisation.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    _names, cursor, _pages = walk(client, limit=10)

    first.name = "Commune 1 renommée"
    first.save()

    body = client.get(CHANGES, {"cursor": cursor}).json()
    assert [row["name"] for row in body["results"]] == ["Commune 1 renommée"]
    assert second.name not in [row["name"] for row in body["results"]]


def test_an_empty_feed_has_no_cursor_yet(client):
    assert client.get(CHANGES).json() == {"results": [], "has_more": False, "next_cursor": None}


def test_one_query_per_page(client, make_org, django_assert_num_queries):
    for n in range(5):
        make_org(name=f"Commune {n}")
    cursor = client.get(CHANGES, {"limit": 2}).json()["next_cursor"]

    with django_assert_num_queries(1):
        assert client.get(CHANGES, {"limit": 2, "cursor": cursor}).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
        lambda c: "not-a-cursor",
        # Well signed, but for another feed.
        lambda c: signing.dumps(["invoices", "2026-01-01T00:00:00+00:00", 1], salt=CURSOR_SALT),
        # Well signed, but not a position.
        lambda c: signing.dumps(["organisations", "yesterday", 1], salt=CURSOR_SALT),
        # A position signed with another key.
        lambda c: signing.dumps(
            ["organisations", "2026-01-01T00:00:00+00:00", 1], salt=CURSOR_SALT, key="x" * 50
        ),
    ],
)
def test_a_tampered_cursor_is_refused(client, make_org, tamper):
    make_org(name="Commune")
    cursor = client.get(CHANGES).json()["next_cursor"]

    assert_error(client.get(CHANGES, {"cursor": tamper(cursor)}), 400, "invalid_cursor", "cursor")
