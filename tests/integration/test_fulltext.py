"""Full-text search (core.fulltext) on the test context's notices, on both databases."""

from __future__ import annotations

import datetime

import pytest

from mutualis.core import fulltext
from tests.plugged.models import Notice

pytestmark = pytest.mark.django_db


def notice(title: str, description: str = "", day: int = 1) -> Notice:
    row = Notice.objects.create(
        title=title, description=description, published_on=datetime.date(2026, 12, day)
    )
    fulltext.index(Notice.objects.filter(pk=row.pk), {"A": [title], "C": [description]})
    return row


def found(text: str) -> set[str]:
    return set(fulltext.matching(Notice.objects.all(), text).values_list("title", flat=True))


@pytest.fixture
def notices() -> None:
    notice("Réfection de la toiture de l'école Jules Ferry", "Couverture en ardoise.", 1)
    notice("Fourniture de repas pour la cantine", "Restauration scolaire, 300 repas par jour.", 2)
    notice("Travaux de voirie rue Saint-Apollinaire", "Enrobés et bordures.", 3)


def test_an_accentless_query_finds_the_accented_word(notices):
    assert found("ecole") == {"Réfection de la toiture de l'école Jules Ferry"}
    assert found("REFECTION") == {"Réfection de la toiture de l'école Jules Ferry"}


def test_every_word_is_required(notices):
    assert found("toiture ardoise") == {"Réfection de la toiture de l'école Jules Ferry"}
    assert found("toiture cantine") == set()


def test_a_word_after_a_minus_excludes(notices):
    assert found("repas -cantine") == set()
    assert found("de -cantine") >= {"Travaux de voirie rue Saint-Apollinaire"}
    assert "Fourniture de repas pour la cantine" not in found("de -cantine")


def test_a_query_without_words_keeps_every_row(notices):
    assert len(found("  - ")) == 3
    assert len(found("")) == 3


@pytest.mark.parametrize(
    "hostile",
    ["\x00", "école\x00", "a & b | !c", "(((", "'", "toiture:*", "x" * 5000, '"unclosed'],
)
def test_hostile_queries_answer_without_error(notices, hostile):
    assert isinstance(found(hostile), set)


def test_the_document_is_rewritten_when_the_texts_change(notices):
    row = Notice.objects.get(title__startswith="Fourniture")
    row.title = "Fourniture de goûters"
    row.save()
    fulltext.index(Notice.objects.filter(pk=row.pk), {"A": [row.title], "C": [""]})

    assert found("goûters") == {"Fourniture de goûters"}
    assert found("scolaire") == set()


def test_an_empty_document_matches_no_word():
    row = notice("placeholder")
    fulltext.index(Notice.objects.filter(pk=row.pk), {})

    assert found("placeholder") == set()


@pytest.mark.postgres
def test_postgresql_stems_french_words(notices):
    # "écoles" and "école" share a lexeme; so do "travail" forms the stemmer joins.
    assert found("écoles") == {"Réfection de la toiture de l'école Jules Ferry"}
    assert found("repas cantines") == {"Fourniture de repas pour la cantine"}


@pytest.mark.postgres
def test_postgresql_reads_phrases_and_alternatives(notices):
    assert found('"toiture de l\'école"') == {"Réfection de la toiture de l'école Jules Ferry"}
    assert found("ardoise or enrobés") == {
        "Réfection de la toiture de l'école Jules Ferry",
        "Travaux de voirie rue Saint-Apollinaire",
    }


@pytest.mark.postgres
def test_a_title_match_ranks_above_a_description_match():
    in_description = notice("Prestations diverses", "Entretien des espaces verts.", 5)
    in_title = notice("Entretien des espaces verts", "Tonte et taille.", 1)

    ranked = list(
        fulltext.by_relevance(Notice.objects.all(), "espaces verts", then="-published_on")
    )

    assert ranked[:2] == [in_title, in_description]


def test_without_a_query_the_order_is_the_fallback(notices):
    ranked = fulltext.by_relevance(Notice.objects.all(), "", then="-published_on")

    assert [n.published_on.day for n in ranked] == [3, 2, 1]
