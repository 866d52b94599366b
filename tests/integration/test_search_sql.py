"""The public search on PostgreSQL is SQL written by hand (``procurement.search_sql``);
``search.apply`` and the ORM stay its definition. Over the same rows, both readers give
the same pages: the same rows in the same order, with every column, the same count, the
same sort, page after page, for every parameter of the search."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.procurement import crossings, search
from mutualis.procurement.models import CancellationKind, Consultation, State
from mutualis.procurement.search_sql import SqlReader
from tests.factories.core import OrganisationFactory
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SUBJECTS = [
    ("Réfection de la toiture de l'église", "45261000", "works", "adapted"),
    ("Toiture et charpente de l'école", "45261210", "works", "open"),
    ("Rénovation de la chaufferie", "45331100", "works", "adapted"),
    ("Fourniture de repas scolaires", "15894000", "supplies", "open"),
    ("Fourniture de mobilier de la cantine", "39160000", "supplies", "adapted"),
    ("Entretien de l'éclairage public", "50232100", "services", "negotiated"),
    ("Travaux d'éclairage public", "45316110", "works", "open"),
    ("Nettoyage des locaux", "90910000", "services", "adapted"),
]

SEARCHES = [
    {},
    {"q": "toiture"},
    {"q": "fourniture", "sort": "relevance"},
    {"q": "eclairage public", "sort": "deadline"},
    {"q": '"eclairage public" -entretien'},
    {"q": "toiture or chaufferie", "sort": "relevance"},
    {"q": "st michel"},
    {"cpv": ["45"]},
    {"cpv": ["4526", "159"]},
    {"category": ["works"], "state": "open"},
    {"procedure": ["open", "negotiated"], "sort": "deadline"},
    {"state": "closed", "sort": "recent"},
    {"state": "open", "q": "fourniture"},
    {"buyer": ["commune-a"]},
    {"buyer": ["commune-a", "commune-b"], "category": ["supplies", "services"]},
    {"departement": ["21"]},
    {"departement": ["2A"]},
    {"deadline_after": "2026-01-01"},
    {"deadline_before": "2099-01-01", "deadline_after": "2000-01-01", "sort": "deadline"},
    {"q": "travaux", "sort": "relevance", "state": "closed"},
]


@pytest.fixture
def rows(agent_a, agent_b, org_a):
    """Consultations of two buyers, open, closed, cancelled, some sharing a publication
    date; a draft and the operator's test consultation, which no search lists."""
    subscribe_to_procurement(agent_a.organisation)
    subscribe_to_procurement(agent_b.organisation)
    cote_dor = OrganisationFactory(
        name="Côte-d'Or", slug="cote-d-or", kind="departement", insee_code="21"
    )
    org_a.departement = cote_dor
    org_a.save()
    now = timezone.now()
    made = []
    for number, ((title, cpv, category, procedure), actor) in enumerate(
        product(SUBJECTS, (agent_a, agent_b))
    ):
        made.append(
            make_consultation(
                actor,
                title=title,
                reference=f"2027-{number:03d}",
                main_cpv=cpv,
                category=category,
                procedure=procedure,
                lots=number % 3 == 0,
                publish=True,
            )
        )
    make_consultation(agent_a, title="Toiture (brouillon)", reference="2027-900")
    test = make_consultation(agent_a, title="Toiture (essai)", reference="2027-901", publish=True)
    with scopes_disabled():
        Consultation.objects.filter(pk=test.pk).update(is_test=True)
        for i, consultation in enumerate(made):
            changes = {
                # Pairs share a publication date: the identifier breaks the tie.
                "published_at": now - timedelta(days=40 - i // 2),
                "response_deadline": now + timedelta(days=(i % 5) * 7 - 14, hours=i),
            }
            if i % 7 == 3:
                changes["state"] = State.CANCELLED
                changes["cancellation_kind"] = CancellationKind.UNSUCCESSFUL
                changes["cancellation_reason"] = "Aucune offre."
            elif i % 5 == 0:
                changes["state"] = State.CLOSED
            Consultation.objects.filter(pk=consultation.pk).update(**changes)
    return made


def _page(params, reader_kind, page, *, now):
    criteria = search.parse(params)
    with scopes_disabled():
        if reader_kind == "orm":
            matching = search.apply(
                Consultation.objects.filter(
                    state__in=crossings.PUBLIC_STATES, parent__isnull=True, is_test=False
                ),
                criteria,
                now=now,
            )
            reader = search.QuerysetReader(matching, criteria, crossings.LIST_COLUMNS)
        else:
            reader = SqlReader(criteria, now, crossings.LIST_COLUMNS)
        found = crossings.public_search_page(
            criteria, now=now, page=page, per_page=3, reader=reader
        )
    values = [
        (
            *(getattr(row, name) for name in crossings.LIST_COLUMNS[:-2]),
            row.organisation.slug,
            row.organisation.name,
        )
        for row in found.page.object_list
    ]
    return {
        "rows": values,
        "count": found.count,
        "exact": found.count_is_exact,
        "sort": found.sort,
        "dropped": found.relevance_dropped,
        "number": found.page.number,
        "pages": found.page.paginator.num_pages,
    }


def test_sql_and_orm_give_the_same_pages(rows, settings, monkeypatch):
    # A small ranking cap, so that relevance gives way to the date on some searches.
    monkeypatch.setattr(search, "RELEVANCE_CAP", 5)
    now = timezone.now()
    compared = 0
    # 1,000: every count exact; 4: most counts stop at the cap ("more than 4").
    for cap, params, page in product((1000, 4), SEARCHES, (1, 2, 3, 9)):
        settings.MUTUALIS_SEARCH_COUNT_CAP = cap
        orm = _page(params, "orm", page, now=now)
        sql = _page(params, "sql", page, now=now)
        assert sql == orm, (cap, params, page)
        compared += len(orm["rows"])
    # The searches found rows: the comparison compared something.
    assert compared > 200
    # Every column is read, typed as the ORM types it.
    first = dict(
        zip(
            crossings.LIST_COLUMNS,
            _page({"q": "toiture"}, "sql", 1, now=now)["rows"][0],
            strict=True,
        )
    )
    assert "toiture" in first["title"].lower()
    assert first["organisation__slug"] in {"commune-a", "commune-b"}
    assert isinstance(first["additional_cpv"], list)
    assert first["published_at"].tzinfo is not None
