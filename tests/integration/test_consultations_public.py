"""The public portal: every member's published consultations, for anyone, with filters,
search and pagination; never a draft or a scheduled one; open computed from the deadline
at each read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from mutualis.procurement import crossings, services
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
    return [c.title for c in response.context["page"].object_list]


def test_anyone_reads_the_published_consultations_of_every_member(client, buyer, buyer_b):
    make_consultation(buyer, title="Toiture de l'église", publish=True)
    make_consultation(buyer_b, title="Cantine scolaire", publish=True)
    make_consultation(buyer, reference="draft", title="Brouillon secret")
    scheduled = make_consultation(buyer, reference="planned", title="Publication prévue")
    with scope(organisation=buyer.organisation_id):
        services.schedule_consultation(
            actor=buyer,
            consultation_id=scheduled.pk,
            publish_at=timezone.now() + timedelta(days=1),
        )

    response = client.get(LIST)

    assert response.status_code == 200
    assert sorted(titles(response)) == ["Cantine scolaire", "Toiture de l'église"]
    html = response.content.decode()
    assert "Brouillon secret" not in html
    assert "Publication prévue" not in html


def test_a_draft_has_no_public_page(client, buyer):
    draft = make_consultation(buyer)
    assert client.get(reverse("consultations:detail", kwargs={"pk": draft.pk})).status_code == 404


def test_the_public_page_shows_lots_criteria_deadlines_with_their_time_zone_and_contact(
    client, buyer
):
    consultation = make_consultation(
        buyer,
        lots=2,
        publish=True,
        contact="Service des marchés, 03 80 00 00 00",
        response_deadline=timezone.now().replace(month=1, day=20, hour=11, minute=0, second=0)
        + timedelta(days=400),
    )
    html = client.get(reverse("consultations:detail", kwargs={"pk": consultation.pk})).content
    html = html.decode()
    assert "Lot 1" in html
    assert "Lot 2" in html
    assert "Valeur technique" in html
    assert "60 %" in html
    assert "(Paris, UTC+01:00)" in html
    assert "Service des marchés, 03 80 00 00 00" in html
    assert "45261000-4" in html
    assert "Open for responses until" in html


def test_a_consultation_is_shown_closed_the_second_its_deadline_passes(client, buyer, settings):
    consultation = make_consultation(buyer, publish=True)
    # The job has not run: the stored state is still "published".
    with scope(organisation=buyer.organisation_id):
        type(consultation).objects.filter(pk=consultation.pk).update(
            response_deadline=timezone.now() - timedelta(seconds=1)
        )
    detail = client.get(reverse("consultations:detail", kwargs={"pk": consultation.pk}))
    assert "Closed: the deadline for responses has passed." in detail.content.decode()
    assert titles(client.get(LIST, {"state": "open"})) == []
    assert len(titles(client.get(LIST, {"state": "closed"}))) == 1


def test_the_search_ignores_accents_and_case(client, buyer):
    make_consultation(buyer, title="Réfection de l'ÉGLISE Saint-Michel", publish=True)
    make_consultation(buyer, reference="2", title="Voirie communale", publish=True)
    assert titles(client.get(LIST, {"q": "eglise st michel"})) == [
        "Réfection de l'ÉGLISE Saint-Michel"
    ]


def test_the_filters_narrow_by_buyer_procedure_and_category(client, buyer, buyer_b):
    make_consultation(buyer, title="A travaux", procedure="adapted", publish=True)
    make_consultation(
        buyer,
        reference="2",
        title="A fournitures",
        procedure="open",
        category="supplies",
        main_cpv="15894000",
        publish=True,
    )
    make_consultation(buyer_b, title="B travaux", publish=True)

    assert sorted(titles(client.get(LIST, {"buyer": "commune-b"}))) == ["B travaux"]
    assert titles(client.get(LIST, {"procedure": "open"})) == ["A fournitures"]
    assert sorted(titles(client.get(LIST, {"category": "works"}))) == ["A travaux", "B travaux"]


def test_the_list_is_paginated(client, buyer):
    for n in range(crossings.PER_PAGE + 1):
        make_consultation(buyer, reference=f"R{n}", criteria=(), publish=True)
    first = client.get(LIST)
    second = client.get(LIST, {"page": "2"})
    assert len(titles(first)) == crossings.PER_PAGE
    assert len(titles(second)) == 1
    assert 'rel="next"' in first.content.decode()


def test_the_list_reads_in_a_fixed_number_of_queries(
    client, buyer, buyer_b, django_assert_max_num_queries
):
    for n in range(5):
        make_consultation(buyer, reference=f"A{n}", publish=True)
        make_consultation(buyer_b, reference=f"B{n}", publish=True)
    with django_assert_max_num_queries(8):
        client.get(LIST)


def test_the_directory_page_of_a_member_lists_its_consultations(client, buyer, org_a):
    make_consultation(buyer, title="Toiture de l'église", publish=True)
    make_consultation(buyer, reference="draft", title="Brouillon secret")
    html = client.get(reverse("directory:detail", kwargs={"slug": org_a.slug})).content.decode()
    assert "Toiture de l&#x27;église" in html
    assert "Brouillon secret" not in html


def test_every_page_leads_anyone_to_the_public_consultations(client):
    home = client.get(reverse("core:home")).content.decode()
    assert f'href="{LIST}"' in home


def test_the_search_reads_the_description_and_excludes_words(client, buyer):
    make_consultation(
        buyer,
        title="Travaux de couverture",
        description="<p>Remplacement des <strong>ardoises</strong> de l'école.</p>",
        publish=True,
    )
    make_consultation(buyer, reference="2", title="Travaux de voirie", publish=True)

    assert titles(client.get(LIST, {"q": "ecole"})) == ["Travaux de couverture"]
    assert titles(client.get(LIST, {"q": "travaux -voirie"})) == ["Travaux de couverture"]
    # Tags are not words of the document.
    assert titles(client.get(LIST, {"q": "strong"})) == []
