"""Users and memberships in the back office: search, a person's page, attach an account
to an organisation, change roles, deactivate and reactivate."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import translation
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.identity import errors, services
from mutualis.identity.models import Membership
from tests.factories.core import org_url
from tests.factories.identity import UserFactory, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


def events_of(organisation) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=audit.organisation_chain(organisation.pk)).order_by(
                "sequence"
            )
        )


def roles_of(membership) -> list[str]:
    with scopes_disabled():
        return sorted(Membership.objects.get(pk=membership.pk).role_codes())


def active(membership) -> bool:
    with scopes_disabled():
        return Membership.objects.get(pk=membership.pk).is_active


def error_codes(response, field: str) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


def shown_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def page_text(message) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(message)


# --- Search and pages ------------------------------------------------------------------


def test_search_by_email_or_name(staff_client, agent_a, agent_b):
    UserFactory(email="dominique@example.org", first_name="Dominique", last_name="Lefèvre")
    url = reverse("backoffice:user_list")

    def found(q):
        return [u.email for u in staff_client.get(url, {"q": q}).context["page"]]

    assert found("agent.a@") == ["agent.a@example.org"]
    assert found("lefèvre") == ["dominique@example.org"]
    assert found("Dominique Lefèvre") == ["dominique@example.org"]
    assert found("nobody-here") == []


def test_user_list_queries_do_not_grow_with_the_rows(
    staff_client, org_a, org_b, django_assert_max_num_queries
):
    for n in range(30):
        make_member(org_a, f"a{n}@example.org", roles=["buyer"])
        make_member(org_b, f"a{n}@example.org", roles=["secretary", "org_admin"])
    url = reverse("backoffice:user_list")
    staff_client.get(url)
    with django_assert_max_num_queries(9):
        response = staff_client.get(url)
    assert "Commune B" in response.content.decode()


def test_a_persons_page_shows_every_membership_and_its_roles(staff_client, agent_a, org_b):
    make_member(org_b, agent_a.user.email, roles=["secretary"])
    html = staff_client.get(reverse("backoffice:user_detail", args=[agent_a.user.pk]))
    html = html.content.decode()
    assert "Commune A" in html
    assert "Commune B" in html
    assert reverse("backoffice:membership_detail", args=[agent_a.pk]) in html


def test_unknown_user_or_membership_gives_404(staff_client):
    assert staff_client.get(reverse("backoffice:user_detail", args=[999999])).status_code == 404
    response = staff_client.get(reverse("backoffice:membership_detail", args=[999999]))
    assert response.status_code == 404


# --- Adding a membership ---------------------------------------------------------------


def test_add_an_existing_account_to_an_organisation(staff_client, operator_staff, org_a):
    person = UserFactory(email="new.agent@example.org")
    response = staff_client.post(
        reverse("backoffice:membership_add", args=[org_a.pk]),
        {"email": "New.Agent@Example.org", "roles": ["buyer", "secretary"]},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#members")
    with scopes_disabled():
        membership = Membership.objects.get(user=person, organisation=org_a)
    assert roles_of(membership) == ["buyer", "secretary"]
    [event] = events_of(org_a)
    assert event.action == "membership.granted"
    assert event.object_type == "identity.membership"
    assert event.object_id == str(membership.pk)
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"
    assert event.payload == {"roles_before": [], "roles_after": ["buyer", "secretary"]}
    # No personal data in the hashed payload.
    assert "new.agent" not in str(event.payload)


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"email": "ghost@example.org", "roles": ["buyer"]}, "email", "user_not_found"),
        ({"email": "agent.a@example.org", "roles": ["buyer"]}, "email", "membership_exists"),
        ({"email": "free@example.org", "roles": ["emperor"]}, "roles", "invalid_choice"),
        ({"email": "not-an-address", "roles": []}, "email", "invalid"),
    ],
)
def test_adding_with_bad_input_gives_a_form_error_and_changes_nothing(
    staff_client, org_a, agent_a, data, field, code
):
    UserFactory(email="free@example.org")
    with scopes_disabled():
        count = Membership.objects.count()
    response = staff_client.post(reverse("backoffice:membership_add", args=[org_a.pk]), data)
    assert response.status_code == 200
    assert error_codes(response, field) == [code]
    with scopes_disabled():
        assert Membership.objects.count() == count
    assert events_of(org_a) == []


def test_the_service_refuses_an_unknown_role(operator_staff, org_a):
    UserFactory(email="free@example.org")
    with pytest.raises(errors.UnknownRole) as excinfo:
        services.add_membership(
            actor=operator_staff,
            organisation_id=org_a.pk,
            email="free@example.org",
            roles=["buyer", "emperor"],
        )
    assert excinfo.value.code == "unknown_role"
    assert excinfo.value.field == "roles"
    assert "emperor" in str(excinfo.value.message)
    assert events_of(org_a) == []


def test_a_deactivated_account_cannot_be_attached(staff_client, org_a):
    UserFactory(email="gone@example.org", is_active=False)
    response = staff_client.post(
        reverse("backoffice:membership_add", args=[org_a.pk]),
        {"email": "gone@example.org", "roles": []},
    )
    assert error_codes(response, "email") == ["user_inactive"]


def test_adding_a_deactivated_member_again_reactivates_them(staff_client, operator_staff, agent_a):
    services.deactivate_membership(actor=operator_staff, membership_id=agent_a.pk)
    staff_client.post(
        reverse("backoffice:membership_add", args=[agent_a.organisation_id]),
        {"email": agent_a.user.email, "roles": ["secretary"]},
    )
    assert active(agent_a)
    assert roles_of(agent_a) == ["secretary"]
    last = events_of(agent_a.organisation)[-1]
    assert last.action == "membership.reactivated"
    assert last.payload == {"roles_before": ["buyer", "org_admin"], "roles_after": ["secretary"]}


# --- Roles -----------------------------------------------------------------------------


def test_change_roles(staff_client, agent_a):
    response = staff_client.post(
        reverse("backoffice:membership_detail", args=[agent_a.pk]),
        {"roles": ["buyer", "commission_member"]},
    )
    assert response.status_code == 302
    assert roles_of(agent_a) == ["buyer", "commission_member"]
    [event] = events_of(agent_a.organisation)
    assert event.action == "membership.roles_changed"
    assert event.payload == {
        "roles_before": ["buyer", "org_admin"],
        "roles_after": ["buyer", "commission_member"],
    }


def test_unchanged_roles_write_no_event(staff_client, agent_a):
    staff_client.post(
        reverse("backoffice:membership_detail", args=[agent_a.pk]),
        {"roles": ["org_admin", "buyer"]},
    )
    assert events_of(agent_a.organisation) == []


def test_an_unknown_role_gives_a_form_error_and_changes_nothing(staff_client, agent_a):
    response = staff_client.post(
        reverse("backoffice:membership_detail", args=[agent_a.pk]),
        {"roles": ["buyer", "emperor"]},
    )
    assert response.status_code == 200
    assert error_codes(response, "roles") == ["invalid_choice"]
    html = response.content.decode()
    assert 'id="id_roles_error"' in html
    assert 'href="#id_roles_0"' in html
    assert roles_of(agent_a) == ["buyer", "org_admin"]
    assert events_of(agent_a.organisation) == []


def test_removing_every_role_keeps_the_membership(staff_client, agent_a):
    staff_client.post(reverse("backoffice:membership_detail", args=[agent_a.pk]), {})
    assert roles_of(agent_a) == []
    assert active(agent_a)


# --- Deactivation ----------------------------------------------------------------------


def test_deactivate_and_reactivate(staff_client, operator_staff, agent_a):
    response = staff_client.post(reverse("backoffice:membership_deactivate", args=[agent_a.pk]))
    assert response.status_code == 302
    assert not active(agent_a)
    # The person no longer acts for the organisation.
    staff_client.force_login(agent_a.user)
    assert staff_client.get(org_url("organisation:audit")).status_code == 404

    staff_client.force_login(operator_staff.user)
    staff_client.post(reverse("backoffice:membership_reactivate", args=[agent_a.pk]))
    assert active(agent_a)
    assert roles_of(agent_a) == ["buyer", "org_admin"]
    assert [e.action for e in events_of(agent_a.organisation)] == [
        "membership.deactivated",
        "membership.reactivated",
    ]


def test_deactivating_twice_gives_a_message(staff_client, agent_a):
    url = reverse("backoffice:membership_deactivate", args=[agent_a.pk])
    staff_client.post(url, follow=True)
    response = staff_client.post(url, follow=True)
    assert shown_messages(response) == [page_text(errors.MembershipNotActive.message)]
    assert len(events_of(agent_a.organisation)) == 1


def test_staff_cannot_deactivate_their_own_membership(staff_client, operator_staff):
    response = staff_client.post(
        reverse("backoffice:membership_deactivate", args=[operator_staff.pk]), follow=True
    )
    assert shown_messages(response) == [page_text(errors.OwnMembership.message)]
    assert active(operator_staff)
    assert events_of(operator_staff.organisation) == []


def test_membership_services_refuse_a_member_agent(agent_a, agent_b):
    with pytest.raises(PermissionDenied):
        services.deactivate_membership(actor=agent_a, membership_id=agent_b.pk)
    with pytest.raises(PermissionDenied):
        services.change_roles(actor=agent_a, membership_id=agent_b.pk, roles=[])
    assert active(agent_b)


@pytest.mark.django_db
def test_operator_invites_a_newcomer_to_a_member_by_email(staff_client, org_a):
    from mutualis.core.models import OutgoingEmail
    from mutualis.identity.models import Invitation

    response = staff_client.post(
        reverse("backoffice:membership_invite", args=[org_a.pk]),
        {"email": "Newcomer@Example.org", "roles": ["buyer"]},
    )
    assert response.status_code == 302
    with scopes_disabled():
        invitation = Invitation.objects.get(organisation=org_a)
    assert invitation.email == "newcomer@example.org"
    assert OutgoingEmail.objects.filter(to="newcomer@example.org").count() == 1
    assert "invitation.sent" in [e.action for e in events_of(org_a)]


@pytest.mark.django_db
def test_operator_cannot_invite_an_active_member_again(staff_client, agent_a):
    response = staff_client.post(
        reverse("backoffice:membership_invite", args=[agent_a.organisation_id]),
        {"email": agent_a.user.email, "roles": ["buyer"]},
    )
    assert response.status_code == 200
    assert error_codes(response, "email") == ["membership_exists"]
