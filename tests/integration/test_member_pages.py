"""An organisation's administrators manage its members: list, invite, change roles,
remove, withdraw an invitation; only in their own organisation."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import translation
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core import errors as link_errors
from mutualis.core.models import AuditEvent, OutgoingEmail, Subscription
from mutualis.identity import errors, invitations, services
from mutualis.identity.models import Invitation, Membership
from tests.factories.core import org_url
from tests.factories.identity import UserFactory, make_member
from tests.factories.mfa import give_authenticator_app
from tests.mailbox import delivered_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, agent_a):
    """Org A's administrator; org A subscribes to procurement, whose roles (buyer,
    commission member) its administrators may therefore give."""
    with scopes_disabled():
        Subscription.objects.create(
            organisation=agent_a.organisation, service_id="procurement", since=date(2025, 1, 1)
        )
    client.force_login(agent_a.user)
    return client


@pytest.fixture
def colleague(org_a):
    """An agent of org A who is not an administrator."""
    return make_member(org_a, "colleague@example.org", roles=["secretary"])


@pytest.fixture
def invitation_a(agent_a):
    return invitations.send_invitation(
        actor=agent_a,
        email="pending@example.org",
        roles=["secretary"],
        site_url="http://testserver",
    )


def events_of(organisation) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=audit.organisation_chain(organisation.pk)).order_by(
                "sequence"
            )
        )


def reload(membership) -> Membership:
    with scopes_disabled():
        return Membership.objects.get(pk=membership.pk)


def shown_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def page_text(message) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(message)


def error_codes(response, field) -> list[str]:
    errors_ = response.context["form"].errors.as_data()
    return [e.code for e in errors_.get(field, [])]


def object_urls(colleague, invitation) -> list[tuple[str, str]]:
    """(method, URL) of every page about one member or invitation of org A."""
    return [
        ("get", org_url("members:detail", pk=colleague.pk)),
        ("post", org_url("members:detail", pk=colleague.pk)),
        ("post", org_url("members:remove", pk=colleague.pk)),
        ("get", org_url("members:remove", pk=colleague.pk)),
        ("post", org_url("members:invitation_revoke", pk=invitation.pk)),
        ("get", org_url("members:invitation_revoke", pk=invitation.pk)),
    ]


LIST_URLS = [org_url("members:list"), org_url("members:invite")]


# --- Who may see the pages -------------------------------------------------------------


def test_an_administrator_of_another_organisation_gets_404(
    client, agent_b, colleague, invitation_a
):
    client.force_login(agent_b.user)
    for method, url in object_urls(colleague, invitation_a):
        response = getattr(client, method)(url, {"roles": ["org_admin"]})
        assert response.status_code == 404, (method, url)
    assert reload(colleague).is_active
    assert sorted(reload(colleague).role_codes()) == ["secretary"]
    with scopes_disabled():
        assert Invitation.objects.get(pk=invitation_a.pk).is_open
    assert [e.action for e in events_of(colleague.organisation)] == ["invitation.sent"]


def test_an_outsider_gets_404(client, outsider, colleague, invitation_a):
    client.force_login(outsider)
    for url in LIST_URLS:
        assert client.get(url).status_code == 404
    for method, url in object_urls(colleague, invitation_a):
        assert getattr(client, method)(url).status_code == 404, (method, url)


def test_an_agent_who_is_not_administrator_gets_404(client, colleague, agent_a, invitation_a):
    """The one guard convention: a page a person may not see does not exist for them."""
    client.force_login(colleague.user)
    for url in LIST_URLS:
        assert client.get(url).status_code == 404
    for method, url in object_urls(agent_a, invitation_a):
        assert getattr(client, method)(url).status_code == 404, (method, url)


def test_anonymous_people_are_sent_to_login(client, colleague, invitation_a):
    for method, url in [("get", u) for u in LIST_URLS] + object_urls(colleague, invitation_a):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_the_menu_shows_members_to_administrators_only(admin_client, client, colleague):
    members_url = org_url("members:list")
    home = org_url("organisation:home")
    assert f'href="{members_url}"' in admin_client.get(home).content.decode()
    client.force_login(colleague.user)
    assert f'href="{members_url}"' not in client.get(home).content.decode()


# --- The list --------------------------------------------------------------------------


def test_the_list_shows_active_members_and_open_invitations_of_the_organisation_only(
    admin_client, agent_a, agent_b, colleague, invitation_a
):
    gone = make_member(agent_a.organisation, "gone@example.org", roles=["buyer"])
    services.deactivate_membership(actor=agent_a, membership_id=gone.pk)
    invitations.send_invitation(
        actor=agent_b, email="elsewhere@example.org", roles=[], site_url="http://testserver"
    )
    response = admin_client.get(org_url("members:list"))
    assert response.status_code == 200
    assert [m.user.email for m in response.context["members"]] == sorted(
        ["agent.a@example.org", "colleague@example.org"]
    )
    assert [i.email for i in response.context["invitations"]] == ["pending@example.org"]
    html = response.content.decode()
    assert "pending@example.org" in html
    assert "gone@example.org" not in html
    assert "agent.b@example.org" not in html
    assert "elsewhere@example.org" not in html


def test_the_list_queries_do_not_grow_with_the_rows(
    admin_client, agent_a, org_a, colleague, invitation_a, django_assert_max_num_queries, settings
):
    settings.MUTUALIS_INVITATION_RATE_PER_PERSON = "50/h"
    url = org_url("members:list")
    admin_client.get(url)
    # Session, person, memberships and their roles, the menu's services, then the
    # members with their roles, the invitations with their roles.
    with django_assert_max_num_queries(12) as few:
        admin_client.get(url)
    for n in range(30):
        make_member(org_a, f"agent{n}@example.org", roles=["buyer", "secretary"])
    for n in range(10):
        invitations.send_invitation(
            actor=agent_a,
            email=f"invited{n}@example.org",
            roles=["secretary"],
            site_url="http://testserver",
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)
    assert len(response.context["members"]) == 32
    assert len(response.context["invitations"]) == 11


# --- Inviting --------------------------------------------------------------------------


def test_an_administrator_invites_from_the_page(admin_client, agent_a):
    response = admin_client.post(
        org_url("members:invite"),
        {"email": "Dominique@Example.org", "roles": ["buyer", "secretary"]},
    )
    assert response.status_code == 302
    assert response["Location"] == org_url("members:list")
    mail = OutgoingEmail.objects.get(to="dominique@example.org")
    assert "/invitations/" in delivered_text(mail)
    [event] = events_of(agent_a.organisation)
    assert event.action == "invitation.sent"
    assert event.payload["roles"] == ["buyer", "secretary"]
    assert "dominique" in admin_client.get(org_url("members:list")).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"email": "not-an-address", "roles": []}, "email", "invalid"),
        ({"email": "x@example.org", "roles": ["emperor"]}, "roles", "invalid_choice"),
        ({"email": "colleague@example.org", "roles": []}, "email", "membership_exists"),
    ],
)
def test_inviting_with_bad_input_gives_a_form_error_and_sends_nothing(
    admin_client, agent_a, colleague, data, field, code
):
    response = admin_client.post(org_url("members:invite"), data)
    assert response.status_code == 200
    assert error_codes(response, field) == [code]
    assert not OutgoingEmail.objects.exists()
    assert events_of(agent_a.organisation) == []


def test_the_invitation_form_says_how_long_the_link_lasts(admin_client, settings):
    settings.MUTUALIS_INVITATION_DAYS = 3
    response = admin_client.get(org_url("members:invite"))
    assert response.context["invitation_days"] == 3


# --- Roles -----------------------------------------------------------------------------


def test_an_administrator_changes_a_members_roles(admin_client, colleague):
    url = org_url("members:detail", pk=colleague.pk)
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"roles": ["buyer", "signatory"]})
    assert response.status_code == 302
    assert sorted(reload(colleague).role_codes()) == ["buyer", "signatory"]
    [event] = events_of(colleague.organisation)
    assert event.action == "membership.roles_changed"
    assert event.payload == {
        "roles_before": ["secretary"],
        "roles_after": ["buyer", "signatory"],
    }


def test_the_last_administrator_cannot_drop_their_own_role(admin_client, agent_a):
    response = admin_client.post(org_url("members:detail", pk=agent_a.pk), {"roles": ["buyer"]})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors().as_data()[0].code == "last_org_admin"
    assert sorted(reload(agent_a).role_codes()) == ["buyer", "org_admin"]
    assert events_of(agent_a.organisation) == []


def test_an_administrator_may_step_down_once_another_one_is_appointed(
    admin_client, agent_a, colleague
):
    give_authenticator_app(colleague.user)
    admin_client.post(
        org_url("members:detail", pk=colleague.pk), {"roles": ["org_admin", "secretary"]}
    )
    response = admin_client.post(org_url("members:detail", pk=agent_a.pk), {"roles": ["buyer"]})
    assert response.status_code == 302
    assert sorted(reload(agent_a).role_codes()) == ["buyer"]
    # No longer an administrator: the members pages are closed to them.
    assert admin_client.get(org_url("members:list")).status_code == 404


def test_the_service_refuses_to_demote_the_last_administrator(agent_a):
    with pytest.raises(errors.LastOrgAdmin) as excinfo:
        services.change_roles(actor=agent_a, membership_id=agent_a.pk, roles=["buyer"])
    assert excinfo.value.code == "last_org_admin"


# --- Removing --------------------------------------------------------------------------


def test_an_administrator_removes_a_member(admin_client, colleague, client):
    response = admin_client.post(org_url("members:remove", pk=colleague.pk), follow=True)
    assert response.redirect_chain[-1][0] == org_url("members:list")
    assert not reload(colleague).is_active
    [event] = events_of(colleague.organisation)
    assert event.action == "membership.deactivated"
    assert event.payload == {"roles": ["secretary"]}
    # The page of a removed member is gone.
    assert admin_client.get(org_url("members:detail", pk=colleague.pk)).status_code == 404


def test_an_administrator_cannot_remove_themselves(admin_client, agent_a):
    response = admin_client.post(org_url("members:remove", pk=agent_a.pk), follow=True)
    assert shown_messages(response) == [page_text(errors.OwnMembership.message)]
    assert reload(agent_a).is_active
    assert events_of(agent_a.organisation) == []
    page = admin_client.get(org_url("members:detail", pk=agent_a.pk)).content.decode()
    assert org_url("members:remove", pk=agent_a.pk) not in page


def test_removing_another_administrator_keeps_one(admin_client, agent_a, org_a):
    other = make_member(org_a, "other.admin@example.org", roles=["org_admin"])
    admin_client.post(org_url("members:remove", pk=other.pk))
    assert not reload(other).is_active
    assert reload(agent_a).is_active


def test_an_administrator_cannot_remove_a_member_of_another_organisation(agent_a, agent_b):
    """The service refuses too, whatever the page does."""
    with pytest.raises(PermissionDenied):
        services.deactivate_membership(actor=agent_a, membership_id=agent_b.pk)
    with pytest.raises(PermissionDenied):
        services.change_roles(actor=agent_a, membership_id=agent_b.pk, roles=["org_admin"])
    assert reload(agent_b).is_active


def test_operator_staff_keep_managing_any_member(operator_staff, agent_a):
    """The back office's rights are unchanged: staff may even demote the last
    administrator, to repair an organisation."""
    services.change_roles(actor=operator_staff, membership_id=agent_a.pk, roles=["buyer"])
    assert sorted(reload(agent_a).role_codes()) == ["buyer"]


# --- Withdrawing an invitation ---------------------------------------------------------


def test_an_administrator_withdraws_an_invitation(admin_client, client, invitation_a):
    link = delivered_text(OutgoingEmail.objects.get(to="pending@example.org"))
    path = "/invitations/" + link.split("/invitations/")[1].split("/")[0] + "/"
    response = admin_client.post(
        org_url("members:invitation_revoke", pk=invitation_a.pk), follow=True
    )
    assert response.redirect_chain[-1][0] == org_url("members:list")
    assert "pending@example.org" not in [i.email for i in response.context["invitations"]]
    assert client.get(path).status_code == 410
    assert [e.action for e in events_of(invitation_a.organisation)] == [
        "invitation.sent",
        "invitation.revoked",
    ]

    again = admin_client.post(org_url("members:invitation_revoke", pk=invitation_a.pk), follow=True)
    assert shown_messages(again) == [page_text(link_errors.InvitationNotOpen.message)]


def test_an_unknown_number_gives_404(admin_client):
    for name in ["members:detail", "members:remove", "members:invitation_revoke"]:
        assert admin_client.post(org_url(name, pk=999999)).status_code == 404


def test_a_user_without_membership_row_in_the_organisation_is_not_listed(admin_client):
    UserFactory(email="stranger@example.org")
    html = admin_client.get(org_url("members:list")).content.decode()
    assert "stranger@example.org" not in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_administrators_demoting_each_other_at_once_leave_one():
    """Each one alone may step the other down; at the same time, the second one to run
    finds that the first one stepped them down and is refused: the organisation keeps an
    administrator."""
    import threading

    from django.db import connection

    from tests.factories.core import OrganisationFactory

    organisation = OrganisationFactory()
    first = make_member(organisation, "first@example.org", roles=["org_admin"])
    second = make_member(organisation, "second@example.org", roles=["org_admin"])
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor, target) -> None:
        try:
            start.wait()
            services.change_roles(actor=actor, membership_id=target.pk, roles=["buyer"])
            outcomes.append("done")
        except (errors.LastOrgAdmin, PermissionDenied):
            # Stepped down by the other one meanwhile: no longer an administrator.
            outcomes.append("refused")
        except BaseException as exc:  # reported by the main thread
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["done", "refused"]
    admins = [m for m in (reload(first), reload(second)) if m.has_role("org_admin")]
    assert len(admins) == 1


def test_an_administrator_stepped_down_meanwhile_can_no_longer_act(agent_a, org_a, colleague):
    """The actor's rights are read again when the change is made, not only when the
    page was opened."""
    other = make_member(org_a, "other.admin@example.org", roles=["org_admin"])
    # As a request loads it: roles read once, when the page was opened.
    with scopes_disabled():
        stale = Membership.objects.prefetch_related("roles").get(pk=agent_a.pk)
    services.change_roles(actor=other, membership_id=agent_a.pk, roles=["buyer"])
    assert stale.has_role("org_admin")
    with pytest.raises(PermissionDenied):
        services.change_roles(actor=stale, membership_id=colleague.pk, roles=["buyer"])
    assert sorted(reload(colleague).role_codes()) == ["secretary"]


def test_roles_of_a_service_the_organisation_does_not_subscribe_to_are_not_offered(
    client, agent_a, colleague
):
    """Given org A without procurement, its administrator is not offered procurement's
    roles, and posting one is refused as an unknown choice."""
    client.force_login(agent_a.user)
    offered = {
        c for c, _ in client.get(org_url("members:invite")).context["form"].fields["roles"].choices
    }
    assert "buyer" not in offered
    assert {"org_admin", "secretary", "signatory"} <= offered

    response = client.post(org_url("members:detail", pk=colleague.pk), {"roles": ["buyer"]})

    assert response.status_code == 200
    assert error_codes(response, "roles") == ["invalid_choice"]
    assert sorted(reload(colleague).role_codes()) == ["secretary"]
