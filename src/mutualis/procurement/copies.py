"""Start from a past consultation: a buyer copies a consultation of its own organisation,
whatever its state, into a new draft.

What is copied: every field the buyer typed (title, object, description, procedure,
category, CPV codes, DECP vocabulary, estimated value, contact…), the lots with their
CPV codes and values, the award criteria with their weights, the ESPD selection criteria.
What is not: the state and its dates (the copy is a draft), the cancellation, the group
of a group purchase (its members agree to each purchase anew), the consultation files
and everything businesses did (downloads, questions, deposits). The copy needs its own
internal reference, and both deadlines are entered again: a past consultation's
deadlines are past, and reusing them would invite a publication with stale dates.

Another member's consultation is "not found", as everywhere in the buyer's pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from . import errors
from .models import AwardCriterion, Consultation, Lot, refresh_cpv_prefixes
from .services import record_event, require_buyer

# Fields of the consultation that the copy takes as they are.
COPIED = (
    "title", "object", "description", "procedure", "category", "contract_nature",
    "main_cpv", "additional_cpv", "place_of_execution", "estimated_value",
    "signature_required", "contact", "ccag", "techniques", "execution_modes", "price_types",
    "price_form", "social_considerations", "environmental_considerations", "innovative",
    "advance_payment", "duration_months", "espd_selection", "negotiation_reserved",
)  # fmt: skip


@transaction.atomic(durable=True)
def copy_consultation(
    *,
    actor: Any,
    consultation_id: int,
    reference: str,
    questions_deadline: datetime,
    response_deadline: datetime,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """A new draft of the actor's organisation made from one of its consultations."""
    require_buyer(actor)
    source = Consultation.objects.get(pk=consultation_id, organisation_id=actor.organisation_id)
    if questions_deadline >= response_deadline:
        raise errors.QuestionsAfterResponses()
    copy = Consultation(
        organisation_id=actor.organisation_id,
        reference=reference.strip(),
        questions_deadline=questions_deadline,
        response_deadline=response_deadline,
        **{name: getattr(source, name) for name in COPIED},
    )
    try:
        with transaction.atomic():
            copy.save()
    except IntegrityError:
        raise errors.ReferenceTaken() from None
    Lot.objects.bulk_create(
        Lot(
            organisation_id=actor.organisation_id,
            consultation=copy,
            number=lot.number,
            title=lot.title,
            description=lot.description,
            cpv_codes=lot.cpv_codes,
            estimated_value=lot.estimated_value,
        )
        for lot in Lot.objects.filter(consultation=source, organisation_id=actor.organisation_id)
    )
    refresh_cpv_prefixes(copy.pk)  # the lots above came in bulk, without Lot.save()
    AwardCriterion.objects.bulk_create(
        AwardCriterion(
            organisation_id=actor.organisation_id,
            consultation=copy,
            label=criterion.label,
            weight=criterion.weight,
            position=criterion.position,
        )
        for criterion in AwardCriterion.objects.filter(
            consultation=source, organisation_id=actor.organisation_id
        )
    )
    record_event(
        copy,
        actor=actor,
        action="consultation.created",
        payload={"copied_from": source.pk},
        request_context=request_context,
    )
    return copy
