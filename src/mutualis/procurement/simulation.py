"""The permanent test consultation: the operator's, on every instance (``mutualis setup``
makes it, not only the demo), published and always open, so that any company can run a
whole deposit — receipt, sealing, log entry — before depositing for real (the
buyer-profile arrêté asks for such a simulation), and so that the platform can probe its
own deposit path around real deadlines (``deposits.availability``).

It is never listed: the portal's search, its feeds, the change feed, the buyers' filter
and the member's page skip it (``crossings``); its own page says what it is. Its
deadline rolls forward: a year ahead, moved again when less than a month remains, so
that it never closes (the deadline job has nothing to check on it). Each change is one
event on the operator's audit chain, by the named system actor ``TEST_ACTOR``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from mutualis.core import audit

from . import crossings, transitions
from .models import Consultation
from .transitions import Event
from .vocabulary import Category, Procedure

TEST_ACTOR = audit.SystemActor("procurement.simulation")
REFERENCE = "TEST-DEPOT"
# IT services: software package and information systems (a code of the CPV 2008).
CPV = "72000000"
AHEAD = timedelta(days=365)
ROLL_WHEN = timedelta(days=30)


def _new(organisation_id: int, now: datetime) -> Consultation:
    consultation = Consultation(
        organisation_id=organisation_id,
        reference=REFERENCE,
        title=str(_("Test consultation: deposit simulation")),
        object=str(
            _(
                "A consultation that buys nothing: any company may deposit a response here "
                "to try the whole deposit (encryption in the browser, receipt, public log) "
                "before a real deadline. Nobody holds its opening key: what is deposited "
                "here is never opened."
            )
        ),
        procedure=Procedure.ADAPTED,
        category=Category.SERVICES,
        main_cpv=CPV,
        questions_deadline=now + AHEAD - timedelta(days=1),
        response_deadline=now + AHEAD,
        contact=str(_("The platform's operator")),
        is_test=True,
    )
    transitions.apply(consultation, Event.PUBLISH)
    # The deadline job never closes it (nothing to check): its deadline rolls instead.
    consultation.next_check = None
    consultation.published_at = now
    consultation.save()
    return consultation


@transaction.atomic(durable=True)
def ensure_test_consultation(*, now: datetime | None = None) -> tuple[Consultation | None, str]:
    """Make the test consultation if missing (once the operator's organisation exists),
    or roll its deadline forward when it comes near. Returns it and what was done:
    ``"created"``, ``"rolled"``, ``"unchanged"`` or ``"no_operator"``. Idempotent."""
    now = now or timezone.now()
    existing = crossings.simulation_consultation()
    if existing is None:
        operator_id = crossings.operator_id()
        if operator_id is None:
            return None, "no_operator"
        try:
            with scope(organisation=operator_id), transaction.atomic():
                consultation = _new(operator_id, now)
        except IntegrityError:
            # Another run made it (one test consultation: a unique constraint).
            return crossings.simulation_consultation(), "unchanged"
        audit.record(
            actor=TEST_ACTOR,
            organisation=consultation.organisation,
            action="consultation.test_created",
            target=consultation,
            payload={"state": consultation.state},
        )
        return consultation, "created"
    if existing.response_deadline - now > ROLL_WHEN:
        return existing, "unchanged"
    with scope(organisation=existing.organisation_id):
        consultation = Consultation.objects.select_for_update().get(pk=existing.pk)
        consultation.questions_deadline = now + AHEAD - timedelta(days=1)
        consultation.response_deadline = now + AHEAD
        consultation.save()
    audit.record(
        actor=TEST_ACTOR,
        organisation=consultation.organisation,
        action="consultation.test_rolled",
        target=consultation,
        payload={"state": consultation.state, "deadline": consultation.response_deadline},
    )
    return consultation, "rolled"
