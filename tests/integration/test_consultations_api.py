"""The public API of the consultations: the portal's search as a paginated list, one
consultation, and a change feed a mirror follows without missing or repeating one, even
while consultations change between its pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from mutualis.procurement import services
from mutualis.procurement.models import Consultation
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

LIST = "/api/v1/consultations"
CHANGES = "/api/v1/consultations/changes"


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_b(agent_b):
    subscribe_to_procurement(agent_b.organisation)
    return agent_b


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def test_the_list_searches_like_the_portal(client, buyer, buyer_b):
    make_consultation(buyer, title="Réfection de la toiture", publish=True)
    make_consultation(
        buyer_b,
        title="Fournitures scolaires",
        category="supplies",
        main_cpv="30192000",
        procedure="open",
        publish=True,
    )
    make_consultation(buyer, reference="draft", title="Toiture en brouillon")

    body = ok(client.get(LIST))
    assert body["total"] == 2
    assert body["total_is_exact"] is True
    assert body["sort"] == "recent"
    assert {r["title"] for r in body["results"]} == {
        "Réfection de la toiture",
        "Fournitures scolaires",
    }

    (hit,) = ok(client.get(LIST, {"q": "TOITURE"}))["results"]
    assert hit["title"] == "Réfection de la toiture"
    assert hit["buyer"] == {"slug": "commune-a", "name": "Commune A"}
    assert hit["is_open"] is True
    assert hit["url"].endswith(f"/consultations/{hit['id']}/")
    assert [r["title"] for r in ok(client.get(f"{LIST}?cpv=30&cpv=72"))["results"]] == [
        "Fournitures scolaires"
    ]
    assert [
        r["title"] for r in ok(client.get(f"{LIST}?procedure=open&category=supplies"))["results"]
    ] == ["Fournitures scolaires"]
    assert ok(client.get(LIST, {"buyer": "commune-b", "state": "closed"}))["results"] == []


def test_the_list_renders_what_its_declared_schema_would(client, buyer):
    """The list skips ninja's response validation (``core.api.rendered``): its JSON must be
    what validating it against ``ConsultationPage`` and rendering would give."""
    import json

    from ninja.responses import NinjaJSONEncoder

    from mutualis.procurement.api import ConsultationPage

    make_consultation(buyer, title="Réfection de la toiture", publish=True, estimated_value=12500)
    make_consultation(buyer, reference="b", title="Fournitures", publish=True, estimated_value=None)
    response = client.get(LIST)
    body = ok(response)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    validated = ConsultationPage.model_validate(body).model_dump()
    assert json.loads(json.dumps(validated, cls=NinjaJSONEncoder)) == body
    assert {r["estimated_value"] for r in body["results"]} == {"12500.00", None}


def test_the_list_is_paginated(client, buyer):
    for n in range(3):
        make_consultation(buyer, reference=f"R{n}", criteria=(), publish=True)
    first = ok(client.get(LIST, {"page_size": 2}))
    second = ok(client.get(LIST, {"page_size": 2, "page": 2}))
    beyond = ok(client.get(LIST, {"page_size": 2, "page": 9}))
    assert (first["total"], len(first["results"]), len(second["results"])) == (3, 2, 1)
    assert beyond["results"] == []
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 3


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ("cpv=abc", 400, "cpv_format", "cpv"),
        ("cpv=99", 400, "cpv_unknown", "cpv"),
        ("buyer=nobody", 400, "buyer_unknown", "buyer"),
        ("departement=999", 400, "departement_unknown", "departement"),
        (
            "deadline_after=2027-03-02&deadline_before=2027-03-01",
            400,
            "date_order",
            "deadline_before",
        ),
        ("procedure=auction", 400, "invalid_choice", "procedure"),
        ("category=food&category=works", 400, "invalid_choice", "category"),
        ("state=ajar", 422, "invalid_parameters", "state"),
        ("deadline_after=2027-02-30", 422, "invalid_parameters", "deadline_after"),
        ("page=0", 422, "invalid_parameters", "page"),
        ("page_size=101", 422, "invalid_parameters", "page_size"),
        ("q=%00", 400, "control_character", "q"),
    ],
)
def test_bad_filters_are_refused_in_the_api_shape(client, db, query, status, code, field):
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["field"] == field
    assert body["message"]


def test_one_consultation_with_its_lots_and_criteria(client, buyer):
    c = make_consultation(buyer, lots=2, publish=True)
    body = ok(client.get(f"{LIST}/{c.pk}"))
    assert body["reference"] == c.reference
    assert [lot["number"] for lot in body["lots"]] == [1, 2]
    assert {k["label"]: k["weight"] for k in body["criteria"]} == {
        "Prix": 40,
        "Valeur technique": 60,
    }


def test_a_draft_or_a_scheduled_consultation_is_not_found(client, buyer, buyer_b):
    draft = make_consultation(buyer)
    scheduled = make_consultation(buyer_b, reference="later")
    with scope(organisation=buyer_b.organisation_id):
        services.schedule_consultation(
            actor=buyer_b,
            consultation_id=scheduled.pk,
            publish_at=timezone.now() + timedelta(days=1),
        )
    for pk in (draft.pk, scheduled.pk, 10**30, 0):
        response = client.get(f"{LIST}/{pk}")
        assert response.status_code in (404, 422), (pk, response.content)
    assert client.get(f"{LIST}/{draft.pk}").json()["code"] == "not_found"


def test_the_api_is_public_and_rate_limited(client, buyer, settings):
    settings.MUTUALIS_RATE_LIMITS_ENABLED = True
    settings.MUTUALIS_API_RATE_PER_ADDRESS = "2/m"
    from django.core.cache import cache

    cache.clear()
    statuses = [client.get(LIST).status_code for _n in range(3)]
    assert statuses == [200, 200, 429]


def test_every_operation_is_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/consultations"]
    assert "get" in paths["/api/v1/consultations/changes"]
    assert "get" in paths["/api/v1/consultations/{consultation_id}"]
    names = {p["name"] for p in paths["/api/v1/consultations"]["get"]["parameters"]}
    assert {
        "q",
        "buyer",
        "departement",
        "cpv",
        "procedure",
        "category",
        "state",
        "deadline_after",
        "deadline_before",
        "sort",
        "page",
        "page_size",
    } <= names


# --- The change feed -------------------------------------------------------------------


def read_all(client, cursor=None, limit=2, between=None) -> tuple[list[tuple[int, str]], str]:
    """Follow the feed to its end as a mirror does: (id, updated_at) of each result."""
    seen: list[tuple[int, str]] = []
    pages = 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = ok(client.get(CHANGES, params))
        seen += [(r["id"], r["updated_at"]) for r in body["results"]]
        cursor = body["next_cursor"]
        pages += 1
        if between is not None:
            between(pages)
        if not body["has_more"]:
            return seen, cursor


def test_the_change_feed_gives_each_published_consultation_once_in_order(client, buyer, buyer_b):
    made = [make_consultation(buyer, reference=f"A{n}", publish=True) for n in range(3)]
    made += [make_consultation(buyer_b, reference=f"B{n}", publish=True) for n in range(2)]
    make_consultation(buyer, reference="draft")

    seen, cursor = read_all(client)

    assert sorted(pk for pk, _at in seen) == sorted(c.pk for c in made)
    assert len(seen) == len(made)
    # Nothing changed: the cursor gives nothing more.
    assert ok(client.get(CHANGES, {"cursor": cursor}))["results"] == []


def test_a_mirror_misses_and_repeats_nothing_while_consultations_change(client, buyer):
    made = [
        make_consultation(buyer, reference=f"R{n}", criteria=(), publish=True) for n in range(6)
    ]
    changed: list[int] = []

    def change_some(pages: int) -> None:
        # After the first page: one already read and one not yet read both change.
        if pages == 1:
            with scope(organisation=buyer.organisation_id):
                for c in (made[0], made[5]):
                    fresh = Consultation.objects.get(pk=c.pk)
                    fresh.place_of_execution = "Mairie"
                    fresh.save()
                    changed.append(c.pk)

    seen, _cursor = read_all(client, between=change_some)

    ids = [pk for pk, _at in seen]
    # Every consultation is given; the one read before its change comes again, once,
    # with its new modification time; the one changed before it was read comes once.
    assert set(ids) == {c.pk for c in made}
    assert ids.count(made[0].pk) == 2
    assert ids.count(made[5].pk) == 1
    assert len(ids) == len(made) + 1
    # In modification order, never backwards.
    assert [at for _pk, at in seen] == sorted(at for _pk, at in seen)


def test_the_change_feed_gives_a_closing_and_a_cancellation(client, buyer):
    c = make_consultation(buyer, publish=True)
    _seen, cursor = read_all(client)
    with scope(organisation=buyer.organisation_id):
        services.cancel_consultation(
            actor=buyer, consultation_id=c.pk, kind="discontinued", reason="Projet abandonné"
        )
    body = ok(client.get(CHANGES, {"cursor": cursor}))
    assert [(r["id"], r["state"]) for r in body["results"]] == [(c.pk, "cancelled")]


def test_a_forged_cursor_is_refused(client, db):
    response = client.get(CHANGES, {"cursor": "forged"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
