"""The public directory of the territory's organisations: public facts only.

``Organisation`` is not an organisation-owned table: every visitor, signed in or not, may
read it. Subscriptions are, and are read through ``core.crossings``.
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from mutualis.core.models import Organisation, OrganisationKind

# The columns the list page and the API show: the rest (fee category, colours, timestamps)
# is never read for a list.
LIST_FIELDS = (
    "pk", "name", "slug", "kind", "siren", "insee_code", "population", "adhesion_status",
    "adhesion_since",
    "departement__name", "departement__insee_code", "departement__slug",
    "region__insee_code", "epci__siren",
)  # fmt: skip


def search_organisations(
    *, kind: str = "", departement: str = "", adhesion: str = "", text: str = ""
) -> QuerySet[Organisation]:
    """Organisations matching the filters, by name; ``departement`` is an INSEE code ("21").

    A département filter keeps the département itself, the organisations attached to it,
    and the EPCIs whose communes lie partly in it. It uses subqueries rather than a join
    on the spanned départements, so that no ``DISTINCT`` is needed over the whole table.
    """
    qs = Organisation.objects.select_related("departement", "region", "epci").only(*LIST_FIELDS)
    if kind:
        qs = qs.filter(kind=kind)
    if adhesion:
        qs = qs.filter(adhesion_status=adhesion)
    if departement:
        departement_ids = Organisation.objects.filter(
            kind=OrganisationKind.DEPARTEMENT, insee_code=departement
        ).values("pk")
        spanning_ids = Organisation.departements_spanned.through.objects.filter(
            to_organisation__in=departement_ids
        ).values("from_organisation")
        qs = qs.filter(
            Q(departement__in=departement_ids) | Q(pk__in=departement_ids) | Q(pk__in=spanning_ids)
        )
    for word in text.split()[:8]:
        qs = qs.filter(Q(name__icontains=word) | Q(siren=word) | Q(insee_code=word))
    return qs.order_by("name", "pk")


def organisation_changes() -> QuerySet[Organisation]:
    """Every organisation with the fields of the API's list, for the change feed (which
    orders it by modification)."""
    return Organisation.objects.select_related("departement", "region", "epci").only(
        *LIST_FIELDS, "updated_at"
    )


def departement_choices() -> list[tuple[str, str]]:
    """The départements for a filter, by INSEE code, labelled "21 – Côte-d'Or"."""  # noqa: RUF002
    rows = (
        Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
        .exclude(insee_code="")
        .order_by("insee_code")
        .values_list("insee_code", "name")
    )
    return [(code, f"{code} \N{EN DASH} {name}") for code, name in rows]


def public_organisation(*, slug: str) -> Organisation | None:
    return (
        Organisation.objects.select_related("departement", "region", "epci")
        .filter(slug=slug)
        .first()
    )


def member_communes_page(*, epci: Organisation, page: object, per_page: int = 100) -> Page:
    """The communes of an EPCI, a page at a time (the largest have a few hundred)."""
    # The related manager sets ``commune.epci`` on each row: ``epci`` must not be deferred.
    communes = epci.member_communes.only("name", "slug", "epci").order_by("name", "pk")
    return Paginator(communes, per_page).get_page(page)
