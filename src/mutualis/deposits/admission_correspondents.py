"""The companies that deposited a response, as correspondents of the secure messaging
(``messaging.correspondents``, which sits below deposits and cannot read them).

- The buyer sees a consultation's respondents only once its deadline has passed, as in
  its register (``services.register_visible``): until then nobody may learn who answers.
  Late responses are eliminated, and not counted.
- A company that deposited (on time or not, withdrawn since or not) may open a thread on
  the consultation: writing makes itself known to the buyer, by its own choice.
"""

from __future__ import annotations

from django.utils import timezone

from mutualis.messaging import correspondents
from mutualis.procurement.models import Consultation

from .models import Deposit, DepositState
from .services import register_visible

DEPOSITED = (DepositState.ACKNOWLEDGED, DepositState.SUPERSEDED, DepositState.WITHDRAWN)


def respondents(organisation_id: int, consultation_id: int) -> set[int]:
    """Inside the organisation's scope."""
    consultation = Consultation.objects.filter(
        pk=consultation_id, organisation_id=organisation_id
    ).first()
    if consultation is None or not register_visible(consultation, at=timezone.now()):
        return set()
    return set(
        Deposit.for_organisation.filter(
            organisation_id=organisation_id,
            consultation_id=consultation_id,
            state=DepositState.ACKNOWLEDGED,
            late=False,
        ).values_list("company_id", flat=True)
    )


def responded_to(company_id: int) -> set[int]:
    """Inside the company's scope."""
    return set(
        Deposit.for_company.filter(company_id=company_id, state__in=DEPOSITED).values_list(
            "consultation_id", flat=True
        )
    )


correspondents.declare_source(
    correspondents.Source(
        name="deposits.respondents",
        companies=respondents,
        consultations=responded_to,
        responded=True,
    )
)
