"""The public directory of the territory's organisations: public facts only."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mutualis.core.models import Organisation


def search_organisations(
    *, kind: str = "", departement: str = "", adhesion: str = "", text: str = ""
) -> QuerySet[Organisation]:
    """Organisations matching the filters; ``departement`` is an INSEE code ("21")."""
    qs = Organisation.objects.select_related("departement", "region", "epci")
    if kind:
        qs = qs.filter(kind=kind)
    if adhesion:
        qs = qs.filter(adhesion_status=adhesion)
    if departement:
        qs = qs.filter(
            Q(departement__insee_code=departement)
            | Q(kind="departement", insee_code=departement)
            | Q(departements_spanned__insee_code=departement)
        ).distinct()
    for word in text.split()[:8]:
        qs = qs.filter(
            Q(name__icontains=word) | Q(siren=word) | Q(insee_code=word)
        )
    return qs.order_by("name", "pk")


def departements() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind="departement").order_by("insee_code")
