"""The test-only context's crossing (see ``mutualis.core.registry.crossing``)."""

from django_scopes import scopes_disabled

from mutualis.core.registry import crossing

from .models import Note


@crossing
def count_every_note() -> int:
    """A periodic count over every member's notes: a statistic, no note's content."""
    with scopes_disabled():
        return Note.objects.count()
