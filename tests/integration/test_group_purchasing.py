"""Group purchasing: a coordinating member publishes a consultation on behalf of other
members, each with its share. The participants read it, once published, read-only, on
their own pages and their buyer profiles; the coordinator's drafts stay its own; another
member sees nothing of the group."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.procurement import errors, groups, services
from mutualis.procurement.models import Consultation, GroupParticipation
from tests.factories.core import ORG_B, OrganisationFactory, org_url
from tests.factories.identity import make_member
from tests.factories.mfa import give_authenticator_app
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def participant(agent_b):
    subscribe_to_procurement(agent_b.organisation)
    return agent_b


@pytest.fixture
def stranger(db):
    """A buyer of a third member, in no group."""
    org = OrganisationFactory(name="Commune C", slug="commune-c", adhesion_status="member")
    subscribe_to_procurement(org)
    membership = make_member(org, "agent.c@example.org", roles=["buyer"])
    give_authenticator_app(membership.user)
    return membership


def add(coordinator, consultation, organisation, percent=None, amount=None):
    with scope(organisation=coordinator.organisation_id):
        return groups.add_participant(
            actor=coordinator,
            consultation_id=consultation.pk,
            participant=organisation.slug,
            share_percent=None if percent is None else Decimal(percent),
            share_amount=None if amount is None else Decimal(amount),
        )


def publish(coordinator, consultation):
    with scope(organisation=coordinator.organisation_id):
        return services.publish_consultation(actor=coordinator, consultation_id=consultation.pk)


def chain_actions(organisation) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=audit.organisation_chain(organisation.pk))
            .order_by("sequence")
            .values_list("action", flat=True)
        )


@pytest.fixture
def group_purchase(coordinator, participant):
    consultation = make_consultation(coordinator, reference="GRP-1", title="Électricité groupée")
    add(coordinator, consultation, participant.organisation, percent="40", amount="48000")
    return consultation


# --- The participation row is the participant's ----------------------------------------------


def test_the_participation_row_belongs_to_the_participant(group_purchase, participant, coordinator):
    with scope(organisation=participant.organisation_id):
        [row] = GroupParticipation.objects.filter(organisation_id=participant.organisation_id)
    assert row.consultation_id == group_purchase.pk
    assert row.share_percent == Decimal("40")
    # The coordinator's scope does not hold it: it reads its group through a crossing.
    with scope(organisation=coordinator.organisation_id):
        assert not GroupParticipation.objects.filter(consultation_id=group_purchase.pk).exists()


def test_the_changes_of_the_group_are_audited_on_the_coordinator_chain(
    group_purchase, coordinator, participant, django_capture_on_commit_callbacks
):
    assert "consultation.participant_added" in chain_actions(coordinator.organisation)
    # While a draft, nothing of it reaches the participant's chain.
    assert "group_purchase.published" not in chain_actions(participant.organisation)
    # The participant's event is written once the publication committed.
    with django_capture_on_commit_callbacks(execute=True):
        publish(coordinator, group_purchase)
    assert "group_purchase.published" in chain_actions(participant.organisation)


# --- What the participant sees ---------------------------------------------------------------


def test_a_coordinator_draft_is_invisible_to_the_participant(client, group_purchase, participant):
    client.force_login(participant.user)
    response = client.get(org_url("procurement:group_purchases", org=ORG_B))
    assert response.status_code == 200
    assert "Électricité groupée" not in response.content.decode()
    # Nor on its buyer profile, nor on the public page.
    profile = client.get(reverse("directory:detail", args=[ORG_B])).content.decode()
    assert "Électricité groupée" not in profile
    public = reverse("consultations:detail", kwargs={"pk": group_purchase.pk})
    assert client.get(public).status_code == 404


def test_the_participant_reads_the_published_purchase_on_its_own_pages(
    client, group_purchase, coordinator, participant
):
    publish(coordinator, group_purchase)
    client.force_login(participant.user)

    response = client.get(org_url("procurement:group_purchases", org=ORG_B))

    html = response.content.decode()
    assert "Électricité groupée" in html
    assert "Commune A" in html  # the coordinator
    assert "40 %" in html
    [(consultation, row)] = response.context["rows"]
    assert consultation.pk == group_purchase.pk
    assert row.organisation_id == participant.organisation_id


def test_the_participant_sees_the_purchase_on_its_buyer_profile(
    client, group_purchase, coordinator
):
    publish(coordinator, group_purchase)
    html = client.get(reverse("directory:detail", args=[ORG_B])).content.decode()
    assert "Électricité groupée" in html
    assert "coordinated by Commune A" in html


def test_the_public_page_names_the_members_of_the_group(client, group_purchase, coordinator):
    publish(coordinator, group_purchase)
    html = client.get(
        reverse("consultations:detail", kwargs={"pk": group_purchase.pk})
    ).content.decode()
    assert "Commune A coordinates this purchase" in html
    assert "Commune B — 40 %" in html


def test_the_participant_cannot_open_or_change_the_coordinator_consultation(
    client, group_purchase, coordinator, participant
):
    publish(coordinator, group_purchase)
    client.force_login(participant.user)
    for name in ("procurement:detail", "procurement:edit", "procurement:group"):
        url = org_url(name, org=ORG_B, pk=group_purchase.pk)
        assert client.get(url).status_code == 404, name
    posted = client.post(
        org_url("procurement:group", org=ORG_B, pk=group_purchase.pk),
        {"organisation": "commune-b", "share_percent": "90"},
    )
    assert posted.status_code == 404
    # Nor through the services, acting for its own organisation.
    with scope(organisation=participant.organisation_id), pytest.raises(Consultation.DoesNotExist):
        services.update_consultation(
            actor=participant,
            consultation_id=group_purchase.pk,
            data=None,  # type: ignore[arg-type]
        )


def test_another_member_sees_nothing_of_the_group(client, group_purchase, coordinator, stranger):
    publish(coordinator, group_purchase)
    client.force_login(stranger.user)
    assert (
        client.get(org_url("procurement:group", org="commune-c", pk=group_purchase.pk)).status_code
        == 404
    )
    response = client.get(org_url("procurement:group_purchases", org="commune-c"))
    assert response.context["rows"] == []


# --- The coordinator manages the group --------------------------------------------------------


def test_the_coordinator_adds_a_participant_from_its_page(client, coordinator, participant):
    consultation = make_consultation(coordinator)
    client.force_login(coordinator.user)
    response = client.post(
        org_url("procurement:group", pk=consultation.pk),
        {"organisation": participant.organisation.siren, "share_percent": "25", "share_amount": ""},
    )
    assert response.status_code == 302
    page = client.get(org_url("procurement:group", pk=consultation.pk)).content.decode()
    assert "Commune B" in page
    assert "25 %" in page


def test_the_coordinator_removes_a_participant_while_drafting(
    client, group_purchase, coordinator, participant
):
    client.force_login(coordinator.user)
    with scopes_disabled():
        row = GroupParticipation.objects.get(consultation=group_purchase)
    response = client.post(
        org_url("procurement:group_remove", pk=group_purchase.pk, participation_pk=row.pk)
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert not GroupParticipation.objects.filter(pk=row.pk).exists()
    assert "consultation.participant_removed" in chain_actions(coordinator.organisation)


def test_the_group_of_a_published_purchase_is_frozen(group_purchase, coordinator, stranger):
    publish(coordinator, group_purchase)
    with pytest.raises(errors.NotEditable):
        add(coordinator, group_purchase, stranger.organisation, percent="10")


def test_a_participant_must_be_a_member_of_the_territory(coordinator):
    consultation = make_consultation(coordinator)
    prospect = OrganisationFactory(name="Commune prospecte", adhesion_status="prospect")
    with pytest.raises(errors.ParticipantNotMember):
        add(coordinator, consultation, prospect, percent="10")
    with (
        scope(organisation=coordinator.organisation_id),
        pytest.raises(errors.ParticipantNotMember),
    ):
        groups.add_participant(
            actor=coordinator,
            consultation_id=consultation.pk,
            participant="nowhere",
            share_percent=Decimal(10),
        )


def test_the_coordinator_is_not_its_own_participant(coordinator):
    consultation = make_consultation(coordinator)
    with pytest.raises(errors.ParticipantIsCoordinator):
        add(coordinator, consultation, coordinator.organisation, percent="10")


def test_a_participant_is_added_once(group_purchase, coordinator, participant):
    with pytest.raises(errors.ParticipantAlreadyAdded):
        add(coordinator, group_purchase, participant.organisation, percent="5")


# --- Shares -------------------------------------------------------------------------------------


def test_a_share_is_required(coordinator, participant):
    consultation = make_consultation(coordinator)
    with pytest.raises(errors.ShareMissing):
        add(coordinator, consultation, participant.organisation)


def test_percentages_total_at_most_a_hundred(group_purchase, coordinator, stranger):
    with pytest.raises(errors.SharesOverHundred):
        add(coordinator, group_purchase, stranger.organisation, percent="60.01")
    assert add(coordinator, group_purchase, stranger.organisation, percent="60").pk


def test_amounts_total_at_most_the_estimated_value(group_purchase, coordinator, stranger):
    # The consultation's estimated value is 120,000; B's share 48,000.
    with pytest.raises(errors.SharesOverValue):
        add(coordinator, group_purchase, stranger.organisation, amount="72000.01")
    assert add(coordinator, group_purchase, stranger.organisation, amount="72000").pk


def test_shares_are_checked_again_at_publication(group_purchase, coordinator):
    # The estimated value fell below the shares after they were given.
    with scopes_disabled():
        Consultation.objects.filter(pk=group_purchase.pk).update(estimated_value=Decimal(1000))
    with pytest.raises(errors.SharesOverValue):
        publish(coordinator, group_purchase)


def test_a_bad_share_is_refused_on_the_form_with_its_message(
    client, group_purchase, coordinator, stranger
):
    client.force_login(coordinator.user)
    response = client.post(
        org_url("procurement:group", pk=group_purchase.pk),
        {"organisation": "commune-c", "share_percent": "75"},
    )
    assert response.status_code == 400
    assert response.context["form"].has_error("share_percent", "shares_over_hundred")
    bad = client.post(
        org_url("procurement:group", pk=group_purchase.pk),
        {"organisation": "commune-c" + "x" * 500, "share_percent": "abc"},
    )
    assert bad.status_code == 400
    assert bad.context["form"].has_error("organisation", "max_length")
    assert bad.context["form"].has_error("share_percent", "invalid")
    # A NUL byte is refused at the edge, before any form.
    nul = client.post(
        org_url("procurement:group", pk=group_purchase.pk),
        {"organisation": "commune\x00-c", "share_percent": "5"},
    )
    assert nul.status_code == 400
    with scopes_disabled():
        assert GroupParticipation.objects.filter(consultation=group_purchase).count() == 1


def test_the_group_pages_refuse_a_post_without_csrf_token(group_purchase, coordinator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator.user)
    response = client.post(
        org_url("procurement:group", pk=group_purchase.pk),
        {"organisation": "commune-c", "share_percent": "5"},
    )
    assert response.status_code == 403
