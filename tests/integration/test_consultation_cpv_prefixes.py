"""``Consultation.cpv_prefixes``, which the search's CPV filter reads (an index on
PostgreSQL): it follows the consultation's codes and its lots (added, removed, copied),
survives a rectification, and both databases answer the same. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.procurement import copies, crossings, search, services
from mutualis.procurement.models import Consultation, cpv_prefixes, refresh_cpv_prefixes
from mutualis.procurement.rectifications import RectificationInput, rectify_consultation
from mutualis.procurement.services import LotInput
from tests.factories.procurement import (
    consultation_input,
    make_consultation,
    subscribe_to_procurement,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


def prefixes_of(consultation) -> list[str]:
    with scopes_disabled():
        return Consultation.objects.get(pk=consultation.pk).cpv_prefixes


def found(*prefixes: str) -> list[str]:
    criteria = search.parse({"cpv": list(prefixes)})
    results = crossings.public_search_page(criteria, now=timezone.now(), per_page=50)
    return sorted(c.reference for c in results.page.object_list)


def test_prefixes_are_every_two_to_eight_digit_start_of_each_code():
    assert cpv_prefixes(["45261000", "45261210-9", "", None, "bad", "72"]) == [
        "45",
        "452",
        "4526",
        "45261",
        "452610",
        "4526100",
        "45261000",
        "452612",
        "4526121",
        "45261210",
        "72",
    ]


def test_saving_a_consultation_writes_its_main_and_additional_codes(buyer):
    draft = make_consultation(buyer, main_cpv="45261000", additional_cpv=["72000000"])
    assert prefixes_of(draft) == cpv_prefixes(["45261000", "72000000"])
    with scope(organisation=buyer.organisation_id):
        services.update_consultation(
            actor=buyer,
            consultation_id=draft.pk,
            data=consultation_input(main_cpv="15894000", additional_cpv=[]),
        )
    assert prefixes_of(draft) == cpv_prefixes(["15894000"])


def test_lots_added_and_removed_are_followed(buyer):
    draft = make_consultation(buyer, main_cpv="15894000")
    with scope(organisation=buyer.organisation_id):
        lot = services.add_lot(
            actor=buyer,
            consultation_id=draft.pk,
            data=LotInput(number=1, title="Couverture", cpv_codes=["45261210"]),
        )
        assert "4526121" in prefixes_of(draft)
        services.remove_lot(actor=buyer, consultation_id=draft.pk, lot_id=lot.pk)
    assert prefixes_of(draft) == cpv_prefixes(["15894000"])


def test_the_search_finds_a_lot_code_until_the_lot_goes(buyer):
    kept = make_consultation(buyer, reference="KEPT", main_cpv="15894000", lots=1, publish=True)
    make_consultation(buyer, reference="OTHER", main_cpv="15894000", publish=True)
    assert found("4526") == ["KEPT"]
    assert found("15") == ["KEPT", "OTHER"]
    assert prefixes_of(kept) == cpv_prefixes(["15894000", "45261000"])


def test_a_rectification_keeps_the_lots_codes(buyer):
    published = make_consultation(buyer, reference="R", main_cpv="15894000", lots=1, publish=True)
    before = prefixes_of(published)
    with scope(organisation=buyer.organisation_id):
        rectify_consultation(
            actor=buyer,
            consultation_id=published.pk,
            data=RectificationInput(summary="Nouveau titre.", fields={"title": "Nouveau"}),
        )
    assert prefixes_of(published) == before
    assert found("45261") == ["R"]


def test_a_copy_carries_the_lots_codes(buyer):
    source = make_consultation(buyer, reference="SRC", main_cpv="15894000", lots=1)
    with scope(organisation=buyer.organisation_id):
        copy = copies.copy_consultation(
            actor=buyer,
            consultation_id=source.pk,
            reference="COPY",
            questions_deadline=source.questions_deadline,
            response_deadline=source.response_deadline,
        )
    assert prefixes_of(copy) == cpv_prefixes(["15894000", "45261000"])


def test_refreshing_a_consultation_that_is_gone_writes_nothing():
    assert refresh_cpv_prefixes(None) == []
    assert refresh_cpv_prefixes(2**31) == []


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (["45"], ["ADDITIONAL", "LOT", "MAIN"]),
        (["4526"], ["LOT", "MAIN"]),
        (["45261210"], ["LOT"]),
        (["452612"], ["LOT"]),
        (["4521"], ["ADDITIONAL"]),
        (["72"], ["ADDITIONAL"]),
        (["15", "72"], ["ADDITIONAL", "LOT", "NONE"]),
        (["39"], []),
    ],
)
def test_both_databases_answer_the_same(buyer, asked, expected):
    """The same expectations run on SQLite (the JSON text) and PostgreSQL (``@>`` on
    the GIN index): a prefix matches the start of a code, never its middle (4521 is in
    neither 45261000 nor 45261210)."""
    make_consultation(buyer, reference="MAIN", main_cpv="45261000", publish=True)
    make_consultation(
        buyer,
        reference="ADDITIONAL",
        main_cpv="72000000",
        additional_cpv=["45210000"],
        publish=True,
    )
    lot_one = make_consultation(buyer, reference="LOT", main_cpv="15894000")
    with scope(organisation=buyer.organisation_id):
        services.add_lot(
            actor=buyer,
            consultation_id=lot_one.pk,
            data=LotInput(number=1, title="Couverture", cpv_codes=["45261210"]),
        )
        services.publish_consultation(actor=buyer, consultation_id=lot_one.pk)
    make_consultation(buyer, reference="NONE", main_cpv="15894000", publish=True)
    assert found(*asked) == expected


@pytest.mark.postgres
def test_postgresql_reads_the_index(buyer):
    make_consultation(buyer, main_cpv="45261000", publish=True)
    with scopes_disabled(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'consultation_cpv_prefixes'"
        )
        (definition,) = cursor.fetchone()
    assert "gin" in definition
    assert "jsonb_path_ops" in definition
    criteria = search.parse({"cpv": "4526"})
    with scopes_disabled():
        rows = search.apply(Consultation.objects.all(), criteria, now=timezone.now()).values("pk")
        sql = str(rows.query)
    assert "@>" in sql
