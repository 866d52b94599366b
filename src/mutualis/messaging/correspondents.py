"""Who may correspond about a consultation: the companies that responded to it or
downloaded its files.

Messaging sits below ``deposits`` (the sealed responses) and cannot read them; the
contexts that know a company's link to a consultation declare a ``Source`` here instead
(``deposits`` declares the companies that deposited: ``deposits/admission_correspondents``).
Messaging declares the one it can read itself: procurement's register of identified
downloaders (a line with a company of the platform).

- The buyer may open a thread with any company of any source; "write to all" goes to the
  companies of the sources that count as a response (``responded``).
- A company may open a thread on a consultation that a source links it to, or on an
  offer phase that invites it; in a thread the buyer opened, it may always answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from mutualis.procurement.models import Downloader


@dataclasses.dataclass(frozen=True)
class Source:
    """``companies(organisation_id, consultation_id)`` is read inside the organisation's
    scope; ``consultations(company_id)`` inside the company's."""

    name: str
    companies: Callable[[int, int], set[int]]
    consultations: Callable[[int], set[int]]
    responded: bool


_sources: dict[str, Source] = {}


def declare_source(source: Source) -> None:
    """Declare a source (once; declaring the same again is harmless)."""
    existing = _sources.get(source.name)
    if existing is not None and existing != source:
        raise ValueError(f"Correspondents source {source.name!r} is declared twice.")
    _sources[source.name] = source


def sources() -> list[Source]:
    return [_sources[name] for name in sorted(_sources)]


def companies_of(
    *, organisation_id: int, consultation_id: int, responded: bool = False
) -> set[int]:
    """The companies the buyer may write to about the consultation (``responded``: those
    that responded only)."""
    found: set[int] = set()
    for source in sources():
        if source.responded or not responded:
            found |= source.companies(organisation_id, consultation_id)
    return found


def consultations_of(*, company_id: int) -> set[int]:
    """The consultations the company may open a thread on."""
    found: set[int] = set()
    for source in sources():
        found |= source.consultations(company_id)
    return found


# --- Procurement's register of identified downloaders ------------------------------------


def _downloading_companies(organisation_id: int, consultation_id: int) -> set[int]:
    return set(
        Downloader.for_organisation.filter(
            organisation_id=organisation_id,
            consultation_id=consultation_id,
            company__isnull=False,
        ).values_list("company_id", flat=True)
    )


def _downloaded_consultations(company_id: int) -> set[int]:
    return set(
        Downloader.for_company.filter(company_id=company_id).values_list(
            "consultation_id", flat=True
        )
    )


declare_source(
    Source(
        name="procurement.downloaders",
        companies=_downloading_companies,
        consultations=_downloaded_consultations,
        responded=False,
    )
)
