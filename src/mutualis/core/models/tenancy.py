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
