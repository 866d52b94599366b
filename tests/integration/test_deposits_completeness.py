"""Incomplete applications (R2144-2): the buyer asks a candidate of a two-phase procedure
for the missing documents by a date, as a message of the secure messaging; the candidate
answers in the thread with files; the buyer then admits or refuses it — a candidate asked
and silent past the date may be refused for that reason. While a request is pending, the
decisions cannot be notified."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core.models import OutgoingEmail
from mutualis.deposits import admission_errors, admission_transitions, admissions, errors
from mutualis.deposits.admission_transitions import TRANSITIONS, Event
from mutualis.deposits.models import Admission, AdmissionDecision, AdmissionState, Phase
from mutualis.messaging import errors as messaging_errors
from mutualis.messaging import selectors as messaging_selectors
from mutualis.messaging import services as messaging_services
from mutualis.messaging.models import Message, MessageKind, Side
from mutualis.procurement import deadlines
from tests.factories.core import audit_events
from tests.factories.deposits_opening import (
    close_on_time_section,
    commission_holder,
    make_deposit,
    make_opening_key,
    one_holder_key,
    open_through_the_pages,
    pass_deadline,
)
from tests.factories.evaluation import bidder
from tests.factories.messaging import draft, upload
from tests.factories.procurement import make_consultation, subscribe_to_procurement

MISSING = "Attestation d'assurance décennale\nExtrait Kbis de moins de trois mois"


# --- The table, walked ---------------------------------------------------------------------


STATES: list[AdmissionState | None] = [None, *AdmissionState]


@pytest.mark.parametrize("before", STATES)
@pytest.mark.parametrize("event", list(Event))
def test_the_transition_table_is_the_only_way(before, event):
    admission = Admission(state=before or AdmissionState.DECIDED)
    expected = TRANSITIONS.get((before, event))
    if expected is not None:
        assert admission_transitions.apply(admission, event, new=before is None) == expected
        assert admission.state == expected
        return
    refusal = (
        admission_errors.DocumentsRequestPending
        if before == AdmissionState.AWAITING_DOCUMENTS
        else errors.AdmissionsNotified
    )
    with pytest.raises(refusal):
        admission_transitions.apply(admission, event, new=before is None)


def test_awaiting_documents_leads_to_a_decision_and_never_to_the_notification():
    assert TRANSITIONS[(AdmissionState.AWAITING_DOCUMENTS, Event.DECIDE)] == AdmissionState.DECIDED
    assert (AdmissionState.AWAITING_DOCUMENTS, Event.NOTIFY) not in TRANSITIONS
    assert not [key for key in TRANSITIONS if key[0] == AdmissionState.NOTIFIED]


# --- The procedure ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _time_stamping_authority(db):
    from mutualis.evidence import authority

    authority.ensure_authority()


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def holder(buyer):
    return commission_holder(buyer.organisation)


@pytest.fixture
def opened(buyer, holder):
    """A restricted procedure whose applications (two on time, one late) are opened."""
    restricted = make_consultation(buyer, publish=True, procedure="restricted")
    share = one_holder_key(restricted, buyer, holder[1])
    first, second = bidder(1, "Menuiserie Dupont"), bidder(2, "Charpente Martin")
    late = bidder(3, "Toiture Tardive")
    for representative in (first, second):
        make_deposit(
            restricted,
            representative,
            [("kbis.pdf", b"%PDF-1.4 candidature")],
            phase=Phase.APPLICATION,
        )
    make_deposit(
        restricted, late, [("kbis.pdf", b"%PDF-1.4 tardive")], late=True, phase=Phase.APPLICATION
    )
    close_on_time_section(restricted)
    pass_deadline(restricted)
    buyer_client = open_through_the_pages(restricted, buyer=buyer, holder=holder[0], share=share)
    return restricted, first, second, late, buyer_client


def paris_field(moment) -> str:
    return deadlines.to_paris(moment).strftime("%Y-%m-%dT%H:%M")


def decide_url(consultation, company_id) -> str:
    return reverse(
        "deposit_register:admission_decide",
        kwargs={"org": "commune-a", "pk": consultation.pk, "company_id": company_id},
    )


@pytest.mark.django_db
def test_a_request_answered_then_admitted(buyer, opened):
    """Given opened applications, when the buyer asks a candidate for missing documents,
    then a message with the date goes to the company, the notification waits, the
    candidate answers with a file, and once admitted the decisions can be notified."""
    restricted, first, second, _late, buyer_client = opened
    deadline = timezone.now() + timedelta(days=8)
    before = OutgoingEmail.objects.count()
    answer = buyer_client.post(
        decide_url(restricted, first.company_id),
        {"decision": "incomplete", "reasons": MISSING, "documents_deadline": paris_field(deadline)},
    )
    assert answer.status_code == 302
    with scopes_disabled():
        admission = Admission.for_organisation.get(company_id=first.company_id)
        request = Message.for_organisation.get()
    assert (admission.state, admission.decision) == (
        AdmissionState.AWAITING_DOCUMENTS,
        AdmissionDecision.INCOMPLETE,
    )
    assert admission.documents_request == request
    assert (request.kind, request.side) == (MessageKind.MISSING_DOCUMENTS, Side.BUYER)
    assert (
        request.reply_by
        == admission.documents_deadline
        == deadlines.from_paris(deadlines.to_paris(deadline).replace(tzinfo=None))
    )
    assert "Attestation d'assurance décennale" in request.body
    assert [m.to for m in OutgoingEmail.objects.order_by("pk")[before:]] == [first.user.email]
    [requested] = audit_events(buyer.organisation, "deposits.admission_documents_requested")
    assert requested.payload["message"] == request.pk

    admissions.decide(
        actor=buyer,
        consultation_id=restricted.pk,
        company_id=second.company_id,
        decision="admitted",
    )
    page = buyer_client.get(
        reverse("deposit_register:admissions", kwargs={"org": "commune-a", "pk": restricted.pk})
    )
    assert "Missing documents are awaited from 1 candidate" in page.content.decode()
    with pytest.raises(admission_errors.DocumentsRequestPending):
        admissions.notify(
            actor=buyer,
            consultation_id=restricted.pk,
            offers_deadline=timezone.now() + timedelta(days=20),
        )
    # The candidate may not be refused for silence before the date.
    with pytest.raises(admission_errors.DocumentsDeadlineNotPassed):
        admissions.refuse_silent(
            actor=buyer, consultation_id=restricted.pk, company_id=first.company_id
        )

    # The candidate answers in its thread, with the documents.
    messaging_services.send_from_company(
        representative=first,
        consultation_id=restricted.pk,
        draft=draft(subject="Pièces", body="Voici les pièces", uploads=[upload("kbis.pdf")]),
    )
    with scope(organisation=buyer.organisation_id):
        candidates = admissions.candidates_of(
            organisation_id=buyer.organisation_id, consultation_id=restricted.pk
        )
    [candidate] = [c for c in candidates.on_time if c.company.pk == first.company_id]
    assert (candidate.answers, candidate.thread_id) == (1, request.thread_id)
    with pytest.raises(admission_errors.CandidateAnswered):
        admissions.refuse_silent(
            actor=buyer,
            consultation_id=restricted.pk,
            company_id=first.company_id,
            now=deadline + timedelta(days=1),
        )

    admissions.decide(
        actor=buyer, consultation_id=restricted.pk, company_id=first.company_id, decision="admitted"
    )
    with scopes_disabled():
        admission.refresh_from_db()
    assert admission.state == AdmissionState.DECIDED
    assert admission.documents_request == request  # the trace stays
    offer_phase = admissions.notify(
        actor=buyer,
        consultation_id=restricted.pk,
        offers_deadline=timezone.now() + timedelta(days=20),
    )
    assert offer_phase.parent_id == restricted.pk


@pytest.mark.django_db
def test_a_silent_candidate_is_refused_for_its_silence(buyer, opened):
    restricted, first, _second, _late, _client = opened
    now = timezone.now()
    deadline = now + timedelta(days=3)
    admissions.request_documents(
        actor=buyer,
        consultation_id=restricted.pk,
        company_id=first.company_id,
        missing=MISSING,
        deadline=deadline,
        now=now,
    )
    # Asked again, with a later date: the request and the date are replaced.
    later = now + timedelta(days=5)
    admissions.request_documents(
        actor=buyer,
        consultation_id=restricted.pk,
        company_id=first.company_id,
        missing=MISSING,
        deadline=later,
        now=now,
    )
    with pytest.raises(admission_errors.DocumentsDeadlineNotPassed):
        admissions.refuse_silent(
            actor=buyer, consultation_id=restricted.pk, company_id=first.company_id, now=deadline
        )
    admission = admissions.refuse_silent(
        actor=buyer,
        consultation_id=restricted.pk,
        company_id=first.company_id,
        now=later + timedelta(minutes=1),
    )
    assert (admission.state, admission.decision) == (
        AdmissionState.DECIDED,
        AdmissionDecision.REJECTED,
    )
    assert "were not received by" in admission.reasons
    decided = audit_events(buyer.organisation, "deposits.admission_decided")[-1]
    assert decided.payload["silent_past"] == later.isoformat()
    with scopes_disabled():
        assert Message.for_organisation.filter(kind=MessageKind.MISSING_DOCUMENTS).count() == 2
    with pytest.raises(admission_errors.NoDocumentsRequest):
        admissions.refuse_silent(
            actor=buyer,
            consultation_id=restricted.pk,
            company_id=first.company_id,
            now=later + timedelta(days=1),
        )


@pytest.mark.django_db
def test_a_request_is_refused_without_a_list_or_a_date(buyer, opened):
    restricted, first, _second, late, buyer_client = opened
    url = decide_url(restricted, first.company_id)
    future = paris_field(timezone.now() + timedelta(days=8))
    for data, shown in (
        ({"reasons": "", "documents_deadline": future}, "List the missing documents"),
        ({"reasons": "x" * 2001, "documents_deadline": future}, "List the missing documents"),
        ({"reasons": MISSING, "documents_deadline": ""}, "by which the documents are awaited"),
        ({"reasons": MISSING, "documents_deadline": "hier"}, "by which the documents are awaited"),
        ({"reasons": MISSING, "documents_deadline": "2020-01-01T10:00"}, "in the future"),
    ):
        answer = buyer_client.post(url, {"decision": "incomplete", **data}, follow=True)
        assert answer.status_code == 200
        assert shown in answer.content.decode()
    with pytest.raises(errors.AdmissionDecisionInvalid):
        admissions.decide(
            actor=buyer,
            consultation_id=restricted.pk,
            company_id=first.company_id,
            decision="incomplete",
        )
    with pytest.raises(errors.NotACandidate):
        admissions.request_documents(
            actor=buyer,
            consultation_id=restricted.pk,
            company_id=late.company_id,
            missing=MISSING,
            deadline=timezone.now() + timedelta(days=2),
        )
    with scopes_disabled():
        assert not Admission.for_organisation.exists()
        assert not Message.for_organisation.exists()


@pytest.mark.django_db
def test_the_buyer_writes_to_every_candidate_that_responded_on_time(buyer, opened):
    restricted, first, second, late, _client = opened
    sent = messaging_services.send_to_respondents(
        actor=buyer, consultation_id=restricted.pk, draft=draft(kind=MessageKind.CLARIFICATION)
    )
    assert sorted(m.company_id for m in sent) == sorted([first.company_id, second.company_id])
    assert len({m.thread_id for m in sent}) == 2
    with scope(organisation=buyer.organisation_id):
        assert len(messaging_selectors.messages_of_consultation(restricted.pk)) == 2
    # A late candidate deposited: it may write to the buyer, who may answer it.
    messaging_services.send_from_company(
        representative=late, consultation_id=restricted.pk, draft=draft()
    )
    # Another company, which neither responded nor downloaded, may not.
    stranger = bidder(4, "Serrurerie")
    from mutualis.procurement.models import Consultation

    with pytest.raises(Consultation.DoesNotExist):
        messaging_services.send_from_company(
            representative=stranger, consultation_id=restricted.pk, draft=draft()
        )
    with pytest.raises(messaging_errors.NotACorrespondent):
        messaging_services.send_to_company(
            actor=buyer,
            consultation_id=restricted.pk,
            company_id=stranger.company_id,
            draft=draft(),
        )


@pytest.mark.django_db
def test_respondents_stay_unknown_until_the_deadline(buyer, holder):
    consultation = make_consultation(buyer, publish=True, procedure="restricted")
    make_opening_key(consultation, buyer, [holder[1]], threshold=1)
    candidate = bidder(1, "Menuiserie Dupont")
    make_deposit(
        consultation, candidate, [("kbis.pdf", b"%PDF-1.4 candidature")], phase=Phase.APPLICATION
    )
    with pytest.raises(messaging_errors.NobodyToWrite):
        messaging_services.send_to_respondents(
            actor=buyer, consultation_id=consultation.pk, draft=draft()
        )
    # The candidate may write first, making itself known by its own choice.
    message = messaging_services.send_from_company(
        representative=candidate, consultation_id=consultation.pk, draft=draft()
    )
    assert message.side == Side.COMPANY
