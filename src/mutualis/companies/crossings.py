"""Where the companies context reads across companies, each saying why
(``registry.crossing``).

``scopes_disabled()`` appears only in modules named ``crossings.py`` (a test checks it).
The operator back office reads companies through the crossings of the second section (see
``mutualis.core.crossings``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page
from django_scopes import scope, scopes_disabled

from mutualis.core.crossings import evaluated_page
from mutualis.core.registry import crossing

if TYPE_CHECKING:
    from .models import Company, CompanyInvitation, Establishment, JoinRequest, Representative


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


# --- The operator back office ------------------------------------------------------------
#
# Operator staff verify the businesses that sign up and suspend them: they read a
# company's public identity, who represents it and who asked to. Never what a company
# deposits on a member's consultation.


@crossing
def companies_page(*, number: Any, per_page: int, text: str = "", status: str = "") -> Page[Any]:
    """The back office's list of companies matching the filters, with their number of
    active representatives and of pending requests to join (counts, not the rows): the
    operator finds the businesses to verify."""
    from . import selectors

    with scopes_disabled():
        return evaluated_page(
            selectors.search_companies(text=text, status=status), number, per_page
        )


@crossing
def company_for_operator(pk: int) -> Company | None:
    """One company's row (identity, status, who verified it): the operator verifies or
    suspends it."""
    from . import selectors

    return selectors.company(pk)


@dataclass(frozen=True)
class CompanyFile:
    establishments: list[Establishment]
    representatives: list[Representative]
    join_requests: list[JoinRequest]
    invitations: list[CompanyInvitation]


@crossing
def company_file(company: Company) -> CompanyFile:
    """What the operator checks before verifying a company: its establishments, its
    representatives (former ones included), the requests to join it and its open
    invitations."""
    from . import selectors

    with scopes_disabled():
        return CompanyFile(
            establishments=list(selectors.establishments(company)),
            representatives=list(selectors.representatives(company)),
            join_requests=list(selectors.join_requests(company)),
            invitations=list(selectors.open_invitations(company)),
        )


@crossing
def company_by_siren(siren: str) -> Company | None:
    """The company a SIREN names, for the operator who binds an API client to it: public
    facts."""
    from .models import Company

    siren = siren.strip()
    if not siren:
        return None
    return Company.objects.filter(siren=siren).first()


@dataclass(frozen=True)
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


# --- Jobs over every company -----------------------------------------------------------


@crossing
def companies_with_documents_ending(*, start: date, end: date) -> list[int]:
    """The companies holding a current vault document whose validity ends between two
    dates (ids only): the expiry-reminder job then enters each one's scope in turn and
    reads its documents there."""
    from .models import VaultDocument, VaultDocumentState

    with scopes_disabled():
        return list(
            VaultDocument.objects.filter(
                state=VaultDocumentState.CURRENT, valid_until__range=(start, end)
            )
            .order_by("company_id")
            .values_list("company_id", flat=True)
            .distinct()
        )
