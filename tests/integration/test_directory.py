"""The public directory: the list of organisations with its filters, and their public pages."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mutualis.core.models import Organisation, Subscription

LIST_URL = reverse("directory:list")


def detail_url(organisation) -> str:
    return reverse("directory:detail", args=[organisation.slug])


@pytest.fixture
def territory(make_org):
    """A région, two départements, an EPCI across both, and two communes."""
    region = make_org(name="Bourgogne-Franche-Comté", kind="region", insee_code="27")
    cote_dor = make_org(name="Côte-d'Or", kind="departement", insee_code="21", region=region)
    saone = make_org(name="Saône-et-Loire", kind="departement", insee_code="71", region=region)
    epci = make_org(
        name="CC Rives de Saône",
        kind="epci_cc",
        insee_code="",
        population=20000,
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
    )
    macon = make_org(name="Mâcon", insee_code="71270", region=region, departement=saone)
    return SimpleNamespace(
        region=region, cote_dor=cote_dor, saone=saone, epci=epci, dijon=dijon, macon=macon
    )


def names_listed(response) -> list[str]:
    return [o["name"] for o in response.context["page"].object_list]


# The list


@pytest.mark.django_db
def test_list_shows_every_organisation_in_a_table(client, territory):
    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert names_listed(response) == [
        "Bourgogne-Franche-Comté", "CC Rives de Saône", "Côte-d'Or", "Dijon", "Mâcon",
        "Saône-et-Loire",
    ]  # fmt: skip
    html = response.content.decode()
    assert "5 organisations" not in html
    assert "6 organisations" in html
    assert f'<a href="{detail_url(territory.dijon)}">Dijon</a>' in html
    assert "Communauté de communes" in html
    assert "21 \N{EN DASH} Côte-d&#x27;Or" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "commune"}, ["Dijon", "Mâcon"]),
        ({"adhesion": "member"}, ["CC Rives de Saône", "Dijon"]),
        ({"q": "saône"}, ["CC Rives de Saône", "Saône-et-Loire"]),
        ({"q": "rives saône"}, ["CC Rives de Saône"]),
        ({"q": "21231"}, ["Dijon"]),
        ({"kind": "commune", "adhesion": "prospect"}, ["Mâcon"]),
    ],
)
def test_list_filters(client, territory, query, expected):
    assert names_listed(client.get(LIST_URL, query)) == expected


@pytest.mark.django_db
def test_departement_filter_keeps_the_departement_its_organisations_and_spanning_epcis(
    client, territory
):
    """The EPCI is attached to Côte-d'Or but spans Saône-et-Loire too."""
    assert names_listed(client.get(LIST_URL, {"departement": "71"})) == [
        "CC Rives de Saône", "Mâcon", "Saône-et-Loire",
    ]  # fmt: skip
    assert names_listed(client.get(LIST_URL, {"departement": "21"})) == [
        "CC Rives de Saône", "Côte-d'Or", "Dijon",
    ]  # fmt: skip


@pytest.mark.django_db
def test_departement_select_offers_departements_by_code_and_name(client, territory):
    html = client.get(LIST_URL, {"departement": "71"}).content.decode()

    select = re.search(r'<select name="departement".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "21", "71"]
    assert '<option value="71" selected>71 \N{EN DASH} Saône-et-Loire</option>' in select
    assert '<label for="id_departement">' in html


@pytest.mark.django_db
def test_unknown_filter_value_is_shown_as_an_error_and_ignored(client, territory):
    response = client.get(LIST_URL, {"kind": "castle", "adhesion": "member"})

    assert response.status_code == 200
    assert names_listed(response) == ["CC Rives de Saône", "Dijon"]
    assert response.context["form"].errors["kind"]
    assert 'aria-invalid="true"' in response.content.decode()


@pytest.mark.django_db
def test_pagination_shows_50_a_page_and_keeps_the_filters(client, make_org):
    for n in range(120):
        make_org(name=f"Commune {n:03d}")
    make_org(name="Syndicat des eaux", kind="syndicat", siren="")

    first = client.get(LIST_URL, {"kind": "commune"})
    html = first.content.decode()
    assert len(names_listed(first)) == 50
    assert "120 organisations" in html
    assert "Page 1 of 3" in html
    assert 'href="?kind=commune&amp;page=2" rel="next"' in html
    assert 'href="?kind=commune&amp;page=3"' in html  # the last page

    last = client.get(LIST_URL, {"kind": "commune", "page": "3"})
    assert names_listed(last)[-1] == "Commune 119"
    assert len(names_listed(last)) == 20
    assert 'href="?kind=commune&amp;page=2" rel="prev"' in last.content.decode()


@pytest.mark.django_db
def test_page_out_of_range_shows_the_last_page(client, make_org):
    make_org(name="Only one")
    response = client.get(LIST_URL, {"page": "99"})
    assert names_listed(response) == ["Only one"]
    assert client.get(LIST_URL, {"page": "abc"}).status_code == 200
    # A page number whose offset would overflow the database's integers.
    assert names_listed(client.get(LIST_URL, {"page": str(10**22)})) == ["Only one"]


@pytest.mark.django_db
def test_no_result_says_so(client, territory):
    html = client.get(LIST_URL, {"q": "Atlantis"}).content.decode()
    assert "0 organisation" in html
    assert "<table" not in html


def _count_queries(client, url, query=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, query or {}).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_list_costs_the_same_queries_whatever_the_rows(client, make_org, territory):
    # The départements of the filter (then kept in the cache), the page; the count only
    # when the page is full.
    assert _count_queries(client, LIST_URL) == 2
    assert _count_queries(client, LIST_URL) == 1
    for n in range(60):
        make_org(
            name=f"Commune {n}",
            departement=territory.cote_dor,
            region=territory.region,
            epci=territory.epci,
        )

    assert _count_queries(client, LIST_URL) == 2
    # Page 2 is the last one: not full, so no count.
    assert _count_queries(client, LIST_URL, {"page": 2}) == 1
    # Plus the département and the EPCIs spanning it, read once, then kept in the cache.
    assert _count_queries(client, LIST_URL, {"departement": "21", "q": "commune"}) == 3
    assert _count_queries(client, LIST_URL, {"departement": "21", "q": "commune"}) == 2
    assert _count_queries(client, LIST_URL, {"departement": "21", "q": "commune 1"}) == 1


@pytest.mark.django_db
def test_a_page_that_is_not_full_gives_the_exact_count_without_counting(
    client, make_org, territory
):
    for n in range(60):
        make_org(name=f"Commune {n}", departement=territory.cote_dor, region=territory.region)
    total = Organisation.objects.count()
    last = (total - 1) // 50 + 1
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(LIST_URL, {"page": last}).content.decode()
    assert f"{total} organisations" in html
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    # Past the end: the last page, counted.
    assert f"{total} organisations" in client.get(LIST_URL, {"page": 99}).content.decode()


@pytest.mark.django_db
def test_list_for_a_signed_in_agent_has_a_bounded_query_budget(
    client, agent_a, territory, django_assert_max_num_queries
):
    client.force_login(agent_a.user)
    # Session, user, memberships with their roles, the services menu, then the three of
    # the page.
    with django_assert_max_num_queries(8):
        assert client.get(LIST_URL).status_code == 200


# The public page


@pytest.mark.django_db
def test_unknown_organisation_is_404(client):
    assert client.get(reverse("directory:detail", args=["atlantis"])).status_code == 404


@pytest.mark.django_db
def test_public_page_shows_the_public_facts(client, territory):
    response = client.get(detail_url(territory.dijon))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "<h1>Dijon</h1>" in html
    assert "<title>Dijon · Mutualis</title>" in html
    assert territory.dijon.siren in html
    assert "21231" in html
    assert "159" in html
    assert "346" in html
    for parent in (territory.cote_dor, territory.region, territory.epci):
        assert f'<a href="{detail_url(parent)}">{parent.name}</a>'.replace("'", "&#x27;") in html
    assert "Member" in html or "Adhérent" in html or "Membre" in html


@pytest.mark.django_db
def test_public_page_shows_the_services_subscribed(client, territory, in_scope_of):
    with in_scope_of(territory.dijon):
        Subscription.objects.create(
            organisation=territory.dijon, service_id="procurement", since=date(2025, 1, 1)
        )
        Subscription.objects.create(
            organisation=territory.dijon,
            service_id="signature",
            since=date(2025, 1, 1),
            is_active=False,
        )

    html = client.get(detail_url(territory.dijon)).content.decode()

    assert "Marchés publics (profil d&#x27;acheteur)" in html
    assert "Parapheur" not in html  # an ended subscription


@pytest.mark.django_db
def test_public_page_without_services_says_so(client, territory):
    html = client.get(detail_url(territory.macon)).content.decode()
    assert "subscribes to no service" in html


@pytest.mark.django_db
def test_epci_page_lists_its_communes_a_page_at_a_time(client, make_org, territory):
    for n in range(104):
        make_org(name=f"Village {n:03d}", epci=territory.epci)

    first = client.get(detail_url(territory.epci))
    html = first.content.decode()
    assert "105 member communes" in html
    assert len(first.context["communes"].object_list) == 100
    assert 'href="?communes=2#communes"' in html

    second = client.get(detail_url(territory.epci), {"communes": 2})
    # Dijon comes first: the second page holds the last five villages.
    assert [c.name for c in second.context["communes"]] == [
        "Village 099", "Village 100", "Village 101", "Village 102", "Village 103",
    ]  # fmt: skip


@pytest.mark.django_db
def test_departement_page_links_to_its_organisations(client, territory):
    html = client.get(detail_url(territory.cote_dor)).content.decode()
    assert f'href="{LIST_URL}?departement=21"' in html


@pytest.mark.django_db
def test_public_page_wears_the_member_colours_with_readable_text(client, make_org):
    organisation = make_org(primary_colour="#FFFF00", secondary_colour="#000080")

    html = client.get(detail_url(organisation)).content.decode()
    # The colours come from the page's stylesheet (the policy refuses style attributes).
    href = re.search(r'<link rel="stylesheet" href="([^"]*/colours\.css\?v=\w+)">', html)
    assert href, html
    css = client.get(href.group(1)).content.decode()

    assert css == (
        ".org-page {\n  --org-primary: #ffff00;\n  --org-on-primary: #000000;\n"
        "  --org-secondary: #000080;\n  --org-on-secondary: #ffffff;\n}\n"
    )


@pytest.mark.django_db
def test_public_page_costs_the_same_queries_for_a_big_epci(
    client, make_org, territory, django_assert_max_num_queries
):
    few = _count_queries(client, detail_url(territory.epci))
    for n in range(30):
        make_org(name=f"Village {n}", epci=territory.epci)
    assert _count_queries(client, detail_url(territory.epci)) == few
    # The organisation with its parents, its subscriptions, the communes' count and page,
    # its published consultations and the group purchases it takes part in (the two
    # buyer-profile sections procurement registers), and its DECP completeness (the
    # section decp registers: its figures, and their date).
    with django_assert_max_num_queries(8):
        client.get(detail_url(territory.epci))


@pytest.mark.django_db
def test_outsider_and_other_member_see_the_same_public_page(
    client, org_a, agent_b, outsider, in_scope_of
):
    """A public page shows public facts only: the same to everybody."""
    with in_scope_of(org_a):
        Subscription.objects.create(
            organisation=org_a, service_id="procurement", since=date(2025, 1, 1)
        )
    anonymous = client.get(detail_url(org_a)).context
    for person in (outsider, agent_b.user):
        client.force_login(person)
        response = client.get(detail_url(org_a))
        assert response.status_code == 200
        assert response.context["organisation"] == anonymous["organisation"]
        assert response.context["subscriptions"] == anonymous["subscriptions"]
        assert client.get(LIST_URL).status_code == 200


@pytest.mark.django_db
def test_directory_renders_in_english_after_choosing_it(client, territory, settings):
    settings.LANGUAGE_CODE = "fr"  # the platform's default language
    french = client.get(LIST_URL)
    assert '<html lang="fr">' in french.content.decode()

    response = client.post(
        reverse("set_language"), {"language": "en", "next": LIST_URL}, follow=True
    )

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == LIST_URL
    assert '<html lang="en">' in html
    assert "The territory's organisations" in html
    assert '<button type="submit" name="language" value="fr" lang="fr"' in html


@pytest.mark.django_db
def test_a_departement_lookup_is_kept_and_odd_codes_find_nothing(territory):
    from mutualis.directory import selectors

    first = selectors.departement_rows("21")
    assert first is not None
    assert first[0] == territory.cote_dor.pk
    with CaptureQueriesContext(connection) as ctx:
        assert selectors.departement_rows("21") == first
    assert ctx.captured_queries == []
    assert selectors.departement_rows("") is None
    for odd in ("99", "2 1", "21\x00", "é1", "2100"):
        assert selectors.departement_rows(odd) is None
        assert not selectors.search_organisations(departement=odd).exists()
