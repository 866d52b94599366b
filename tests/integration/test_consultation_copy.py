"""Start from a past consultation: a buyer copies a consultation of its own organisation,
in any state, into a new draft with its own reference and new deadlines; another
member's consultation is not found."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.procurement import copies, errors, espd_selection, groups, services
from mutualis.procurement.models import Consultation, GroupParticipation, State
from tests.factories.core import ORG_B, org_url
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer.user)
    return client


def form(**overrides):
    data = {
        "reference": "2027-COPY",
        "questions_deadline": "2099-03-18T12:00",
        "response_deadline": "2099-04-02T12:00",
    }
    data.update(overrides)
    return data


@pytest.fixture
def past(buyer, agent_b):
    """A cancelled consultation with lots, criteria, selection criteria and a group."""
    consultation = make_consultation(
        buyer,
        lots=2,
        reference="2026-OLD",
        additional_cpv=["45261100"],
        techniques=["framework"],
        description="<p>Visite obligatoire.</p>",
    )
    with scope(organisation=buyer.organisation_id):
        espd_selection.set_criterion(
            actor=buyer,
            consultation_id=consultation.pk,
            data=espd_selection.SetCriterion(code="gen-year-to", minimum_amount=Decimal(100000)),
        )
        groups.add_participant(
            actor=buyer,
            consultation_id=consultation.pk,
            participant=agent_b.organisation.slug,
            share_percent=Decimal(30),
        )
        services.publish_consultation(actor=buyer, consultation_id=consultation.pk)
        services.cancel_consultation(
            actor=buyer,
            consultation_id=consultation.pk,
            kind="unsuccessful",
            reason="Aucune offre.",
        )
    return consultation


def test_a_buyer_copies_a_past_consultation_into_a_new_draft(buyer_client, buyer, past):
    response = buyer_client.post(org_url("procurement:copy", pk=past.pk), form())

    with scope(organisation=buyer.organisation_id):
        copy = Consultation.objects.get(reference="2027-COPY")
        lots = list(copy.lots.values_list("number", "title", "cpv_codes"))
        criteria = list(copy.criteria.values_list("label", "weight"))
    assert response.status_code == 302
    assert response["Location"] == org_url("procurement:detail", pk=copy.pk)
    assert copy.state == State.DRAFT
    assert copy.published_at is None
    assert copy.cancellation_reason == ""
    assert (copy.title, copy.main_cpv, copy.additional_cpv) == (
        past.title, past.main_cpv, ["45261100"],
    )  # fmt: skip
    assert copy.techniques == ["framework"]
    assert copy.description == "<p>Visite obligatoire.</p>"
    assert copy.estimated_value == past.estimated_value
    assert copy.espd_selection == [{"code": "gen-year-to", "values": {"MINIMUM_AMOUNT": "100000"}}]
    assert lots == [(1, "Lot 1", ["45261000"]), (2, "Lot 2", ["45261000"])]
    assert criteria == [("Prix", 40), ("Valeur technique", 60)]
    # New deadlines, as typed in Paris time.
    assert copy.response_deadline.isoformat() == "2099-04-02T10:00:00+00:00"
    # The group is not copied: its members agree to each purchase.
    with scopes_disabled():
        assert not GroupParticipation.objects.filter(consultation=copy).exists()
        event = AuditEvent.objects.filter(
            chain=audit.organisation_chain(buyer.organisation_id), action="consultation.created"
        ).last()
    assert event.object_id == str(copy.pk)


def test_the_copy_needs_its_own_reference(buyer_client, past):
    response = buyer_client.post(
        org_url("procurement:copy", pk=past.pk), form(reference="2026-OLD")
    )
    assert response.status_code == 400
    assert response.context["form"].has_error("reference", "consultation_reference_taken")
    blank = buyer_client.post(org_url("procurement:copy", pk=past.pk), form(reference="  "))
    assert blank.context["form"].has_error("reference")


def test_the_copy_needs_new_deadlines_in_order(buyer_client, past):
    missing = buyer_client.post(
        org_url("procurement:copy", pk=past.pk), form(questions_deadline="", response_deadline="")
    )
    assert missing.status_code == 400
    assert missing.context["form"].has_error("response_deadline", "required")
    reversed_ = buyer_client.post(
        org_url("procurement:copy", pk=past.pk), form(questions_deadline="2099-04-03T12:00")
    )
    assert reversed_.context["form"].has_error("questions_deadline", "questions_after_responses")
    with scopes_disabled():
        assert not Consultation.objects.filter(reference="2027-COPY").exists()


def test_a_draft_copies_too(buyer, buyer_client):
    draft = make_consultation(buyer, reference="D-1")
    response = buyer_client.post(org_url("procurement:copy", pk=draft.pk), form())
    assert response.status_code == 302


def test_another_member_consultation_is_not_found(client, buyer, agent_b, past):
    subscribe_to_procurement(agent_b.organisation)
    client.force_login(agent_b.user)
    url = org_url("procurement:copy", org=ORG_B, pk=past.pk)
    assert client.get(url).status_code == 404
    assert client.post(url, form()).status_code == 404
    with scope(organisation=agent_b.organisation_id), pytest.raises(Consultation.DoesNotExist):
        copies.copy_consultation(
            actor=agent_b,
            consultation_id=past.pk,
            reference="STOLEN",
            questions_deadline=past.questions_deadline,
            response_deadline=past.response_deadline,
        )


def test_copy_refuses_a_reference_used_elsewhere_only_within_the_member(buyer, past):
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.ReferenceTaken):
        copies.copy_consultation(
            actor=buyer,
            consultation_id=past.pk,
            reference="2026-OLD",
            questions_deadline=past.questions_deadline,
            response_deadline=past.response_deadline,
        )
