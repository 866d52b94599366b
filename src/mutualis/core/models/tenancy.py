from django.db import models
from django_scopes import ScopedManager


class OrganisationOwned(models.Model):
    """A row that belongs to one member organisation.

    Its default manager refuses every query outside a scope on the ``organisation``
    dimension (django-scopes), so that a forgotten filter fails loudly instead of
    leaking another member's data. The crossings made on purpose live in
    ``mutualis.core.crossings``.
    """

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )

    objects = ScopedManager(organisation="organisation")

    class Meta:
        abstract = True


class TwoPartyOwned(models.Model):
    """A row two parties hold: a member organisation and a company (a business's deposit
    on a buyer's consultation, a line of the download register).

    Each side reads through its own manager, inside its own scope: the buyer through
    ``for_organisation`` (scope on ``organisation``), the company through ``for_company``
    (scope on ``company``). Each manager filters by its dimension only, so each side sees
    the rows it holds and none of the other side's other rows; a side that reaches for
    the other's manager fails loudly, since the middleware never enters both dimensions.
    See docs/adr/0003-rows-two-parties-hold.md.

    The concrete model declares ``company`` (a foreign key to the companies context):
    core names no context above it.
    """

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )

    # The first manager is Django's default one (related lookups, dumps): the buyer's.
    for_organisation = ScopedManager(organisation="organisation")
    for_company = ScopedManager(company="company")

    class Meta:
        abstract = True
