"""Invitations: an organisation's administrator (or operator staff) invites an agent by
e-mail; the person accepts through a single-use link that expires."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core import errors as link_errors
from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.identity import errors, invitation_views, invitations, services
from mutualis.identity.models import Invitation, Membership
from tests.factories.identity import PASSWORD, make_member
from tests.mailbox import delivered_html, delivered_text

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
LINK = re.compile(r"https?://[^\s\"<>]+/invitations/([^/\s\"<>]+)/")


def invite(actor, email="new.agent@example.org", roles=("secretary",), **kwargs):
    return invitations.send_invitation(
        actor=actor, email=email, roles=list(roles), site_url=SITE, **kwargs
    )


def sent_link(email: str) -> tuple[str, str]:
    """The link of the newest e-mail to ``email`` and the token in it."""
    mail = OutgoingEmail.objects.filter(to=email).order_by("-created_at", "-pk").first()
    assert mail is not None, f"no e-mail to {email}"
    match = LINK.search(delivered_text(mail))
    assert match, delivered_text(mail)
    return match.group(0), match.group(1)


def path_of(link: str) -> str:
    return urlsplit(link).path


def events_of(organisation) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=audit.organisation_chain(organisation.pk)).order_by(
                "sequence"
            )
        )


def reload(invitation: Invitation) -> Invitation:
    with scopes_disabled():
        return Invitation.objects.get(pk=invitation.pk)


def membership_of(user, organisation) -> Membership | None:
    with scopes_disabled():
        return Membership.objects.filter(user=user, organisation=organisation).first()


@pytest.fixture
def newcomer(db):
    """A person with an account whose address is verified, member of nothing."""
    return services.ensure_user(email="new.agent@example.org", password=PASSWORD)


# --- Sending ---------------------------------------------------------------------------


def test_an_administrator_invites_an_agent_and_only_a_hash_is_stored(agent_a):
    before = timezone.now()
    invitation = invite(agent_a, email=" New.Agent@Example.org ", roles=["buyer", "secretary"])

    link, token = sent_link("new.agent@example.org")
    assert link.startswith(f"{SITE}/invitations/")
    invitation = reload(invitation)
    assert invitation.email == "new.agent@example.org"
    assert invitation.organisation == agent_a.organisation
    assert invitation.invited_by == agent_a
    assert sorted(r.code for r in invitation.roles.all()) == ["buyer", "secretary"]
    # The token itself is nowhere in the database: only its SHA-256.
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    with scopes_disabled():
        assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().first())
    # Valid for the default seven days.
    delta = invitation.expires_at - before
    assert timedelta(days=7) <= delta < timedelta(days=7, minutes=1)

    mail = OutgoingEmail.objects.get(to="new.agent@example.org")
    assert link in delivered_html(mail)
    assert link not in mail.body_html + mail.body_text  # never stored
    assert agent_a.organisation.name in mail.subject
    assert agent_a.organisation.name in mail.body_text

    [event] = events_of(agent_a.organisation)
    assert event.action == "invitation.sent"
    assert event.object_type == "identity.invitation"
    assert event.object_id == str(invitation.pk)
    assert event.actor == f"user:{agent_a.user.audit_pseudonym}"
    assert event.payload["roles"] == ["buyer", "secretary"]
    # No address in the hashed payload.
    assert "new.agent" not in str(event.payload)


def test_the_validity_follows_the_setting_read_at_each_invitation(settings, agent_a):
    settings.MUTUALIS_INVITATION_DAYS = 2
    invitation = invite(agent_a)
    assert invitation.expires_at - timezone.now() < timedelta(days=2, minutes=1)
    assert invitation.expires_at - timezone.now() > timedelta(days=1, hours=23)


def test_inviting_the_same_address_again_withdraws_the_previous_link(agent_a, newcomer):
    first = invite(agent_a)
    _link, first_token = sent_link(newcomer.email)
    second = invite(agent_a)

    assert reload(first).revoked_at is not None
    assert reload(second).is_open
    with pytest.raises(link_errors.InvitationRevoked):
        invitations.accept_invitation(user=newcomer, token=first_token)
    actions = [(e.action, e.payload.get("reason")) for e in events_of(agent_a.organisation)]
    assert actions == [
        ("invitation.sent", None),
        ("invitation.revoked", "replaced"),
        ("invitation.sent", None),
    ]
    assert events_of(agent_a.organisation)[-1].payload["replaces"] == [first.pk]


def test_an_agent_who_is_not_administrator_cannot_invite(org_a):
    secretary = make_member(org_a, "secretary@example.org", roles=["secretary"])
    with pytest.raises(PermissionDenied):
        invite(secretary)
    assert not OutgoingEmail.objects.exists()
    assert events_of(org_a) == []


def test_an_administrator_cannot_invite_into_another_organisation(agent_a, org_b):
    with pytest.raises(PermissionDenied):
        invite(agent_a, organisation_id=org_b.pk)
    assert events_of(org_b) == []


def test_operator_staff_invite_into_any_member(operator_staff, org_b):
    invitation = invite(operator_staff, organisation_id=org_b.pk)
    assert reload(invitation).organisation == org_b
    [event] = events_of(org_b)
    assert event.action == "invitation.sent"
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"


def test_inviting_an_active_member_or_an_unknown_role_is_refused(agent_a):
    with pytest.raises(errors.MembershipExists):
        invite(agent_a, email="agent.a@example.org")
    with pytest.raises(errors.UnknownRole):
        invite(agent_a, roles=["emperor"])
    assert not OutgoingEmail.objects.exists()
    assert events_of(agent_a.organisation) == []


# --- Withdrawing -----------------------------------------------------------------------


def test_a_withdrawn_invitation_cannot_be_withdrawn_again(agent_a):
    invitation = invite(agent_a)
    invitations.revoke_invitation(actor=agent_a, invitation_id=invitation.pk)
    with pytest.raises(link_errors.InvitationNotOpen) as excinfo:
        invitations.revoke_invitation(actor=agent_a, invitation_id=invitation.pk)
    assert excinfo.value.code == "invitation_not_open"
    assert [e.action for e in events_of(agent_a.organisation)] == [
        "invitation.sent",
        "invitation.revoked",
    ]


def test_an_administrator_cannot_withdraw_another_organisations_invitation(agent_a, agent_b):
    invitation = invite(agent_a)
    with pytest.raises(PermissionDenied):
        invitations.revoke_invitation(actor=agent_b, invitation_id=invitation.pk)
    assert reload(invitation).is_open


# --- Accepting -------------------------------------------------------------------------


def test_a_signed_in_person_with_the_invited_address_accepts(client, agent_a, newcomer):
    invitation = invite(agent_a, roles=["secretary", "signatory"])
    link, _token = sent_link(newcomer.email)
    client.force_login(newcomer)

    page = client.get(path_of(link))
    assert page.status_code == 200
    html = page.content.decode()
    assert agent_a.organisation.name in html
    # Opening the link changes nothing: mail scanners open links too.
    assert membership_of(newcomer, agent_a.organisation) is None

    response = client.post(path_of(link))
    assert response.status_code == 302
    # The person is taken to the organisation that invited them.
    assert response["Location"] == f"/o/{agent_a.organisation.slug}/"
    membership = membership_of(newcomer, agent_a.organisation)
    assert membership.is_active
    assert sorted(membership.role_codes()) == ["secretary", "signatory"]

    invitation = reload(invitation)
    assert invitation.accepted_at is not None
    assert invitation.membership == membership
    sent, accepted, granted = events_of(agent_a.organisation)
    assert (sent.action, accepted.action, granted.action) == (
        "invitation.sent",
        "invitation.accepted",
        "membership.granted",
    )
    assert accepted.actor == granted.actor == f"user:{newcomer.audit_pseudonym}"
    assert accepted.payload == {"membership": membership.pk}
    assert granted.payload == {
        "roles_before": [],
        "roles_after": ["secretary", "signatory"],
        "invitation": invitation.pk,
    }


def test_a_link_works_only_once(client, agent_a, newcomer):
    invite(agent_a)
    link, token = sent_link(newcomer.email)
    invitations.accept_invitation(user=newcomer, token=token)
    count = len(events_of(agent_a.organisation))

    with pytest.raises(link_errors.InvitationUsed):
        invitations.accept_invitation(user=newcomer, token=token)
    client.force_login(newcomer)
    for response in (client.get(path_of(link)), client.post(path_of(link))):
        assert response.status_code == 410
        assert response.context["code"] == "invitation_used"
    assert len(events_of(agent_a.organisation)) == count


@pytest.mark.parametrize("who", ["anonymous", "signed_in"])
def test_an_expired_link_shows_a_clear_message_and_changes_nothing(client, agent_a, newcomer, who):
    invitation = invite(agent_a)
    link, token = sent_link(newcomer.email)
    with scopes_disabled():
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    if who == "signed_in":
        client.force_login(newcomer)
    for response in (client.get(path_of(link)), client.post(path_of(link))):
        assert response.status_code == 410
        assert response.context["code"] == "invitation_expired"
        assert str(link_errors.InvitationExpired.message)[:20] in response.content.decode()
    assert membership_of(newcomer, agent_a.organisation) is None
    assert reload(invitation).accepted_at is None
    with pytest.raises(link_errors.InvitationExpired):
        invitations.accept_invitation(user=newcomer, token=token)


def test_a_withdrawn_link_is_gone(client, agent_a, newcomer):
    invitation = invite(agent_a)
    link, _token = sent_link(newcomer.email)
    invitations.revoke_invitation(actor=agent_a, invitation_id=invitation.pk)
    client.force_login(newcomer)
    response = client.post(path_of(link))
    assert response.status_code == 410
    assert response.context["code"] == "invitation_revoked"
    assert membership_of(newcomer, agent_a.organisation) is None


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "12",
        "12.",
        ".abc",
        "99999999.abc",
        "\u00b2.abc",  # a superscript two: str.isdigit() says yes, int() raises
        "1.not-the-right-secret",
    ],
)
def test_an_unknown_or_malformed_link_is_not_found(client, agent_a, newcomer, token):
    invite(agent_a)
    client.force_login(newcomer)
    response = client.get(reverse("invitations:accept", kwargs={"token": token}))
    assert response.status_code == 404
    assert response.context["code"] == "invitation_not_found"
    with pytest.raises(link_errors.InvitationNotFound):
        invitations.accept_invitation(user=newcomer, token=token)


def test_a_forwarded_link_does_not_let_someone_else_in(client, agent_a, agent_b):
    invite(agent_a)
    link, token = sent_link("new.agent@example.org")
    client.force_login(agent_b.user)
    response = client.post(path_of(link))
    assert response.status_code == 403
    assert "agent.b@example.org" in response.content.decode()
    assert membership_of(agent_b.user, agent_a.organisation) is None
    with pytest.raises(link_errors.InvitationForAnotherAddress) as excinfo:
        invitations.accept_invitation(user=agent_b.user, token=token)
    assert excinfo.value.code == "invitation_other_address"


def test_an_unverified_address_cannot_accept(agent_a, newcomer):
    EmailAddress.objects.filter(user=newcomer).update(verified=False)
    invite(agent_a)
    _link, token = sent_link(newcomer.email)
    with pytest.raises(link_errors.InvitationForAnotherAddress):
        invitations.accept_invitation(user=newcomer, token=token)


def test_a_verified_secondary_address_may_accept(agent_a, newcomer):
    EmailAddress.objects.create(user=newcomer, email="camille@mairie.example", verified=True)
    invite(agent_a, email="Camille@Mairie.example")
    _link, token = sent_link("camille@mairie.example")
    membership = invitations.accept_invitation(user=newcomer, token=token)
    assert membership.organisation == agent_a.organisation


def test_accepting_gives_back_a_removed_membership_with_the_invited_roles(agent_a, org_a, newcomer):
    old = make_member(org_a, newcomer.email, roles=["buyer"])
    services.deactivate_membership(actor=agent_a, membership_id=old.pk)
    invite(agent_a, roles=["secretary"])
    _link, token = sent_link(newcomer.email)

    membership = invitations.accept_invitation(user=newcomer, token=token)
    assert membership.pk == old.pk
    assert membership.is_active
    assert sorted(membership.role_codes()) == ["secretary"]
    last = events_of(org_a)[-1]
    assert last.action == "membership.reactivated"
    assert last.payload["roles_before"] == ["buyer"]
    assert last.payload["roles_after"] == ["secretary"]


def test_someone_already_member_is_told_so(client, agent_a, org_a, newcomer):
    invite(agent_a)
    link, token = sent_link(newcomer.email)
    make_member(org_a, newcomer.email, roles=["secretary"])
    client.force_login(newcomer)
    response = client.get(path_of(link))
    assert response.status_code == 200
    assert response.context["already_member"]
    with pytest.raises(errors.AlreadyMember):
        invitations.accept_invitation(user=newcomer, token=token)


# --- A newcomer without an account -----------------------------------------------------


def test_an_anonymous_visitor_sees_the_organisation_and_the_roles(client, agent_a):
    invite(agent_a, roles=["secretary"])
    link, _token = sent_link("new.agent@example.org")
    response = client.get(path_of(link))
    assert response.status_code == 200
    html = response.content.decode()
    assert agent_a.organisation.name in html
    assert not response.context["has_account"]
    # Sign-up with the address filled in, then back to this page.
    query = parse_qs(urlsplit(response.context["signup_url"]).query)
    assert query == {"email": ["new.agent@example.org"], "next": [path_of(link)]}
    assert response.context["signup_url"] in html.replace("&amp;", "&")


def test_a_newcomer_signs_up_verifies_the_address_and_lands_on_the_invitation(client, agent_a):
    """Given an invitation to someone without an account, when they sign up from the
    link, open the verification link of the e-mail and log in, then they land on the
    invitation page and accept it."""
    invite(agent_a, roles=["secretary"])
    link, _token = sent_link("new.agent@example.org")
    signup_url = client.get(path_of(link)).context["signup_url"]
    assert client.get(signup_url).context["form"]["email"].value() == "new.agent@example.org"

    password = "a long and unusual passphrase 42"
    response = client.post(
        signup_url,
        {"email": "new.agent@example.org", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    mail = OutgoingEmail.objects.filter(to="new.agent@example.org").order_by("-pk").first()
    confirm = re.search(r"https?://\S+/accounts/confirm-email/\S+/", delivered_text(mail)).group(0)

    response = client.post(path_of(confirm))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    response = client.post(
        reverse("account_login"), {"login": "new.agent@example.org", "password": password}
    )
    assert response.status_code == 302
    assert response["Location"] == path_of(link)
    assert client.get(path_of(link)).status_code == 200
    # Back on the page, signed in: the token no longer waits in the session.
    assert invitation_views.PENDING_SESSION_KEY not in client.session

    client.post(path_of(link))
    with scopes_disabled():
        membership = Membership.objects.get(user__email="new.agent@example.org")
    assert membership.organisation == agent_a.organisation
