"""The search of published consultations (``procurement.search``): every parameter of the
portal, its Atom feed and the API narrows as named, sorts as asked, counts up to a cap,
and refuses bad input with a message, never a 500. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.procurement import crossings, search
from mutualis.procurement.deadlines import PARIS
from mutualis.procurement.models import Consultation
from tests.factories.core import OrganisationFactory
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

LIST = "/consultations/"


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_b(agent_b):
    subscribe_to_procurement(agent_b.organisation)
    return agent_b


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [c.title for c in response.context["page"].object_list]


def found(**params) -> list[str]:
    criteria = search.parse(params)
    results = crossings.public_search_page(criteria, now=timezone.now(), per_page=50)
    return sorted(c.title for c in results.page.object_list)


def test_buyer_filter_takes_one_or_several_slugs(client, buyer, buyer_b):
    make_consultation(buyer, title="A", publish=True)
    make_consultation(buyer_b, title="B", publish=True)
    assert sorted(titles(client.get(LIST, {"buyer": "commune-b"}))) == ["B"]
    assert sorted(titles(client.get(f"{LIST}?buyer=commune-a&buyer=commune-b"))) == ["A", "B"]


def test_departement_is_the_buyers(client, buyer, buyer_b, org_a):
    cote_dor = OrganisationFactory(
        name="Côte-d'Or", slug="cote-d-or", kind="departement", insee_code="21"
    )
    org_a.departement = cote_dor
    org_a.save()
    make_consultation(buyer, title="En Côte-d'Or", publish=True)
    make_consultation(buyer_b, title="Ailleurs", publish=True)
    assert titles(client.get(LIST, {"departement": "21"})) == ["En Côte-d'Or"]
    assert titles(client.get(LIST, {"departement": "2A"})) == []


def test_a_departements_buyers_are_read_once_then_kept(
    client, buyer, org_a, django_assert_num_queries
):
    from django.core.cache import cache

    cote_dor = OrganisationFactory(
        name="Côte-d'Or", slug="cote-d-or", kind="departement", insee_code="21"
    )
    org_a.departement = cote_dor
    org_a.save()
    make_consultation(buyer, title="En Côte-d'Or", publish=True)
    assert titles(client.get(LIST, {"departement": "21"})) == ["En Côte-d'Or"]
    # The list of the département's organisations is in the cache now: a second search
    # reads the consultations only.
    assert sorted(cache.get("procurement:buyers-in:21")) == sorted([org_a.pk, cote_dor.pk])
    with django_assert_num_queries(1):
        assert titles(client.get(LIST, {"departement": "21"})) == ["En Côte-d'Or"]


def test_cpv_prefix_reads_main_additional_and_lot_codes(buyer):
    make_consultation(buyer, reference="1", title="Main", main_cpv="45261000", publish=True)
    make_consultation(
        buyer,
        reference="2",
        title="Additional",
        main_cpv="15894000",
        additional_cpv=["72000000"],
        publish=True,
    )
    # make_consultation gives its lots the code 45261000.
    make_consultation(buyer, reference="3", title="Lot", main_cpv="15894000", lots=1, publish=True)
    make_consultation(buyer, reference="4", title="Other", main_cpv="15894000", publish=True)

    assert found(cpv=["45"]) == ["Lot", "Main"]
    assert found(cpv=["4526"]) == ["Lot", "Main"]
    # Trailing zeros pad a code: 45200000 is the group 452.
    assert found(cpv=["45200000"]) == ["Lot", "Main"]
    assert found(cpv=["72"]) == ["Additional"]
    assert found(cpv=["72", "45"]) == ["Additional", "Lot", "Main"]
    assert found(cpv=["15"]) == ["Additional", "Lot", "Other"]


def test_procedure_and_category_are_repeatable(client, buyer):
    make_consultation(buyer, reference="1", title="Adapted works", publish=True)
    make_consultation(
        buyer,
        reference="2",
        title="Open supplies",
        procedure="open",
        category="supplies",
        main_cpv="15894000",
        publish=True,
    )
    make_consultation(
        buyer,
        reference="3",
        title="Negotiated services",
        procedure="negotiated",
        category="services",
        main_cpv="72000000",
        publish=True,
    )
    assert titles(client.get(LIST, {"procedure": "open"})) == ["Open supplies"]
    assert sorted(titles(client.get(f"{LIST}?procedure=open&procedure=adapted"))) == [
        "Adapted works",
        "Open supplies",
    ]
    assert sorted(titles(client.get(f"{LIST}?category=works&category=services"))) == [
        "Adapted works",
        "Negotiated services",
    ]


def test_open_and_closed_are_computed_from_the_deadline_now(client, buyer):
    make_consultation(buyer, reference="1", title="Open", publish=True)
    late = make_consultation(buyer, reference="2", title="Late", publish=True)
    with scopes_disabled():
        # The job has not run yet: the state still says published.
        Consultation.objects.filter(pk=late.pk).update(
            response_deadline=timezone.now() - timedelta(seconds=1)
        )
    assert titles(client.get(LIST, {"state": "open"})) == ["Open"]
    assert titles(client.get(LIST, {"state": "closed"})) == ["Late"]


def test_the_deadline_window_is_in_paris_days(buyer):
    # 23:30 in Paris on 14 March is 22:30 UTC: the 14th in Paris, whatever UTC says.
    now = timezone.now()
    year = now.year + 1
    evening = datetime(year, 3, 14, 23, 30, tzinfo=PARIS)
    morning = datetime(year, 3, 15, 0, 30, tzinfo=PARIS)
    for ref, deadline in (("evening", evening), ("morning", morning)):
        make_consultation(
            buyer,
            reference=ref,
            title=ref,
            questions_deadline=now + timedelta(days=1),
            response_deadline=deadline,
            publish=True,
        )
    day14, day15 = date(year, 3, 14).isoformat(), date(year, 3, 15).isoformat()
    assert found(deadline_after=day14, deadline_before=day14) == ["evening"]
    assert found(deadline_after=day15) == ["morning"]
    assert found(deadline_before=day14) == ["evening"]


def test_sorting_by_deadline_and_by_publication(client, buyer):
    now = timezone.now()
    late = make_consultation(
        buyer,
        reference="1",
        title="Late deadline",
        response_deadline=now + timedelta(days=40),
        publish=True,
    )
    soon = make_consultation(
        buyer,
        reference="2",
        title="Soon deadline",
        response_deadline=now + timedelta(days=15),
        publish=True,
    )
    with scopes_disabled():
        Consultation.objects.filter(pk=soon.pk).update(published_at=now - timedelta(days=3))
        Consultation.objects.filter(pk=late.pk).update(published_at=now - timedelta(days=1))
    assert titles(client.get(LIST, {"sort": "deadline"})) == ["Soon deadline", "Late deadline"]
    assert titles(client.get(LIST, {"sort": "recent"})) == ["Late deadline", "Soon deadline"]
    assert titles(client.get(LIST)) == ["Late deadline", "Soon deadline"]


@pytest.mark.postgres
def test_relevance_puts_the_title_before_the_description(buyer):
    make_consultation(
        buyer,
        reference="1",
        title="Travaux de voirie",
        description="<p>Aussi la toiture du préau.</p>",
        publish=True,
    )
    make_consultation(buyer, reference="2", title="Réfection de la toiture", publish=True)
    criteria = search.parse({"q": "toiture"})
    results = crossings.public_search_page(criteria, now=timezone.now())
    assert results.sort == "relevance"
    assert [c.title for c in results.page.object_list] == [
        "Réfection de la toiture",
        "Travaux de voirie",
    ]


def test_a_broad_query_is_counted_up_to_the_cap_and_ordered_by_date(buyer, settings):
    settings.MUTUALIS_SEARCH_COUNT_CAP = 3
    for n in range(5):
        make_consultation(buyer, reference=f"R{n}", title=f"Travaux {n}", criteria=(), publish=True)
    criteria = search.parse({"q": "travaux"})
    results = crossings.public_search_page(criteria, now=timezone.now(), per_page=2)
    assert results.count == 3
    assert not results.count_is_exact
    assert results.sort == "recent"
    assert results.relevance_dropped
    # A page beyond the cap stays reachable: the count follows the page asked for.
    beyond = crossings.public_search_page(criteria, now=timezone.now(), per_page=2, page=3)
    assert beyond.page.number == 3
    assert [c.title for c in beyond.page.object_list] == ["Travaux 0"]


def test_the_page_says_more_than_the_cap(client, buyer, monkeypatch, settings):
    settings.MUTUALIS_SEARCH_COUNT_CAP = 2
    monkeypatch.setattr(crossings, "PER_PAGE", 1)
    for n in range(4):
        make_consultation(buyer, reference=f"R{n}", criteria=(), publish=True)
    html = client.get(LIST).content.decode()
    assert "More than 2 consultations" in html
    assert 'rel="next"' in html


def test_pagination_links_keep_every_filter(client, buyer):
    for n in range(crossings.PER_PAGE + 1):
        make_consultation(buyer, reference=f"R{n}", criteria=(), publish=True)
    response = client.get(f"{LIST}?q=toiture&procedure=adapted&cpv=45&state=open&sort=deadline")
    assert len(titles(response)) == crossings.PER_PAGE
    html = response.content.decode()
    assert (
        'href="?q=toiture&amp;procedure=adapted&amp;cpv=45&amp;state=open&amp;sort=deadline'
        '&amp;page=2" rel="next"'
    ) in html
    second = client.get(
        f"{LIST}?q=toiture&procedure=adapted&cpv=45&state=open&sort=deadline&page=2"
    )
    assert len(titles(second)) == 1


def test_the_form_is_labelled_and_grouped(client, buyer):
    html = client.get(LIST).content.decode()
    assert html.count("<fieldset") >= 4
    for name in ("q", "buyer", "departement", "cpv", "state", "deadline_after", "sort"):
        assert f'for="id_{name}"' in html
    assert "<legend>Procedure</legend>" in html or "<legend>Procédure</legend>" in html
    assert 'rel="alternate" type="application/atom+xml"' in html


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"cpv": "abc"}, "cpv", "cpv_format"),
        ({"cpv": "4"}, "cpv", "cpv_format"),
        ({"cpv": "123456789"}, "cpv", "cpv_format"),
        ({"cpv": "99"}, "cpv", "cpv_unknown"),
        ({"departement": "99"}, "departement", "departement_unknown"),
        ({"buyer": "nobody-here"}, "buyer", "buyer_unknown"),
        ({"buyer": "not a slug"}, "buyer", "buyer_unknown"),
        ({"procedure": "auction"}, "procedure", "invalid_choice"),
        ({"category": "food"}, "category", "invalid_choice"),
        ({"state": "ajar"}, "state", "invalid_choice"),
        ({"sort": "price"}, "sort", "invalid_choice"),
        ({"deadline_after": "2027-02-30"}, "deadline_after", "invalid"),
        ({"deadline_after": "99999-01-01"}, "deadline_after", "invalid"),
        ({"deadline_before": "0001-01-01"}, "deadline_before", "date_out_of_range"),
        (
            {"deadline_after": "2027-03-02", "deadline_before": "2027-03-01"},
            "deadline_before",
            "date_order",
        ),
        ({"q": "x" * 201}, "q", "max_length"),
        ({"cpv": " ".join(["45"] * 21)}, "cpv", "too_many"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(client, db, params, field, code):
    with pytest.raises(search.InvalidSearch) as refused:
        search.parse(params)
    assert (refused.value.errors[0]["field"], refused.value.errors[0]["code"]) == (field, code)
    response = client.get(LIST, params)
    assert response.status_code == 400
    assert response.context["form"].errors[field]


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=%FF%FE",
        "cpv=45%00",
        f"q={'x' * 20_000}",
        "page=99999999999999999999999",
        "page=-3",
        "deadline_after=%00",
    ],
)
def test_hostile_input_never_gives_a_500(client, db, query):
    response = client.get(f"{LIST}?{query}")
    assert response.status_code in (200, 400)


def test_the_search_reads_no_draft(client, buyer):
    make_consultation(buyer, reference="draft", title="Brouillon toiture")
    with scope(organisation=buyer.organisation_id):
        pass
    assert titles(client.get(LIST, {"q": "toiture"})) == []


def test_the_same_search_gives_its_parameters_back(db):
    criteria = search.parse(
        {"q": "toiture", "cpv": ["45", "72"], "state": "open", "deadline_after": "2027-01-02"}
    )
    assert search.parse(criteria.as_query()) == criteria
    assert criteria.as_query().urlencode() == (
        "q=toiture&cpv=45&cpv=72&state=open&deadline_after=2027-01-02"
    )
