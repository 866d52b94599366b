"""A person deletes their account: it is anonymised, their memberships end, the audit
trail forgets who they were and still verifies."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.idp.oidc.models import Token
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent, AuditEventContext, AuditSubject
from mutualis.identity import accounts, errors, invitations, services
from mutualis.identity.models import Invitation, Membership, User
from tests.factories.identity import PASSWORD
from tests.factories.mfa import give_authenticator_app

pytestmark = pytest.mark.django_db

EMAIL = "camille.durand@example.org"
DELETE = reverse("my_account:delete")


@pytest.fixture
def person(org_a, org_b, agent_a):
    """An administrator of org A (beside agent A) and a secretary of org B, with a second
    factor, a token of a single sign-on client, and traces in the audit trail."""
    user = services.ensure_user(
        email=EMAIL, password=PASSWORD, first_name="Camille", last_name="Durand"
    )
    EmailAddress.objects.create(user=user, email="c.durand@mairie.example", verified=True)
    give_authenticator_app(user)
    services.grant_membership(actor=None, user=user, organisation=org_a, roles=["org_admin"])
    services.grant_membership(actor=None, user=user, organisation=org_b, roles=["secretary"])
    with scopes_disabled():
        membership_a = Membership.objects.get(user=user, organisation=org_a)
    invitations.send_invitation(
        actor=membership_a, email="guest@example.org", roles=[], site_url="http://testserver"
    )
    audit.record(
        actor=membership_a,
        action="test.done",
        source_address="203.0.113.7",
        user_agent="Firefox/140",
    )
    token = Token(type=Token.Type.REFRESH_TOKEN, user=user)
    token.set_value("refresh-token-value")
    token.save()
    return user


@pytest.fixture
def person_client(client, person):
    client.force_login(person)
    return client


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def memberships_of(user) -> list[Membership]:
    with scopes_disabled():
        return list(Membership.objects.filter(user=user).order_by("organisation__name"))


def test_the_page_explains_what_is_deleted_and_what_is_kept(person_client):
    response = person_client.get(DELETE)
    assert response.status_code == 200
    html = response.content.decode()
    for section in ('id="deleted-title"', 'id="kept-title"', 'id="confirm-title"'):
        assert section in html
    assert 'name="password"' in html


def test_anonymous_people_are_sent_to_login(client):
    response = client.get(DELETE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_deleting_the_account_anonymises_it_and_keeps_the_trail_verifiable(
    person_client, person, org_a, org_b
):
    """Given a person with memberships, a second factor, tokens and audit traces, when
    they confirm the deletion with their password, then nothing identifies them any more,
    their memberships have ended, and every audit chain still verifies."""
    pseudonym = person.audit_pseudonym
    with scopes_disabled():
        their_event_ids = list(
            AuditEvent.objects.filter(actor=f"user:{pseudonym}").values_list("pk", flat=True)
        )
    assert AuditEventContext.objects.filter(event_id__in=their_event_ids).exists()
    assert AuditSubject.objects.get(pseudonym=pseudonym).email == EMAIL

    response = person_client.post(DELETE, {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("my_account:deleted")

    user = fresh(person)
    assert user.email == f"deleted-{pseudonym.hex}@invalid"
    assert (user.first_name, user.last_name) == ("", "")
    assert not user.has_usable_password()
    assert not user.is_active
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not EmailAddress.objects.filter(email__in=[EMAIL, "c.durand@mairie.example"]).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    assert not Token.objects.filter(user=user).exists()
    assert [m.is_active for m in memberships_of(user)] == [False, False]

    subject = AuditSubject.objects.get(pseudonym=pseudonym)
    assert (subject.display_name, subject.email) == ("", "")
    assert subject.erased_at is not None
    assert not AuditEventContext.objects.filter(event_id__in=their_event_ids).exists()

    with scopes_disabled():
        deleted = list(AuditEvent.objects.filter(action="account.deleted").order_by("chain"))
    assert sorted(e.chain for e in deleted) == sorted(
        [
            audit.organisation_chain(org_a.pk),
            audit.organisation_chain(org_b.pk),
            audit.PLATFORM_CHAIN,
        ]
    )
    for event in deleted:
        assert event.actor == f"user:{pseudonym}"
        for personal in ("camille", "durand", "example.org", "mairie"):
            assert personal not in str(event.payload).lower()

    report = audit.verify_all_chains()
    assert report.ok, report.problems


def test_the_person_is_logged_out_everywhere_and_cannot_log_in_again(
    person_client, person, agent_a
):
    other_browser = Client()
    other_browser.force_login(person)
    assert other_browser.get(DELETE).status_code == 200

    person_client.post(DELETE, {"password": PASSWORD})

    for browser in (person_client, other_browser):
        response = browser.get(DELETE)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    response = Client().post(reverse("account_login"), {"login": EMAIL, "password": PASSWORD})
    assert not response.wsgi_request.user.is_authenticated
    # The organisation goes on with its other administrator.
    assert agent_a.is_active


def test_the_confirmation_page_is_shown_after_logout(person_client):
    response = person_client.post(DELETE, {"password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert response.redirect_chain == [(reverse("my_account:deleted"), 302)]


def test_invitations_to_the_person_lose_their_address(person, agent_a, org_a):
    invitations.send_invitation(
        actor=agent_a, email="c.durand@mairie.example", roles=[], site_url="http://testserver"
    )
    accounts.delete_account(user=person)
    with scopes_disabled():
        addresses = set(
            Invitation.objects.filter(organisation=org_a).values_list("email", flat=True)
        )
    assert "c.durand@mairie.example" not in addresses
    # The invitation the person sent to someone else is the organisation's: it stays.
    assert "guest@example.org" in addresses


def test_a_wrong_password_changes_nothing_and_counts_as_a_failed_login(person_client, person):
    response = person_client.post(DELETE, {"password": "not the password"})
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    user = fresh(person)
    assert user.is_active
    assert user.email == EMAIL
    assert all(m.is_active for m in memberships_of(user))
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="account.deleted").exists()
    # The lock-out counts it; its record, which names the account, goes with the account.
    assert AccessAttempt.objects.filter(username=EMAIL).exists()
    person_client.post(DELETE, {"password": PASSWORD})
    assert not AccessAttempt.objects.filter(username=EMAIL).exists()


def test_the_last_administrator_of_an_organisation_must_appoint_another_first(
    client, org_b, agent_b
):
    """agent B is the only administrator of org B."""
    EmailAddress.objects.create(user=agent_b.user, email=agent_b.user.email, verified=True)
    client.force_login(agent_b.user)
    page = client.get(DELETE)
    assert page.context["last_admin_of"] == [org_b.name]
    assert org_b.name in page.content.decode()

    response = client.post(DELETE, {"password": PASSWORD})
    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors().as_data()
    assert error.code == "last_org_admin_account"
    assert org_b.name in str(error.message)
    assert fresh(agent_b.user).is_active
    with scopes_disabled():
        assert Membership.objects.get(pk=agent_b.pk).is_active
        assert not AuditEvent.objects.filter(action="account.deleted").exists()
    with pytest.raises(errors.LastOrgAdminOfAccount):
        accounts.delete_account(user=agent_b.user)


def test_a_citizen_without_membership_deletes_their_account(client):
    citizen = services.ensure_user(email="citoyen@example.org", password=PASSWORD)
    client.force_login(citizen)
    response = client.post(DELETE, {"password": PASSWORD})
    assert response.status_code == 302
    assert not fresh(citizen).is_active
    with scopes_disabled():
        [event] = AuditEvent.objects.filter(action="account.deleted")
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.payload == {"memberships": []}
    assert audit.verify_all_chains().ok


def test_a_deleted_account_cannot_be_deleted_twice(person):
    accounts.delete_account(user=person)
    with pytest.raises(errors.UserInactive):
        accounts.delete_account(user=fresh(person))
