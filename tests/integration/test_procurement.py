"""Buyers draft, schedule, publish and cancel consultations; the periodic job publishes
and closes them; only buyers of the member in the path, with an active subscription,
reach these pages, and every move leaves an event on the member's audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.errors import ServiceNotSubscribed
from mutualis.core.schedule import schedule
from mutualis.procurement import deadlines, errors, services, signals, tasks
from mutualis.procurement.models import Consultation, State
from tests.factories.core import ORG_B, audit_events, org_url
from tests.factories.identity import make_member
from tests.factories.procurement import (
    consultation_input,
    make_consultation,
    subscribe_to_procurement,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer.user)
    return client


def reread(consultation: Consultation) -> Consultation:
    with scopes_disabled():
        return Consultation.objects.get(pk=consultation.pk)


def form_data(**overrides):
    data = {
        "reference": "2027-014",
        "title": "Réfection de la toiture de l'église Saint-Michel",
        "object": "Couverture et charpente.",
        "description": "<p>Visite <strong>obligatoire</strong>.</p><script>alert(1)</script>",
        "procedure": "adapted",
        "category": "works",
        "contract_nature": "contract",
        "main_cpv": "45261000-4",
        "additional_cpv": "45261100-5, 45000000-7",
        "place_of_execution": "Commune A",
        "estimated_value": "150000",
        "questions_deadline": "2099-03-18T12:00",
        "response_deadline": "2099-04-02T12:00",
        "contact": "marches@commune-a.example",
        "ccag": "works",
        "techniques": ["framework"],
        "price_types": ["revisable"],
        "price_form": "lump_sum",
        "duration_months": "8",
    }
    data.update(overrides)
    return data


# --- Creating and changing a draft --------------------------------------------------------


def test_a_buyer_creates_a_draft_typed_in_paris_time_and_stored_in_utc(buyer_client, buyer):
    response = buyer_client.post(org_url("procurement:new"), form_data())

    with scope(organisation=buyer.organisation_id):
        consultation = Consultation.objects.get(reference="2027-014")
    assert response.status_code == 302
    assert response["Location"] == org_url("procurement:detail", pk=consultation.pk)
    assert consultation.state == State.DRAFT
    # The spring change (29 March 2099) falls between them: UTC+1, then UTC+2.
    assert consultation.response_deadline.isoformat() == "2099-04-02T10:00:00+00:00"
    assert consultation.questions_deadline.isoformat() == "2099-03-18T11:00:00+00:00"
    assert consultation.additional_cpv == ["45261100", "45000000"]
    assert consultation.techniques == ["framework"]
    [created] = audit_events(buyer.organisation, "consultation.created")
    assert created.actor == audit.subject_reference(buyer.user.audit_pseudonym)


def test_the_description_is_sanitised_before_it_is_stored(buyer_client, buyer):
    buyer_client.post(org_url("procurement:new"), form_data())
    with scope(organisation=buyer.organisation_id):
        consultation = Consultation.objects.get(reference="2027-014")
    assert consultation.description == "<p>Visite <strong>obligatoire</strong>.</p>"


def test_an_unknown_cpv_code_is_refused_with_a_clear_message(buyer_client, buyer):
    response = buyer_client.post(org_url("procurement:new"), form_data(main_cpv="45261000-9"))
    assert response.status_code == 200
    assert "not in the CPV 2008 vocabulary" in response.content.decode()
    assert response.context["form"].has_error("main_cpv", "cpv_unknown")


def test_a_time_the_spring_change_skips_is_refused_on_the_form(buyer_client):
    response = buyer_client.post(
        org_url("procurement:new"), form_data(response_deadline="2099-03-29T02:30")
    )
    # 29 March 2099 is the last Sunday of March.
    assert response.context["form"].has_error("response_deadline", "local_time_nonexistent")


def test_questions_must_close_before_responses(buyer_client):
    response = buyer_client.post(
        org_url("procurement:new"), form_data(questions_deadline="2099-04-02T12:00")
    )
    assert response.context["form"].has_error("questions_deadline", "questions_after_responses")


def test_a_reference_is_unique_within_the_organisation(buyer_client, buyer):
    make_consultation(buyer, reference="2027-014")
    response = buyer_client.post(org_url("procurement:new"), form_data())
    assert response.context["form"].has_error("reference", "consultation_reference_taken")


def test_another_member_may_use_the_same_reference(buyer, agent_b):
    subscribe_to_procurement(agent_b.organisation)
    make_consultation(buyer, reference="2027-001")
    assert make_consultation(agent_b, reference="2027-001").pk


def test_a_draft_is_changed_and_the_change_audited(buyer_client, buyer):
    consultation = make_consultation(buyer)
    response = buyer_client.post(
        org_url("procurement:edit", pk=consultation.pk), form_data(title="Nouveau titre")
    )
    assert response.status_code == 302
    assert reread(consultation).title == "Nouveau titre"
    [updated] = audit_events(buyer.organisation, "consultation.updated")
    assert "title" in updated.payload["fields"]


def test_a_published_consultation_is_not_changed_in_place(buyer_client, buyer):
    consultation = make_consultation(buyer, publish=True)
    response = buyer_client.post(
        org_url("procurement:edit", pk=consultation.pk), form_data(title="Changed")
    )
    assert response.status_code == 302
    assert reread(consultation).title != "Changed"
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.NotEditable):
        services.update_consultation(
            actor=buyer, consultation_id=consultation.pk, data=consultation_input()
        )


def test_lots_and_criteria_are_added_and_removed_on_a_draft(buyer_client, buyer):
    consultation = make_consultation(buyer, criteria=())
    buyer_client.post(
        org_url("procurement:lot_add", pk=consultation.pk),
        {"number": "1", "title": "Couverture", "cpv_codes": "45261000-4"},
    )
    buyer_client.post(
        org_url("procurement:criterion_add", pk=consultation.pk),
        {"label": "Prix", "weight": "100"},
    )
    with scope(organisation=buyer.organisation_id):
        lot = consultation.lots.get()
        criterion = consultation.criteria.get()
    assert (lot.title, lot.cpv_codes) == ("Couverture", ["45261000"])
    assert (criterion.label, criterion.weight) == ("Prix", 100)

    buyer_client.post(org_url("procurement:lot_remove", pk=consultation.pk, lot_pk=lot.pk))
    with scope(organisation=buyer.organisation_id):
        assert not consultation.lots.exists()
    assert len(audit_events(buyer.organisation, "consultation.lot_added")) == 1
    assert len(audit_events(buyer.organisation, "consultation.lot_removed")) == 1
    assert len(audit_events(buyer.organisation, "consultation.criterion_added")) == 1


def test_a_lot_with_an_unknown_cpv_code_is_refused(buyer_client, buyer):
    consultation = make_consultation(buyer)
    response = buyer_client.post(
        org_url("procurement:lot_add", pk=consultation.pk),
        {"number": "1", "title": "Lot", "cpv_codes": "12345678-9"},
    )
    assert response.status_code == 400
    assert response.context["lot_form"].has_error("cpv_codes", "cpv_unknown")


# --- Publishing ---------------------------------------------------------------------------


def test_a_buyer_publishes_a_draft_now(buyer_client, buyer):
    consultation = make_consultation(buyer, lots=2)
    response = buyer_client.post(org_url("procurement:publish", pk=consultation.pk))
    consultation = reread(consultation)
    assert response.status_code == 302
    assert consultation.state == State.PUBLISHED
    assert consultation.published_at is not None
    assert consultation.next_check == consultation.response_deadline
    [published] = audit_events(buyer.organisation, "consultation.published")
    assert published.object_id == str(consultation.pk)


def test_a_publication_is_told_once_committed(buyer, django_capture_on_commit_callbacks):
    consultation = make_consultation(buyer)
    told = []

    def receiver(sender, **kwargs):
        told.append(kwargs)

    signals.consultation_published.connect(receiver)
    try:
        with scope(organisation=buyer.organisation_id):
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                services.publish_consultation(actor=buyer, consultation_id=consultation.pk)
            assert told == []  # nothing before the commit
            for callback in callbacks:
                callback()
    finally:
        signals.consultation_published.disconnect(receiver)
    assert told == [
        {
            "signal": signals.consultation_published,
            "consultation_id": consultation.pk,
            "organisation_id": buyer.organisation_id,
        }
    ]


def test_a_publication_refused_by_the_job_is_not_told(buyer, django_capture_on_commit_callbacks):
    consultation = make_consultation(buyer)
    with scope(organisation=buyer.organisation_id):
        services.schedule_consultation(
            actor=buyer,
            consultation_id=consultation.pk,
            publish_at=timezone.now() + timedelta(hours=1),
        )
    with django_capture_on_commit_callbacks() as callbacks:
        services.advance_due_consultations(now=consultation.response_deadline)
    assert callbacks == []


def test_publishing_refuses_criteria_that_do_not_total_100(buyer_client, buyer):
    consultation = make_consultation(buyer, criteria=(("Prix", 40), ("Valeur technique", 50)))
    response = buyer_client.post(org_url("procurement:publish", pk=consultation.pk))
    assert response.status_code == 400
    assert response.context["publish_error"].code == "criteria_weights_invalid"
    assert reread(consultation).state == State.DRAFT


def test_publishing_refuses_a_deadline_already_past(buyer):
    consultation = make_consultation(buyer)
    later = consultation.response_deadline + timedelta(minutes=1)
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.DeadlineInPast):
        services.publish_consultation(actor=buyer, consultation_id=consultation.pk, now=later)


def test_publishing_refuses_a_cpv_code_no_longer_known(buyer):
    consultation = make_consultation(buyer)
    with scope(organisation=buyer.organisation_id):
        Consultation.objects.filter(pk=consultation.pk).update(additional_cpv=["99999999"])
        with pytest.raises(errors.CpvUnknown):
            services.publish_consultation(actor=buyer, consultation_id=consultation.pk)


def test_publishing_refuses_lots_with_a_gap_in_their_numbers(buyer):
    consultation = make_consultation(buyer, lots=2)
    with scope(organisation=buyer.organisation_id):
        consultation.lots.filter(number=2).update(number=3)
        with pytest.raises(errors.LotsNotNumbered):
            services.publish_consultation(actor=buyer, consultation_id=consultation.pk)


def test_a_consultation_without_lots_or_criteria_may_be_published(buyer):
    consultation = make_consultation(buyer, criteria=(), publish=True)
    assert consultation.state == State.PUBLISHED


def test_a_buyer_schedules_then_unschedules_a_publication(buyer_client, buyer):
    consultation = make_consultation(buyer)
    tomorrow = deadlines.to_paris(timezone.now() + timedelta(days=1)).replace(second=0)
    response = buyer_client.post(
        org_url("procurement:schedule", pk=consultation.pk),
        {"publish_at": tomorrow.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    scheduled = reread(consultation)
    assert scheduled.state == State.SCHEDULED
    assert scheduled.publish_at == tomorrow.replace(microsecond=0)
    assert scheduled.next_check == scheduled.publish_at

    buyer_client.post(org_url("procurement:unschedule", pk=consultation.pk))
    assert reread(consultation).state == State.DRAFT
    assert reread(consultation).next_check is None
    assert len(audit_events(buyer.organisation, "consultation.scheduled")) == 1
    assert len(audit_events(buyer.organisation, "consultation.unscheduled")) == 1


def test_a_publication_is_planned_before_the_deadline_for_questions(buyer_client, buyer):
    consultation = make_consultation(buyer)
    after_questions = consultation.questions_deadline + timedelta(hours=1)
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.PublicationTimeInvalid):
        services.schedule_consultation(
            actor=buyer, consultation_id=consultation.pk, publish_at=after_questions
        )


# --- Cancelling ---------------------------------------------------------------------------


def test_a_published_consultation_is_cancelled_with_a_public_reason(buyer_client, buyer, client):
    consultation = make_consultation(buyer, publish=True)
    response = buyer_client.post(
        org_url("procurement:cancel", pk=consultation.pk),
        {"kind": "discontinued", "reason": "Le projet est abandonné."},
    )
    assert response.status_code == 302
    assert reread(consultation).state == State.CANCELLED
    [cancelled] = audit_events(buyer.organisation, "consultation.cancelled")
    assert cancelled.payload["kind"] == "discontinued"
    client.logout()
    public = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert "Le projet est abandonné." in public
    assert "Discontinued" in public


def test_a_closed_consultation_may_be_declared_unsuccessful(buyer):
    consultation = make_consultation(buyer, publish=True)
    services.advance_due_consultations(now=consultation.response_deadline)
    with scope(organisation=buyer.organisation_id):
        cancelled = services.cancel_consultation(
            actor=buyer,
            consultation_id=consultation.pk,
            kind="unsuccessful",
            reason="Aucune offre.",
        )
    assert cancelled.state == State.CANCELLED


def test_a_draft_cannot_be_cancelled_and_a_reason_is_required(buyer):
    draft = make_consultation(buyer)
    published = make_consultation(buyer, reference="2027-002", publish=True)
    with scope(organisation=buyer.organisation_id):
        with pytest.raises(errors.TransitionNotAllowed):
            services.cancel_consultation(
                actor=buyer, consultation_id=draft.pk, kind="discontinued", reason="x"
            )
        with pytest.raises(errors.CancellationReasonRequired):
            services.cancel_consultation(
                actor=buyer, consultation_id=published.pk, kind="discontinued", reason="  "
            )


# --- The periodic job ---------------------------------------------------------------------


def test_procurement_declares_its_own_job_every_minute():
    [job] = [job for job in schedule() if job.name == "advance_consultations"]
    assert job.task is tasks.advance_consultations
    assert job.trigger.interval == timedelta(minutes=1)


def test_the_job_publishes_a_scheduled_consultation_whose_time_came(buyer):
    consultation = make_consultation(buyer)
    publish_at = timezone.now() + timedelta(hours=1)
    with scope(organisation=buyer.organisation_id):
        services.schedule_consultation(
            actor=buyer, consultation_id=consultation.pk, publish_at=publish_at
        )

    assert services.advance_due_consultations(now=publish_at - timedelta(seconds=1)) == {
        "published": 0,
        "closed": 0,
        "unscheduled": 0,
    }
    assert services.advance_due_consultations(now=publish_at)["published"] == 1
    assert reread(consultation).state == State.PUBLISHED
    [published] = audit_events(buyer.organisation, "consultation.published")
    assert published.actor == "system:procurement.advance_consultations"


def test_the_job_closes_a_consultation_past_its_deadline_once(buyer):
    consultation = make_consultation(buyer, publish=True)
    deadline = consultation.response_deadline

    assert services.advance_due_consultations(now=deadline)["closed"] == 1
    assert services.advance_due_consultations(now=deadline + timedelta(minutes=1))["closed"] == 0
    closed = reread(consultation)
    assert closed.state == State.CLOSED
    assert closed.closed_at == deadline
    assert closed.next_check is None
    assert len(audit_events(buyer.organisation, "consultation.closed")) == 1


def test_the_job_returns_to_draft_a_scheduled_consultation_whose_deadlines_passed(buyer):
    consultation = make_consultation(buyer)
    with scope(organisation=buyer.organisation_id):
        services.schedule_consultation(
            actor=buyer,
            consultation_id=consultation.pk,
            publish_at=timezone.now() + timedelta(hours=1),
        )
    services.advance_due_consultations(now=consultation.response_deadline)
    assert reread(consultation).state == State.DRAFT
    [failed] = audit_events(buyer.organisation, "consultation.publication_failed")
    assert failed.payload["code"] == "deadline_in_past"


def test_the_job_runs_as_a_task(buyer):
    make_consultation(buyer, publish=True)
    result = tasks.advance_consultations.enqueue()
    assert result.return_value == {"published": 0, "closed": 0, "unscheduled": 0}


# --- Who may act --------------------------------------------------------------------------


def test_an_agent_without_the_buyer_role_gets_404(client, buyer, org_a):
    consultation = make_consultation(buyer)
    secretary = make_member(org_a, "secretary.a@example.org", roles=["secretary"])
    client.force_login(secretary.user)
    assert client.get(org_url("procurement:list")).status_code == 404
    assert client.get(org_url("procurement:detail", pk=consultation.pk)).status_code == 404
    assert client.post(org_url("procurement:publish", pk=consultation.pk)).status_code == 404
    assert reread(consultation).state == State.DRAFT
    with scope(organisation=org_a.pk), pytest.raises(PermissionDenied):
        services.publish_consultation(actor=secretary, consultation_id=consultation.pk)


def test_a_buyer_of_another_member_gets_404_on_this_members_consultation(client, buyer, agent_b):
    consultation = make_consultation(buyer)
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    # In B's own space, A's consultation does not exist; A's space is not B's.
    assert client.get(org_url("procurement:detail", ORG_B, pk=consultation.pk)).status_code == 404
    assert client.post(org_url("procurement:publish", ORG_B, pk=consultation.pk)).status_code == (
        404
    )
    assert client.get(org_url("procurement:detail", pk=consultation.pk)).status_code == 404
    assert reread(consultation).state == State.DRAFT


def test_an_outsider_gets_404_and_an_anonymous_visitor_the_login_page(client, buyer, outsider):
    client.force_login(outsider)
    assert client.get(org_url("procurement:list")).status_code == 404
    client.logout()
    response = client.get(org_url("procurement:list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_suspended_subscription_is_refused_with_a_message(client, buyer, settings):
    settings.MUTUALIS_OPERATOR_CONTACT = "adhesions@mutualis.example"
    consultation = make_consultation(buyer)
    subscribe_to_procurement(buyer.organisation, active=False)
    client.force_login(buyer.user)

    page = client.get(org_url("procurement:list"))
    posted = client.post(org_url("procurement:publish", pk=consultation.pk))

    assert page.status_code == 403
    assert "is suspended" in page.content.decode()
    assert "adhesions@mutualis.example" in page.content.decode()
    assert posted.status_code == 403
    assert reread(consultation).state == State.DRAFT
    with scope(organisation=buyer.organisation_id), pytest.raises(ServiceNotSubscribed):
        services.publish_consultation(actor=buyer, consultation_id=consultation.pk)


def test_a_published_consultation_stays_public_while_the_subscription_is_suspended(client, buyer):
    consultation = make_consultation(buyer, publish=True)
    subscribe_to_procurement(buyer.organisation, active=False)
    assert client.get(f"/consultations/{consultation.pk}/").status_code == 200


def test_the_menu_leads_buyers_to_their_consultations(buyer_client):
    home = buyer_client.get(org_url("organisation:home")).content.decode()
    assert f'href="{org_url("procurement:list")}"' in home


def test_the_service_home_leads_to_the_consultations(buyer_client):
    response = buyer_client.get(org_url("organisation:service_home", code="procurement"))
    assert response["Location"] == org_url("procurement:list")


def test_the_buyers_list_reads_in_a_fixed_number_of_queries(
    buyer_client, buyer, django_assert_max_num_queries
):
    for n in range(5):
        make_consultation(buyer, reference=f"R{n}", criteria=())
    buyer_client.get(org_url("procurement:list"))  # sessions and caches warmed
    # What every tenant page reads (session, person, membership, subscription, menu), and
    # the list itself: one query, whatever its length.
    with django_assert_max_num_queries(8) as queries:
        response = buyer_client.get(org_url("procurement:list"))
    assert len(response.context["consultations"]) == 5
    few = len(queries)
    for n in range(5, 15):
        make_consultation(buyer, reference=f"R{n}", criteria=())
    with django_assert_max_num_queries(few):
        buyer_client.get(org_url("procurement:list"))
