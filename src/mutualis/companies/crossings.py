"""Where the companies context reads across companies, each saying why
(``registry.crossing``).

``scopes_disabled()`` appears only in modules named ``crossings.py`` (a test checks it).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django_scopes import scope, scopes_disabled

from mutualis.core.registry import crossing

if TYPE_CHECKING:
    from .models import Company, CompanyInvitation, JoinRequest, Representative


@crossing
def representations_of_user(user: Any, *, refresh: bool = False) -> list[Representative]:
    """A person's own active representations of every company: the switcher needs them
    before any company is chosen. ``refresh`` rereads them after the person joined one
    in the same request."""
    from .models import Representative

    if not user.is_authenticated:
        return []
    cache = getattr(user, "_mutualis_representations", None)
    if cache is not None and not refresh:
        return cache  # type: ignore[no-any-return]
    with scopes_disabled():
        representations = list(
            Representative.objects.filter(user=user, is_active=True)
            .select_related("company")
            .order_by("company__name", "pk")
        )
    user._mutualis_representations = representations
    return representations


@crossing
def join_requests_of_user(user: Any) -> list[JoinRequest]:
    """A person's own requests to join companies, in every company: the person follows
    them before any company accepts them."""
    from .models import JoinRequest

    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(
            JoinRequest.objects.filter(user=user)
            .select_related("company")
            .order_by("-created_at", "-pk")
        )


@dataclasses.dataclass(frozen=True)
class DisputeFile:
    """What operator staff read to resolve a disputed SIREN: who represents the company
    (former representatives included), the invitations still open, the requests to
    join (the rightful people often asked first)."""

    company: Company
    representatives: list[Representative]
    invitations: list[CompanyInvitation]
    join_requests: list[JoinRequest]


@crossing
def dispute_file(company_id: int) -> DisputeFile | None:
    """Operator staff resolving a disputed SIREN read one company's representatives,
    invitations and requests to join from the back office, where no company is named in
    the path: inside that company's own scope, nothing of another company."""
    from . import selectors
    from .models import Company

    company = Company.objects.select_related("verified_by").filter(pk=company_id).first()
    if company is None:
        return None
    with scope(company=company.pk):
        return DisputeFile(
            company=company,
            representatives=list(selectors.representatives(company)),
            invitations=list(selectors.open_invitations(company)),
            join_requests=list(selectors.join_requests(company)[:50]),
        )
