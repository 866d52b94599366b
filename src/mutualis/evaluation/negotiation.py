"""Opening a negotiation round (docs/adr/0009-evaluation.md, "Negotiation rounds").

Once the analysis of a consultation's offers is closed (every lot's), in a procedure that
allows negotiation (``procurement.vocabulary.allows_negotiation``), the buyer invites some
of the bidders whose offers were analysed (ranked: a late offer is eliminated, never
analysed) to improve them by a deadline. The round is a consultation of its own, the
child of the negotiated one (``procurement.rounds``), sealed, opened and analysed like
any other; each invited bidder receives an invitation to negotiate through the secure
messaging (``messaging``), with the round's deadline and the buyer's message.

This use case lives here rather than in ``procurement`` because it reads the analysis
(this context) and writes through ``messaging``, both above ``procurement`` in the
layers: ``procurement.rounds`` writes the round, as ``procurement.phases`` writes the
offer phase for ``deposits.admissions``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, override
from django_scopes import scope

from mutualis.messaging import services as messaging
from mutualis.procurement import deadlines
from mutualis.procurement import rounds as procurement_rounds
from mutualis.procurement.models import Consultation, Lot

from . import errors
from .models import Analysis, AnalysisState, Offer
from .services import BUYER, require

MAX_MESSAGE = 5000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def negotiable_bidders(consultation: Consultation) -> dict[int, str] | None:
    """The companies the next round may invite (id → name): those whose offers the
    consultation's analyses (every lot's) ranked, once every analysis is closed; None
    while one is missing or open."""
    analyses = list(
        Analysis.objects.filter(
            organisation_id=consultation.organisation_id, consultation_id=consultation.pk
        )
    )
    lots = Lot.objects.filter(consultation_id=consultation.pk).count()
    if not analyses or len(analyses) < max(lots, 1):
        return None
    if any(a.state != AnalysisState.CLOSED for a in analyses):
        return None
    return dict(
        Offer.objects.filter(organisation_id=consultation.organisation_id, analysis__in=analyses)
        .order_by("deposit__company__name", "deposit__company_id")
        .values_list("deposit__company_id", "deposit__company__name")
    )


def _message(text: Any) -> str:
    value = str(text or "").strip()
    if len(value) > MAX_MESSAGE or _CONTROL.search(value):
        raise errors.MessageInvalid()
    return value


def _invitation(round_: Consultation, message: str) -> tuple[str, str]:
    """The invitation's subject and body, in the platform's language: the messages are
    kept as sent, in the procedure's file."""
    from django.conf import settings

    with override(settings.LANGUAGE_CODE):
        subject = gettext("Invitation to negotiate: %(reference)s, round %(number)s") % {
            "reference": round_.reference,
            "number": round_.round,
        }
        body = gettext(
            "The buyer invites your company to negotiation round %(number)s of the"
            " consultation “%(title)s”: deposit your improved offer on the platform by"
            " %(deadline)s (Paris time). The offers of this round are sealed and opened"
            " apart from the earlier ones."
        ) % {
            "number": round_.round,
            "title": round_.title,
            "deadline": deadlines.display(round_.response_deadline),
        }
    if message:
        body = f"{body}\n\n{message}"
    return subject[:200], body


@transaction.atomic(durable=True)
def open_round(
    *,
    actor: Any,
    consultation_id: int,
    company_ids: list[int],
    deadline: datetime,
    message: str = "",
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Consultation:
    """Open the next negotiation round on the offers of ``consultation_id`` (the last
    consultation of its procedure's chain) for ``company_ids``, by ``deadline``; send
    each an invitation to negotiate. One audit event for the round
    (``consultation.round_opened``), and the messages' own."""
    require(actor, BUYER)
    now = now or timezone.now()
    text = _message(message)
    wanted = sorted(set(company_ids))
    with scope(organisation=actor.organisation_id):
        consultation = (
            Consultation.objects.select_for_update()
            .select_related("organisation")
            .filter(organisation_id=actor.organisation_id, pk=consultation_id)
            .first()
        )
        if consultation is None:
            raise errors.NotFound()
        # The procedure's rule, the state and the chain first: their refusal explains
        # more than "the analysis is not closed" would.
        procurement_rounds.check_negotiable(consultation, now=now)
        bidders = negotiable_bidders(consultation)
        if bidders is None:
            raise errors.AnalysisNotClosed()
        if any(company_id not in bidders for company_id in wanted):
            raise errors.NotABidder()
        round_ = procurement_rounds.open_round(
            actor=actor,
            parent=consultation,
            deadline=deadline,
            company_ids=wanted,
            message=text,
            now=now,
            request_context=context,
        )
        subject, body = _invitation(round_, text)
        for company_id in wanted:
            messaging.invite_to_negotiate(
                actor=actor,
                consultation_id=round_.pk,
                company_id=company_id,
                subject=subject,
                body=body,
                reply_by=deadline,
                now=now,
                context=context,
            )
    return round_
