"""The e-mails a person can make the platform send are limited per person, per company or
organisation and per recipient address; an unverified company has few invitations
waiting; over a limit nothing is sent, the form says why, and the first refusal is
audited (issue 12, "Abuse of outgoing mail and of company sign-up")."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django_scopes import scopes_disabled

from mutualis.companies import errors, services
from mutualis.companies.models import Company, CompanyInvitation, JoinRequest, Representative
from mutualis.core import audit, mail_limits, ratelimit
from mutualis.core.errors import MailLimitReached
from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.identity import invitations
from mutualis.identity.models import Invitation
from tests.conftest import REDIS_URL
from tests.factories.companies import (
    SITE_URL,
    company_siren,
    company_url,
    register_company,
    valid_siret,
    verified_person,
)
from tests.factories.core import org_url
from tests.mailbox import delivered_text

pytestmark = pytest.mark.django_db

COLLEAGUES = company_url("companies:colleagues")
SIGNUP = reverse("business:signup")


def sent_to(email: str) -> int:
    return OutgoingEmail.objects.filter(to=email).count()


def invitation_mails() -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(subject__startswith="Invitation").order_by("pk"))


def events(chain: str, action: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(chain=chain, action=action).order_by("sequence"))


def form_errors(response) -> list[str]:
    form = response.context["form"]
    return [e.code for errs in form.errors.as_data().values() for e in errs]


def open_invitations(company) -> int:
    with scopes_disabled():
        return CompanyInvitation.objects.filter(
            company=company, accepted_at=None, revoked_at=None
        ).count()


@pytest.fixture
def alice(db):
    return verified_person("alice@menuiserie.example", first_name="Alice", last_name="Dupont")


@pytest.fixture
def company_x(alice):
    return register_company(alice, siren=company_siren(1), name="Menuiserie X").company


@pytest.fixture
def admin_x(company_x, alice):
    with scopes_disabled():
        return Representative.objects.get(company=company_x, user=alice)


@pytest.fixture
def verified_x(company_x, operator_staff):
    return services.verify_company(actor=operator_staff, company_id=company_x.pk, site_url=SITE_URL)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def invite(client, n: int, email: str | None = None):
    return client.post(COLLEAGUES, {"email": email or f"victim{n}@example.org", "role": "member"})


# --- The reproduction: 15 invitations in a row ----------------------------------------


def test_fifteen_invitations_of_an_unverified_company_send_only_its_quota(alice_client, company_x):
    """The reproduction: a person who claimed a SIREN sends 15 invitations in a row;
    only the unverified company's quota leaves, the rest are refused on the form."""
    responses = [invite(alice_client, n) for n in range(15)]

    quota = settings.MUTUALIS_UNVERIFIED_COMPANY_OPEN_INVITATIONS
    assert quota == 3
    assert [r.status_code for r in responses[:quota]] == [302] * quota
    for refused in responses[quota:]:
        assert refused.status_code == 200
        assert form_errors(refused) == ["unverified_company_invitation_cap"]
    assert len(invitation_mails()) == quota
    assert open_invitations(company_x) == quota
    # Audited once, not fifteen times: a flood must not flood the trail.
    refusals = events(audit.company_chain(company_x.pk), "company.mail_refused")
    assert [e.payload for e in refusals] == [
        {"mail": "invitation", "limit": "unverified-company-invitations"}
    ]


def test_fifteen_invitations_of_a_verified_company_stop_at_the_persons_limit(
    alice_client, verified_x, settings
):
    settings.MUTUALIS_INVITATION_RATE_PER_PERSON = "5/h,8/d"

    responses = [invite(alice_client, n) for n in range(15)]

    assert [r.status_code for r in responses[:5]] == [302] * 5
    assert all(form_errors(r) == ["mail_limit_reached"] for r in responses[5:])
    assert "too many e-mails" in responses[5].content.decode().lower()
    assert len(invitation_mails()) == 5
    assert open_invitations(verified_x) == 5
    refusals = events(audit.company_chain(verified_x.pk), "company.mail_refused")
    assert [e.payload["limit"] for e in refusals] == ["invitation-person"]


# --- The unverified company's quota ----------------------------------------------------


def test_inviting_the_same_address_again_replaces_its_link_within_the_quota(company_x, admin_x):
    for n in range(3):
        services.invite_colleague(
            actor=admin_x, email=f"c{n}@example.org", role="member", site_url=SITE_URL
        )
    again = services.invite_colleague(
        actor=admin_x, email="c0@example.org", role="member", site_url=SITE_URL
    )
    assert again.email == "c0@example.org"
    assert open_invitations(company_x) == 3
    with pytest.raises(errors.UnverifiedCompanyInvitationCap):
        services.invite_colleague(
            actor=admin_x, email="c9@example.org", role="member", site_url=SITE_URL
        )


def test_a_withdrawn_invitation_frees_a_place_and_verification_lifts_the_quota(
    company_x, admin_x, operator_staff
):
    sent = [
        services.invite_colleague(
            actor=admin_x, email=f"c{n}@example.org", role="member", site_url=SITE_URL
        )
        for n in range(3)
    ]
    services.revoke_invitation(actor=admin_x, invitation_id=sent[0].pk)
    services.invite_colleague(
        actor=admin_x, email="c3@example.org", role="member", site_url=SITE_URL
    )
    with pytest.raises(errors.UnverifiedCompanyInvitationCap):
        services.invite_colleague(
            actor=admin_x, email="c4@example.org", role="member", site_url=SITE_URL
        )

    services.verify_company(actor=operator_staff, company_id=company_x.pk, site_url=SITE_URL)
    services.invite_colleague(
        actor=admin_x, email="c4@example.org", role="member", site_url=SITE_URL
    )
    assert open_invitations(company_x) == 4


# --- Per company and per address -------------------------------------------------------


def test_the_company_limit_counts_every_administrator(verified_x, admin_x, settings):
    settings.MUTUALIS_INVITATION_RATE_PER_TENANT = "2/h"
    bob = verified_person("bob@menuiserie.example")
    services.invite_colleague(actor=admin_x, email=bob.email, role="admin", site_url=SITE_URL)
    token_mail = OutgoingEmail.objects.filter(to=bob.email).get()
    token = delivered_text(token_mail).split("/companies/invitations/")[1].split("/")[0]
    bob_admin = services.accept_invitation(user=bob, token=token)

    services.invite_colleague(
        actor=bob_admin, email="c0@example.org", role="member", site_url=SITE_URL
    )
    with pytest.raises(MailLimitReached) as refused:
        services.invite_colleague(
            actor=bob_admin, email="c1@example.org", role="member", site_url=SITE_URL
        )
    assert refused.value.rule == "invitation-tenant"
    assert sent_to("c0@example.org") == 1
    assert sent_to("c1@example.org") == 0


def test_one_address_receives_few_invitations_whoever_sends_them(
    verified_x, admin_x, operator_staff, settings
):
    carol = verified_person("carol@plomberie.example")
    company_y = register_company(carol, siren=company_siren(2), name="Plomberie Y").company
    services.verify_company(actor=operator_staff, company_id=company_y.pk, site_url=SITE_URL)
    with scopes_disabled():
        admin_y = Representative.objects.get(company=company_y)
    victim = "victim@example.org"

    for actor in (admin_x, admin_y, admin_x):
        services.invite_colleague(actor=actor, email=victim, role="member", site_url=SITE_URL)
    with pytest.raises(MailLimitReached) as refused:
        services.invite_colleague(actor=admin_y, email=victim, role="member", site_url=SITE_URL)

    assert refused.value.rule == "invitation-address"
    assert sent_to(victim) == 3
    # The limit of the address does not stop invitations to others.
    services.invite_colleague(
        actor=admin_y, email="other@example.org", role="member", site_url=SITE_URL
    )


def test_refused_attempts_use_up_no_other_limit(verified_x, admin_x, settings):
    """A person over their own limit keeps trying: the invited addresses' limits are not
    used up by the refusals (a flood must not deny a victim their invitations)."""
    settings.MUTUALIS_INVITATION_RATE_PER_PERSON = "1/h"
    services.invite_colleague(
        actor=admin_x, email="first@example.org", role="member", site_url=SITE_URL
    )
    for _n in range(5):
        with pytest.raises(MailLimitReached):
            services.invite_colleague(
                actor=admin_x, email="victim@example.org", role="member", site_url=SITE_URL
            )
    address = mail_limits.invitation_limits(
        person_id=None, tenant=None, address="victim@example.org"
    )
    assert ratelimit.take(address) is None


def test_limits_are_switched_off_with_the_other_rate_limits(verified_x, admin_x, settings):
    settings.MUTUALIS_RATE_LIMITS_ENABLED = False
    settings.MUTUALIS_INVITATION_RATE_PER_ADDRESS = "1/h"
    for _n in range(3):
        services.invite_colleague(
            actor=admin_x, email="again@example.org", role="member", site_url=SITE_URL
        )
    assert sent_to("again@example.org") == 3


# --- Requests to join ------------------------------------------------------------------


def test_requests_to_join_are_limited_per_person_and_per_company(client, company_x, settings):
    settings.MUTUALIS_JOIN_REQUEST_RATE_PER_PERSON = "10/h"
    settings.MUTUALIS_JOIN_REQUEST_RATE_PER_COMPANY = "2/h"
    mails_before = sent_to("alice@menuiserie.example")
    people = [verified_person(f"p{n}@example.org") for n in range(3)]
    for person in people[:2]:
        services.sign_up_with_siret(
            user=person, siret=valid_siret(company_x.siren, 2), site_url=SITE_URL
        )

    client.force_login(people[2])
    refused = client.post(SIGNUP, {"siret": valid_siret(company_x.siren, 3), "name": ""})

    assert form_errors(refused) == ["mail_limit_reached"]
    with scopes_disabled():
        assert not JoinRequest.objects.filter(user=people[2]).exists()
    assert sent_to("alice@menuiserie.example") == mails_before + 2
    refusals = events(audit.company_chain(company_x.pk), "company.mail_refused")
    assert [e.payload for e in refusals] == [
        {"mail": "join_request", "limit": "join-request-company"}
    ]


def test_one_person_asks_to_join_few_companies(db, settings):
    settings.MUTUALIS_JOIN_REQUEST_RATE_PER_PERSON = "2/h"
    companies = [
        register_company(
            verified_person(f"owner{n}@example.org"), siren=company_siren(10 + n), name=f"Co {n}"
        ).company
        for n in range(3)
    ]
    asker = verified_person("asker@example.org")
    for company in companies[:2]:
        services.sign_up_with_siret(
            user=asker, siret=valid_siret(company.siren, 2), site_url=SITE_URL
        )
    with pytest.raises(MailLimitReached) as refused:
        services.sign_up_with_siret(
            user=asker, siret=valid_siret(companies[2].siren, 2), site_url=SITE_URL
        )
    assert refused.value.rule == "join-request-person"
    assert sent_to("owner2@example.org") == 1  # its registration only


# --- Organisations' invitations --------------------------------------------------------


def test_an_organisations_invitations_are_limited_on_the_form(client, agent_a, settings):
    settings.MUTUALIS_INVITATION_RATE_PER_PERSON = "2/h"
    client.force_login(agent_a.user)
    url = org_url("members:invite")
    for n in range(2):
        response = client.post(url, {"email": f"agent{n}@example.org", "roles": []})
        assert response.status_code == 302

    refused = client.post(url, {"email": "agent9@example.org", "roles": []})

    assert form_errors(refused) == ["mail_limit_reached"]
    assert sent_to("agent9@example.org") == 0
    with scopes_disabled():
        assert not Invitation.objects.filter(email="agent9@example.org").exists()
    refusals = events(audit.organisation_chain(agent_a.organisation_id), "invitation.mail_refused")
    assert [e.payload for e in refusals] == [{"limit": "invitation-person"}]


def test_operator_staff_are_limited_per_address_only(operator_staff, org_a, settings):
    settings.MUTUALIS_INVITATION_RATE_PER_PERSON = "1/h"
    settings.MUTUALIS_INVITATION_RATE_PER_TENANT = "1/h"
    for n in range(3):
        invitations.send_invitation(
            actor=operator_staff,
            organisation_id=org_a.pk,
            email=f"mayor{n}@example.org",
            roles=["org_admin"],
            site_url=SITE_URL,
        )
    for _n in range(2):
        invitations.send_invitation(
            actor=operator_staff,
            organisation_id=org_a.pk,
            email="mayor0@example.org",
            roles=["org_admin"],
            site_url=SITE_URL,
        )
    with pytest.raises(MailLimitReached) as refused:
        invitations.send_invitation(
            actor=operator_staff,
            organisation_id=org_a.pk,
            email="mayor0@example.org",
            roles=["org_admin"],
            site_url=SITE_URL,
        )
    assert refused.value.rule == "invitation-address"


# --- Account e-mails (allauth) ---------------------------------------------------------


def test_password_resets_to_one_address_are_limited(client, settings):
    settings.MUTUALIS_ACCOUNT_MAIL_RATE_PER_ADDRESS = "2/h"
    verified_person("target@example.org")
    url = reverse("account_reset_password")
    for _n in range(2):
        client.post(url, {"email": "target@example.org"}, REMOTE_ADDR="192.0.2.1")

    refused = client.post(
        url, {"email": "target@example.org"}, REMOTE_ADDR="192.0.2.2", follow=True
    )

    assert sent_to("target@example.org") == 2
    assert any("too many e-mails" in str(m).lower() for m in refused.context["messages"])
    with scopes_disabled():
        events_ = list(AuditEvent.objects.filter(action="account.mail_refused"))
    assert [(e.chain, e.payload) for e in events_] == [
        (audit.PLATFORM_CHAIN, {"mail": "password_reset_key", "limit": "account-mail-address"})
    ]


def test_unknown_addresses_are_limited_alike(client, settings):
    """A reset for an unknown address mails that address too (allauth says so without
    telling whether an account exists): limited the same, revealing nothing."""
    settings.MUTUALIS_ACCOUNT_MAIL_RATE_PER_ADDRESS = "1/h"
    url = reverse("account_reset_password")
    for _n in range(3):
        client.post(url, {"email": "nobody@example.org"})
    assert sent_to("nobody@example.org") == 1


def test_a_signed_in_person_adds_addresses_within_a_limit(client, settings):
    settings.MUTUALIS_ACCOUNT_MAIL_RATE_PER_PERSON = "2/h"
    person = verified_person("me@example.org")
    client.force_login(person)
    for n in range(3):
        client.post(reverse("account_email"), {"action_add": "", "email": f"other{n}@example.org"})
    assert [sent_to(f"other{n}@example.org") for n in range(3)] == [1, 1, 0]


def test_notices_about_ones_own_account_always_go(client, settings):
    """Only the e-mails anyone can ask for toward an address are limited."""
    from mutualis.identity.adapters import LIMITED_MAILS

    assert "account/email/password_changed" not in LIMITED_MAILS
    assert "account/email/email_deleted" not in LIMITED_MAILS


# --- Messages --------------------------------------------------------------------------


def test_the_refusals_read_in_french(verified_x, admin_x, settings):
    settings.MUTUALIS_INVITATION_RATE_PER_PERSON = "1/h"
    services.invite_colleague(
        actor=admin_x, email="a@example.org", role="member", site_url=SITE_URL
    )
    with translation.override("fr"), pytest.raises(MailLimitReached) as refused:
        services.invite_colleague(
            actor=admin_x, email="b@example.org", role="member", site_url=SITE_URL
        )
    assert "trop de" in str(refused.value.message).lower()
    assert "rien n'a été envoyé" in str(refused.value.message).lower()
    with translation.override("fr"):
        cap = str(errors.UnverifiedCompanyInvitationCap(cap=3).message)
    assert "non vérifiée" in cap


# --- The production cache --------------------------------------------------------------


@pytest.mark.redis
def test_limits_count_in_redis(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    from django.core.cache import cache

    cache.clear()
    limits = [ratelimit.Limit("test-mail", "someone@example.org", "2/h,3/d")]
    assert ratelimit.take(limits) is None
    assert ratelimit.take(limits) is None
    refusal = ratelimit.take(limits)
    assert refusal is not None
    assert refusal.first is True
    assert 1 <= refusal.wait <= 3600
    assert ratelimit.take(limits).first is False
    cache.clear()


def test_company_is_registered_with_a_clean_name(db):
    person = verified_person("x@example.org")
    rep = register_company(person, siren=company_siren(3), name="Dupont\u202e LRAS\u200b\n")
    assert Company.objects.get(pk=rep.company_id).name == "Dupont LRAS"
