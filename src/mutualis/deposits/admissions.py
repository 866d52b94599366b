"""Use cases of a two-phase procedure's candidates (restricted call for tenders, negotiated
procedure, competitive dialogue: ``procurement.vocabulary.TWO_PHASE``).

First phase: companies deposit applications (``Phase.APPLICATION``) on the published
consultation, sealed like any response, until its deadline (the deadline for
applications); the commission opens them (``opening``), late ones shown apart. Then the
buyer decides on each candidate received on time: admitted to submit an offer, or not,
with the reasons (``decide``; changed freely until notified). Notifying (``notify``)
fixes every decision at once, opens the offer phase (``procurement.phases``: a
consultation of its own, with the deadline for offers, its own opening key, deposit log
and opening) for the admitted candidates only, and tells every candidate by e-mail and
on its deposit page: the admitted ones with the offer phase's deadline and deposit page,
the others with the reasons.

An application may also be incomplete (R2144-2): the buyer asks the candidate for the
missing documents by a date (``request_documents``), which sends a message of the secure
messaging (kind "request for missing documents", with that date) to the company; the
candidate answers in that thread with its files; the buyer then admits or refuses it
(``decide``), and a candidate asked and silent past the date may be refused for that
reason (``refuse_silent``). While a request is pending, the decisions cannot be notified.

Each decision, request and notification is one audit event on the buyer's chain (the
message itself is audited on both chains by messaging); the state of an admission changes
only through ``admission_transitions``.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope

from mutualis.companies import selectors as company_selectors
from mutualis.companies.models import Company
from mutualis.core import audit
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email, render_text
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription
from mutualis.messaging import selectors as messaging_selectors
from mutualis.messaging import services as messaging_services
from mutualis.messaging.models import Message, Side
from mutualis.procurement import deadlines, phases
from mutualis.procurement import selectors as procurement_selectors
from mutualis.procurement.models import Consultation

from . import (
    admission_correspondents,  # noqa: F401 (declares the deposits' messaging correspondents)
    admission_errors,
    admission_transitions,
    errors,
)
from .admission_transitions import Event
from .models import (
    Admission,
    AdmissionDecision,
    AdmissionState,
    Deposit,
    DepositState,
    OpeningSession,
    Phase,
)

BUYER = "buyer"
MAX_REASONS = 2000


def _require_buyer(actor: Any) -> None:
    require_role(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        require_subscription(actor.organisation_id, "procurement")


@dataclasses.dataclass(frozen=True)
class Candidate:
    company: Company
    application: Deposit
    admission: Admission | None
    # Awaiting documents: the company's messages in the thread since the request.
    answers: int = 0
    thread_id: int | None = None

    @property
    def silent_past_deadline(self) -> bool:
        """Asked for documents, silent, and the date passed: may be refused for that."""
        admission = self.admission
        return bool(
            admission is not None
            and admission.state == AdmissionState.AWAITING_DOCUMENTS
            and admission.documents_deadline is not None
            and admission.documents_deadline <= timezone.now()
            and not self.answers
        )


@dataclasses.dataclass(frozen=True)
class Candidates:
    on_time: list[Candidate]
    # Received after the deadline for applications: kept, shown apart, never admitted.
    late: list[Deposit]
    opened: bool
    notified: bool
    offer_phase: Consultation | None


def _applications(consultation_id: int) -> list[Deposit]:
    return list(
        Deposit.for_organisation.filter(
            consultation_id=consultation_id,
            phase=Phase.APPLICATION,
            state=DepositState.ACKNOWLEDGED,
        )
        .select_related("company")
        .order_by("company__name", "received_at", "pk")
    )


def _opened(consultation_id: int) -> bool:
    return OpeningSession.objects.filter(
        consultation_id=consultation_id, completed_at__isnull=False
    ).exists()


def _on_time_by_company(applications: list[Deposit]) -> dict[int, Deposit]:
    # One candidate per company (with lots, its first application on time).
    found: dict[int, Deposit] = {}
    for deposit in applications:
        if not deposit.late:
            found.setdefault(deposit.company_id, deposit)
    return found


def _two_phase(organisation_id: int, consultation_id: int) -> Consultation:
    consultation = procurement_selectors.consultation(
        organisation_id=organisation_id, consultation_id=consultation_id
    )
    if consultation is None or not consultation.takes_applications:
        raise errors.NotTwoPhase()
    return consultation


def candidates_of(*, organisation_id: int, consultation_id: int) -> Candidates:
    """The buyer's view of the candidates of its two-phase consultation."""
    with scope(organisation=organisation_id):
        consultation = _two_phase(organisation_id, consultation_id)
        applications = _applications(consultation.pk)
        admissions = {
            a.company_id: a
            for a in Admission.for_organisation.filter(
                consultation_id=consultation.pk
            ).select_related("documents_request")
        }
        on_time = _on_time_by_company(applications)
        answers = _answers(
            a.documents_request for a in admissions.values() if a.documents_request is not None
        )
        return Candidates(
            on_time=[
                _candidate(deposit, admissions.get(company_id), answers)
                for company_id, deposit in on_time.items()
            ],
            late=[d for d in applications if d.late],
            opened=_opened(consultation.pk),
            notified=any(a.state == AdmissionState.NOTIFIED for a in admissions.values()),
            offer_phase=phases.offer_phase_of(consultation),
        )


def _answers(requests: Iterable[Message]) -> dict[int, int]:
    """The company's messages in each request's thread since the request was sent (as
    ``messaging_selectors.company_replies_since``), by thread, in one query for all the
    candidates (one request per candidate's thread)."""
    since = [Q(thread_id=r.thread_id, sent_at__gt=r.sent_at) for r in requests]
    if not since:
        return {}
    return dict(
        Message.for_organisation.filter(functools.reduce(operator.or_, since), side=Side.COMPANY)
        .order_by()
        .values("thread_id")
        .annotate(count=Count("pk"))
        .values_list("thread_id", "count")
    )


def _candidate(
    application: Deposit, admission: Admission | None, answers: dict[int, int]
) -> Candidate:
    request = admission.documents_request if admission is not None else None
    if request is None:
        return Candidate(application.company, application, admission)
    return Candidate(
        application.company,
        application,
        admission,
        answers=answers.get(request.thread_id, 0),
        thread_id=request.thread_id,
    )


def _clean_reasons(decision: str, reasons: str) -> str:
    # The incomplete decision is a request for documents (``request_documents``).
    if decision not in (AdmissionDecision.ADMITTED, AdmissionDecision.REJECTED):
        raise errors.AdmissionDecisionInvalid()
    reasons = (reasons or "").strip()
    if "\x00" in reasons or len(reasons) > MAX_REASONS:
        raise errors.AdmissionReasonsRequired()
    if decision == AdmissionDecision.REJECTED and not reasons:
        raise errors.AdmissionReasonsRequired()
    return reasons


@transaction.atomic(durable=True)
def decide(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    decision: str,
    reasons: str = "",
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Admission:
    """Record (or change, until notified) the decision on one candidate."""
    _require_buyer(actor)
    reasons = _clean_reasons(decision, reasons)
    now = now or timezone.now()
    with scope(organisation=actor.organisation_id):
        return _decide(
            actor=actor,
            consultation_id=consultation_id,
            company_id=company_id,
            decision=decision,
            reasons=reasons,
            now=now,
            context=context,
        )


def _candidate_for_update(
    actor: Any, consultation_id: int, company_id: int
) -> tuple[Consultation, Deposit, Admission | None]:
    """The consultation, the candidate's on-time application and its admission row
    (locked), or the refusal."""
    consultation = _two_phase(actor.organisation_id, consultation_id)
    if not _opened(consultation.pk):
        raise errors.AdmissionBeforeOpening()
    application = _on_time_by_company(_applications(consultation.pk)).get(company_id)
    if application is None:
        raise errors.NotACandidate()
    admission = (
        Admission.for_organisation.select_for_update()
        .filter(consultation_id=consultation.pk, company_id=company_id)
        .first()
    )
    return consultation, application, admission


def _decide(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    decision: str,
    reasons: str,
    now: datetime,
    context: dict[str, Any] | None,
    silent: bool = False,
) -> Admission:
    consultation, application, admission = _candidate_for_update(actor, consultation_id, company_id)
    new = admission is None
    if admission is None:
        admission = Admission(
            organisation_id=consultation.organisation_id,
            consultation_id=consultation.pk,
            company_id=company_id,
        )
    admission_transitions.apply(admission, Event.DECIDE, new=new)
    admission.application = application
    admission.decision = decision
    admission.reasons = reasons
    admission.decided_at = now
    admission.decided_by = actor.user
    admission.save()
    payload = {
        "consultation": consultation.pk,
        "company": company_id,
        "decision": decision,
        "reasons": reasons,
    }
    if silent:
        payload["silent_past"] = admission.documents_deadline.isoformat()  # type: ignore[union-attr]
    audit.record(
        actor=actor,
        organisation=actor.organisation,
        action="deposits.admission_decided",
        target=admission,
        payload=payload,
        **(context or {}),
    )
    return admission


def _clean_missing(missing: str) -> str:
    missing = (missing or "").strip()
    if not missing or "\x00" in missing or len(missing) > MAX_REASONS:
        raise admission_errors.MissingDocumentsRequired()
    return missing


@transaction.atomic(durable=True)
def request_documents(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    missing: str,
    deadline: datetime,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Admission:
    """The application is incomplete: ask the candidate for the ``missing`` documents
    by ``deadline`` (R2144-2), as a message of the secure messaging (kind "request for
    missing documents", with that date). Asked again, the new request and date replace
    the former ones on the admission (both stay in the thread and the audit trail)."""
    _require_buyer(actor)
    missing = _clean_missing(missing)
    now = now or timezone.now()
    if deadline <= now:
        raise admission_errors.DocumentsDeadlineInvalid()
    with scope(organisation=actor.organisation_id):
        consultation, application, admission = _candidate_for_update(
            actor, consultation_id, company_id
        )
        new = admission is None
        if admission is None:
            admission = Admission(
                organisation_id=consultation.organisation_id,
                consultation_id=consultation.pk,
                company_id=company_id,
            )
        admission_transitions.apply(admission, Event.REQUEST_DOCUMENTS, new=new)
        subject, body = _request_text(consultation, missing, deadline)
        message = messaging_services.request_missing_documents(
            actor=actor,
            consultation_id=consultation.pk,
            company_id=company_id,
            subject=subject,
            body=body,
            reply_by=deadline,
            now=now,
            context=context,
        )
        admission.application = application
        admission.decision = AdmissionDecision.INCOMPLETE
        admission.reasons = missing
        admission.decided_at = now
        admission.decided_by = actor.user
        admission.documents_request = message
        admission.documents_deadline = deadline
        admission.save()
        audit.record(
            actor=actor,
            organisation=actor.organisation,
            action="deposits.admission_documents_requested",
            target=admission,
            payload={
                "consultation": consultation.pk,
                "company": company_id,
                "missing": missing,
                "deadline": deadline.isoformat(),
                "message": message.pk,
            },
            **(context or {}),
        )
    return admission


def _request_text(consultation: Consultation, missing: str, deadline: datetime) -> tuple[str, str]:
    """The request's subject and body, in the platform's language."""
    context = {"consultation": consultation, "missing": missing}
    with translation.override(settings.LANGUAGE_CODE):
        context["deadline_text"] = deadlines.display(deadline)
        subject = render_text("deposits/admission_documents_subject.txt", context)
        body = render_text("deposits/admission_documents_message.txt", context)
    return " ".join(subject.split())[:200], body.strip()


@transaction.atomic(durable=True)
def refuse_silent(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Admission:
    """Refuse a candidate asked for missing documents that sent nothing in the thread
    before the date given: the reason says so."""
    _require_buyer(actor)
    now = now or timezone.now()
    with scope(organisation=actor.organisation_id):
        admission = (
            Admission.for_organisation.select_for_update()
            .filter(
                consultation_id=consultation_id,
                company_id=company_id,
                organisation_id=actor.organisation_id,
            )
            .first()
        )
        if admission is None or admission.state != AdmissionState.AWAITING_DOCUMENTS:
            raise admission_errors.NoDocumentsRequest()
        request = admission.documents_request
        if request is None or admission.documents_deadline is None:
            raise admission_errors.NoDocumentsRequest()
        if now < admission.documents_deadline:
            raise admission_errors.DocumentsDeadlineNotPassed()
        if messaging_selectors.company_replies_since(
            thread_id=request.thread_id, since=request.sent_at
        ):
            raise admission_errors.CandidateAnswered()
        with translation.override(settings.LANGUAGE_CODE):
            reasons = render_text(
                "deposits/admission_silent_reasons.txt",
                {"deadline_text": deadlines.display(admission.documents_deadline)},
            ).strip()
        return _decide(
            actor=actor,
            consultation_id=consultation_id,
            company_id=company_id,
            decision=AdmissionDecision.REJECTED,
            reasons=reasons,
            now=now,
            context=context,
            silent=True,
        )


@transaction.atomic(durable=True)
def notify(
    *,
    actor: Any,
    consultation_id: int,
    offers_deadline: datetime,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Consultation:
    """Notify every decision at once and open the offer phase for the admitted
    candidates; its consultation is returned (its opening key is the buyer's next step,
    on its page)."""
    _require_buyer(actor)
    now = now or timezone.now()
    with scope(organisation=actor.organisation_id):
        # One notification at a time: the first phase's row is the lock.
        parent = (
            Consultation.objects.select_for_update()
            .filter(pk=consultation_id, organisation_id=actor.organisation_id)
            .first()
        )
        if parent is None or not parent.takes_applications:
            raise errors.NotTwoPhase()
        if not _opened(parent.pk):
            raise errors.AdmissionBeforeOpening()
        on_time = _on_time_by_company(_applications(parent.pk))
        admissions = list(
            Admission.for_organisation.select_for_update()
            .filter(consultation_id=parent.pk)
            .select_related("company")
            .order_by("company__name", "pk")
        )
        if any(a.state == AdmissionState.NOTIFIED for a in admissions):
            raise errors.AdmissionsNotified()
        # Every decision is fixed at once: none may still wait for documents.
        if any(a.state == AdmissionState.AWAITING_DOCUMENTS for a in admissions):
            raise admission_errors.DocumentsRequestPending()
        decided = {a.company_id for a in admissions}
        if not on_time or set(on_time) - decided:
            raise errors.CandidatesUndecided()
        admitted = [a.company_id for a in admissions if a.decision == AdmissionDecision.ADMITTED]
        offer_phase = phases.open_offer_phase(
            actor=actor,
            parent=parent,
            offers_deadline=offers_deadline,
            company_ids=admitted,
            now=now,
            request_context=context,
        )
        for admission in admissions:
            admission_transitions.apply(admission, Event.NOTIFY)
            admission.notified_at = now
            admission.save(update_fields=["state", "notified_at"])
            audit.record(
                actor=actor,
                organisation=actor.organisation,
                action="deposits.admission_notified",
                target=admission,
                payload={
                    "consultation": parent.pk,
                    "company": admission.company_id,
                    "decision": admission.decision,
                    "offer_phase": offer_phase.pk,
                },
                **(context or {}),
            )
            _mail(admission, parent, offer_phase)
    return offer_phase


# --- The candidates' side ------------------------------------------------------------------


def notified_decision(*, company_id: int, consultation_id: int) -> Admission | None:
    """The company's notified decision on a two-phase consultation (its deposit page)."""
    with scope(company=company_id):
        return (
            Admission.for_company.filter(
                company_id=company_id,
                consultation_id=consultation_id,
                state=AdmissionState.NOTIFIED,
            )
            .select_related("consultation")
            .first()
        )


def _recipients(admission: Admission) -> list[str]:
    """The representative who deposited the application, and the company's active
    administrators."""
    user = admission.application.user
    return company_selectors.notified_emails(admission.company_id, user.email if user else None)


def _mail(admission: Admission, parent: Consultation, offer_phase: Consultation) -> None:
    admitted = admission.decision == AdmissionDecision.ADMITTED
    deposit_url = absolute_url(
        reverse(
            "company_deposits:consultation",
            kwargs={"company": admission.company.siren, "pk": offer_phase.pk},
        )
    )
    context = {
        "admission": admission,
        "admitted": admitted,
        "consultation": parent,
        "company": admission.company,
        "deposit_url": deposit_url,
        "platform_name": settings.MUTUALIS_PLATFORM_NAME,
    }
    subjects, bodies = [], []
    for language in ("fr", "en"):
        with translation.override(language):
            context["deadline_text"] = deadlines.display(offer_phase.response_deadline)
            subjects.append(
                " ".join(render_text("deposits/admission_subject.txt", context).split())
            )
            bodies.append(render_text("deposits/admission_message.txt", context).strip())
    for to in _recipients(admission):
        queue_email(
            to=to,
            subject=subjects[0],
            body_text=bodies[0] + "\n\n---- English ----\n\n" + bodies[1] + "\n",
        )
