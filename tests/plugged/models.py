"""Rows of the test-only context: one a member owns, one a member and a company hold."""

from django.db import models

from mutualis.core.fulltext import Searchable
from mutualis.core.models import OrganisationOwned, TwoPartyOwned


class Note(OrganisationOwned):
    text = models.CharField(max_length=200)


class SharedNote(TwoPartyOwned):
    """Like a deposit: the buyer's organisation and the company both hold it."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    text = models.CharField(max_length=200)


class Notice(Searchable):
    """A text searched in full (core.fulltext), as a consultation will be."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    published_on = models.DateField()
