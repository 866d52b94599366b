"""What one search of the portal and the API costs the database (``procurement.search``,
bench/RESULTS.md "procurement search"): the first page and its count in one query, a
narrow query asked by relevance counted then ranked; the page's rows made in Python once
(address, status, deadline in Paris); the indexes of the open consultations. Same rows,
order and counts as before: ``test_consultation_search.py`` holds those."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_scopes import scope

from mutualis.procurement import crossings, deadlines, search, services
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

LIST = "/consultations/"


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


def page(params: dict[str, str], **kwargs):
    return crossings.public_search_page(search.parse(params), now=timezone.now(), **kwargs)


def test_the_first_page_and_its_count_are_one_query(buyer, settings, django_assert_num_queries):
    settings.MUTUALIS_SEARCH_COUNT_CAP = 3
    for n in range(5):
        make_consultation(buyer, reference=f"R{n}", title=f"Travaux {n}", criteria=(), publish=True)
    with django_assert_num_queries(1):
        results = page({}, per_page=2)
    # Counted up to the cap (the page asks no more), the newest first.
    assert (results.count, results.count_is_exact) == (3, False)
    assert [c.title for c in results.page.object_list] == ["Travaux 4", "Travaux 3"]
    with django_assert_num_queries(1):
        narrow = page({"q": "travaux 2"}, per_page=2)
    assert (narrow.count, narrow.count_is_exact) == (1, True)
    assert [c.title for c in narrow.page.object_list] == ["Travaux 2"]


def test_relevance_asked_of_a_broad_query_is_one_query_by_date(
    buyer, settings, django_assert_num_queries
):
    settings.MUTUALIS_SEARCH_COUNT_CAP = 3
    for n in range(5):
        make_consultation(buyer, reference=f"R{n}", title=f"Travaux {n}", criteria=(), publish=True)
    with django_assert_num_queries(1):
        results = page({"q": "travaux", "sort": "relevance"}, per_page=2)
    assert results.sort == "recent"
    assert results.relevance_dropped
    assert [c.title for c in results.page.object_list] == ["Travaux 4", "Travaux 3"]


def test_a_search_matching_nothing_known_is_empty_without_a_query(
    buyer, settings, django_assert_max_num_queries
):
    make_consultation(buyer, title="Travaux", publish=True)
    # A département code no organisation has: its buyers are none, nothing is read.
    with django_assert_max_num_queries(1):  # the département's buyers (none)
        results = page({"departement": "2A"})
    assert (results.count, results.count_is_exact) == (0, True)
    assert list(results.page.object_list) == []


@pytest.mark.postgres
def test_a_narrow_query_asked_by_relevance_is_counted_then_ranked(buyer, django_assert_num_queries):
    make_consultation(
        buyer,
        reference="1",
        title="Travaux de voirie",
        description="<p>Aussi la toiture du préau.</p>",
        publish=True,
    )
    make_consultation(buyer, reference="2", title="Réfection de la toiture", publish=True)
    with django_assert_num_queries(2):
        results = page({"q": "toiture"})
    assert results.sort == "relevance"
    assert (results.count, results.count_is_exact) == (2, True)
    assert [c.title for c in results.page.object_list] == [
        "Réfection de la toiture",
        "Travaux de voirie",
    ]


def test_each_row_of_the_page_links_its_consultation_and_says_its_status(client, buyer):
    open_one = make_consultation(buyer, reference="O", title="Ouverte", publish=True)
    cancelled = make_consultation(buyer, reference="C", title="Annulée <b>& reprise", publish=True)
    with scope(organisation=buyer.organisation_id):
        services.cancel_consultation(
            actor=buyer,
            consultation_id=cancelled.pk,
            kind="discontinued",
            reason="Projet abandonné",
        )
    html = client.get(LIST).content.decode()
    for consultation in (open_one, cancelled):
        address = reverse("consultations:detail", kwargs={"pk": consultation.pk})
        assert f'<a href="{address}">{escape(consultation.title)}</a>' in html
    assert f"<td>{deadlines.display(open_one.response_deadline)}</td>" in html
    assert "<b>" not in html
    assert "<td>Open</td>" in html
    assert "<td>Discontinued (for a reason of general interest)</td>" in html
    slug = buyer.organisation.slug
    assert f'<a href="?buyer={slug}">{buyer.organisation.name}</a>' in html


@pytest.mark.postgres
def test_the_open_consultations_have_partial_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'procurement_consultation'"
            " AND indexname IN"
            " ('consultation_open', 'consultation_open_buyer', 'consultation_open_text')"
        )
        found = dict(cursor.fetchall())
    assert set(found) == {"consultation_open", "consultation_open_buyer", "consultation_open_text"}
    # A search of the open ones by words reads the words of the published rows alone.
    assert "gin (search_vector)" in found["consultation_open_text"]
    for definition in found.values():
        # Only the rows a search of the open consultations reads.
        assert "WHERE" in definition
        assert "'published'" in definition
        assert "parent_id IS NULL" in definition
        assert "NOT is_test" in definition


@pytest.mark.postgres
def test_words_and_cpv_prefixes_read_indexes_of_the_public_consultations_only():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'procurement_consultation'"
            " AND indexname IN ('consultation_public_text', 'consultation_public_cpv')"
        )
        found = dict(cursor.fetchall())
    assert set(found) == {"consultation_public_text", "consultation_public_cpv"}
    assert "gin (search_vector)" in found["consultation_public_text"]
    assert "gin (cpv_prefixes jsonb_path_ops)" in found["consultation_public_cpv"]
    for definition in found.values():
        # The condition under which crossings reads the public consultations, so that
        # PostgreSQL knows it holds for every row the index gives.
        assert "ARRAY['published'" in definition
        assert "'closed'" in definition
        assert "'cancelled'" in definition
        assert "parent_id IS NULL" in definition
        assert "NOT is_test" in definition
