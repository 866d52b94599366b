"""The clause and template library: operator staff write it in the back office, members
read it, search it and copy a clause into a draft, and propose clauses the operator
accepts (they join the library) or rejects with a reason."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.procurement import errors, library
from mutualis.procurement.models import (
    Consultation,
    LibraryEntry,
    LibraryKind,
    LibraryProposal,
    ProposalState,
)
from tests.factories.core import ORG_B, org_url
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def buyer_b(agent_b):
    subscribe_to_procurement(agent_b.organisation)
    return agent_b


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


@pytest.fixture
def clause(operator_staff):
    return library.create_entry(
        actor=operator_staff,
        data=library.EntryInput(
            kind=LibraryKind.SOCIAL_ENVIRONMENTAL,
            title="Clause d'insertion",
            body="<p>Le titulaire réserve <strong>5 %</strong> des heures à l'insertion.</p>",
            keywords="insertion emploi",
        ),
    )


def propose(buyer, title="Clause de réversibilité"):
    with scope(organisation=buyer.organisation_id):
        return library.propose_entry(
            actor=buyer,
            data=library.EntryInput(
                kind=LibraryKind.TECHNICAL, title=title, body="<p>Les données sont rendues.</p>"
            ),
            note="Utilisée depuis 2024.",
        )


def actions(chain: str) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=chain)
            .order_by("sequence")
            .values_list("action", flat=True)
        )


# --- Operator staff edit the library in the back office ----------------------------------------


def test_operator_staff_add_an_entry_in_the_back_office(staff_client):
    response = staff_client.post(
        reverse("backoffice:library_entry_new"),
        {
            "kind": "administrative",
            "title": "Pénalités de retard",
            "body": "<p>200 € par jour.</p><script>alert(1)</script>",
            "keywords": "retard",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    entry = LibraryEntry.objects.get(title="Pénalités de retard")
    assert entry.body == "<p>200 € par jour.</p>"
    assert "library.entry_created" in actions(audit.PLATFORM_CHAIN)


def test_operator_staff_change_and_withdraw_an_entry(staff_client, clause):
    response = staff_client.post(
        reverse("backoffice:library_entry_edit", kwargs={"pk": clause.pk}),
        {"kind": "social_environmental", "title": "Insertion (révisée)", "body": "<p>7 %</p>"},
    )
    assert response.status_code == 302
    clause.refresh_from_db()
    assert clause.title == "Insertion (révisée)"
    assert clause.is_active is False  # the box was cleared: withdrawn, kept
    assert library.entry(clause.pk) is None
    assert "library.entry_updated" in actions(audit.PLATFORM_CHAIN)


def test_an_entry_without_text_is_refused_with_its_message(staff_client):
    response = staff_client.post(
        reverse("backoffice:library_entry_new"),
        {"kind": "technical", "title": "Vide", "body": "<script>x</script>", "is_active": "on"},
    )
    assert response.status_code == 200
    assert response.context["form"].has_error("body", "library_text_empty")
    assert not LibraryEntry.objects.exists()


def test_the_back_office_library_is_for_operator_staff_only(client, buyer, clause):
    client.force_login(buyer.user)
    for url in (
        reverse("backoffice:library_list"),
        reverse("backoffice:library_entry_edit", kwargs={"pk": clause.pk}),
        reverse("backoffice:library_proposals"),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("backoffice:library_entry_new"), {"title": "x"}).status_code == 404
    with pytest.raises(PermissionDenied):
        library.create_entry(
            actor=buyer, data=library.EntryInput(kind="technical", title="x", body="<p>x</p>")
        )


def test_the_back_office_lists_the_entries(staff_client, clause):
    response = staff_client.get(reverse("backoffice:library_list"))
    assert response.status_code == 200
    assert "Clause d&#x27;insertion" in response.content.decode()


# --- Members read the library, read-only -------------------------------------------------------


def test_a_buyer_searches_the_library(client, buyer, clause, operator_staff):
    library.create_entry(
        actor=operator_staff,
        data=library.EntryInput(kind="administrative", title="Avance", body="<p>Avance.</p>"),
    )
    client.force_login(buyer.user)
    response = client.get(org_url("procurement:library"), {"q": "insertion"})
    assert response.status_code == 200
    assert [e.title for e in response.context["page"]] == ["Clause d'insertion"]
    by_kind = client.get(org_url("procurement:library"), {"kind": "administrative"})
    assert [e.title for e in by_kind.context["page"]] == ["Avance"]


def test_a_member_has_no_page_to_change_the_library(client, buyer, clause):
    client.force_login(buyer.user)
    # The buyer's library page lists; it takes no POST, and nothing writes the library.
    response = client.post(org_url("procurement:library"), {"title": "changed"})
    assert response.status_code == 405
    clause.refresh_from_db()
    assert clause.title == "Clause d'insertion"


def test_a_buyer_inserts_a_clause_into_a_draft(client, buyer, clause):
    consultation = make_consultation(buyer)
    client.force_login(buyer.user)
    page = client.get(org_url("procurement:library"), {"consultation": consultation.pk})
    assert page.context["target"].pk == consultation.pk

    response = client.post(
        org_url("procurement:clause_insert", pk=consultation.pk), {"entry": clause.pk}
    )

    assert response.status_code == 302
    with scopes_disabled():
        description = Consultation.objects.get(pk=consultation.pk).description
    assert "<h3>Clause d'insertion</h3>" in description
    assert "<strong>5 %</strong>" in description
    assert "consultation.clause_inserted" in actions(
        audit.organisation_chain(buyer.organisation_id)
    )


def test_a_clause_goes_into_a_draft_only(buyer, clause):
    consultation = make_consultation(buyer, publish=True)
    with scope(organisation=buyer.organisation_id), pytest.raises(errors.NotEditable):
        library.insert_clause(actor=buyer, consultation_id=consultation.pk, entry_id=clause.pk)


def test_another_member_cannot_insert_into_my_draft(client, buyer, buyer_b, clause):
    consultation = make_consultation(buyer)
    client.force_login(buyer_b.user)
    response = client.post(
        org_url("procurement:clause_insert", org=ORG_B, pk=consultation.pk), {"entry": clause.pk}
    )
    assert response.status_code == 404


# --- Members propose, the operator decides -------------------------------------------------------


def test_a_buyer_proposes_a_clause_and_sees_its_state(client, buyer):
    client.force_login(buyer.user)
    response = client.post(
        org_url("procurement:library_propose"),
        {"kind": "technical", "title": "Réversibilité", "body": "<p>Texte</p>", "note": ""},
    )
    assert response.status_code == 302
    with scope(organisation=buyer.organisation_id):
        proposal = LibraryProposal.objects.get(organisation_id=buyer.organisation_id)
    assert proposal.state == ProposalState.PROPOSED
    assert "library.proposal_sent" in actions(audit.organisation_chain(buyer.organisation_id))
    page = client.get(org_url("procurement:library_propose")).content.decode()
    assert "Réversibilité" in page


def test_a_member_does_not_see_another_member_proposals(client, buyer, buyer_b):
    propose(buyer, title="Proposition secrète de A")
    client.force_login(buyer_b.user)
    page = client.get(org_url("procurement:library_propose", org=ORG_B)).content.decode()
    assert "Proposition secrète de A" not in page


def test_the_operator_accepts_a_proposal_which_joins_the_library(staff_client, buyer):
    proposal = propose(buyer)
    page = staff_client.get(reverse("backoffice:library_proposals")).content.decode()
    assert "Clause de réversibilité" in page
    assert "Commune A" in page

    response = staff_client.post(
        reverse("backoffice:library_proposal_accept", kwargs={"pk": proposal.pk})
    )

    assert response.status_code == 302
    entry = LibraryEntry.objects.get(title="Clause de réversibilité")
    with scopes_disabled():
        proposal.refresh_from_db()
    assert proposal.state == ProposalState.ACCEPTED
    assert proposal.entry_id == entry.pk
    assert "library.proposal_accepted" in actions(audit.organisation_chain(buyer.organisation_id))


def test_the_operator_rejects_a_proposal_with_a_reason_the_member_reads(
    client, staff_client, buyer
):
    proposal = propose(buyer)
    refused = staff_client.post(
        reverse("backoffice:library_proposal_reject", kwargs={"pk": proposal.pk}), {"reason": ""}
    )
    assert refused.status_code == 302
    with scopes_disabled():
        proposal.refresh_from_db()
    assert proposal.state == ProposalState.PROPOSED

    staff_client.post(
        reverse("backoffice:library_proposal_reject", kwargs={"pk": proposal.pk}),
        {"reason": "Déjà couverte par la clause d'insertion."},
    )

    with scopes_disabled():
        proposal.refresh_from_db()
    assert proposal.state == ProposalState.REJECTED
    assert not LibraryEntry.objects.exists()
    assert "library.proposal_rejected" in actions(audit.organisation_chain(buyer.organisation_id))
    client.force_login(buyer.user)
    page = client.get(org_url("procurement:library_propose")).content.decode()
    assert "Déjà couverte par la clause d&#x27;insertion." in page


def test_a_decided_proposal_is_not_decided_again(operator_staff, buyer):
    proposal = propose(buyer)
    library.accept_proposal(actor=operator_staff, proposal_id=proposal.pk)
    with pytest.raises(errors.ProposalAlreadyDecided):
        library.reject_proposal(actor=operator_staff, proposal_id=proposal.pk, reason="Non")
    assert LibraryEntry.objects.count() == 1


def test_a_buyer_cannot_decide_on_a_proposal(buyer):
    proposal = propose(buyer)
    with pytest.raises(PermissionDenied):
        library.accept_proposal(actor=buyer, proposal_id=proposal.pk)
