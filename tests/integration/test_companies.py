"""Businesses: sign-up by SIRET, requests to join, colleagues, the operator's verification,
and tenancy (a company's rows stay its own)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import ScopeError, scope, scopes_disabled

from mutualis.companies import errors, services
from mutualis.companies.models import (
    Company,
    CompanyInvitation,
    Establishment,
    JoinRequest,
    Representative,
)
from mutualis.core import audit, tenancy
from mutualis.core import errors as link_errors
from mutualis.core import invitations as links
from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.identity.models import Membership
from tests.factories.companies import (
    SITE_URL,
    company_siren,
    company_url,
    register_company,
    valid_siret,
    verified_person,
)
from tests.factories.core import org_url
from tests.factories.identity import UserFactory
from tests.mailbox import delivered_text

pytestmark = pytest.mark.django_db

SIGNUP = reverse("business:signup")
HOME = company_url("companies:home")
COLLEAGUES = company_url("companies:colleagues")
REQUESTS = company_url("companies:requests")


# --- Helpers ---------------------------------------------------------------------------


def events_of(company) -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=audit.company_chain(company.pk)).order_by("sequence")
        )


def actions_of(company) -> list[str]:
    return [event.action for event in events_of(company)]


def all_events() -> int:
    with scopes_disabled():
        return AuditEvent.objects.count()


def rows(model, **filters):
    with scopes_disabled():
        return list(model.objects.filter(**filters))


def row(model, **filters):
    with scopes_disabled():
        return model.objects.get(**filters)


def error_codes(response, field: str) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


def shown_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def page_text(message) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(message)


def mails_to(email: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=email).order_by("pk"))


def link_in(mail: OutgoingEmail) -> str:
    """The path of the invitation link a message carries."""
    match = re.search(r"https?://[^/\s]+(/companies/invitations/[^\s]+/)", delivered_text(mail))
    assert match, delivered_text(mail)
    return match.group(1)


# --- Fixtures --------------------------------------------------------------------------


@pytest.fixture
def alice(db):
    return verified_person("alice@menuiserie.example", first_name="Alice", last_name="Dupont")


@pytest.fixture
def bob(db):
    return verified_person("bob@menuiserie.example", first_name="Bob", last_name="Martin")


@pytest.fixture
def company_x(alice):
    """Alice registered company X: its administrator."""
    return register_company(alice, siren=company_siren(1), name="Menuiserie X").company


@pytest.fixture
def admin_x(company_x, alice):
    return row(Representative, company=company_x, user=alice)


@pytest.fixture
def company_y(db):
    carol = verified_person("carol@plomberie.example")
    return register_company(carol, siren=company_siren(2), name="Plomberie Y").company


@pytest.fixture
def admin_y(company_y):
    return row(Representative, company=company_y, role="admin")


@pytest.fixture
def member_x(company_x, admin_x, bob):
    """Bob joined company X as a member (his request accepted)."""
    services.sign_up_with_siret(user=bob, siret=valid_siret(company_x.siren, 2), site_url=SITE_URL)
    request = rows(JoinRequest, user=bob, company=company_x)[0]
    return services.accept_join_request(
        actor=admin_x, join_request_id=request.pk, site_url=SITE_URL
    )


@pytest.fixture
def client_of(client):
    """``client_of(user)``: the test client, signed in as ``user``."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


# --- Sign-up ---------------------------------------------------------------------------


def test_visitors_are_asked_to_sign_up_or_log_in_and_come_back(client):
    response = client.get(SIGNUP)

    assert response.status_code == 200
    html = response.content.decode()
    assert f"{reverse('account_signup')}?next=%2Fcompanies%2Fsignup%2F" in html
    assert f"{reverse('account_login')}?next=%2Fcompanies%2Fsignup%2F" in html
    assert 'name="siret"' not in html


def test_a_person_whose_address_is_not_confirmed_cannot_register(client):
    person = UserFactory(email="unconfirmed@example.org")
    client.force_login(person)

    response = client.post(SIGNUP, {"siret": valid_siret(company_siren(1)), "name": "X"})

    assert response.status_code == 200
    assert response.context["unverified"]
    assert rows(Company) == []
    with pytest.raises(errors.EmailNotVerified):
        services.sign_up_with_siret(
            user=person, siret=valid_siret(company_siren(1)), name="X", site_url=SITE_URL
        )


def test_a_new_siret_registers_an_unverified_company_with_its_first_user_as_admin(client_of, alice):
    siren = company_siren(7)
    siret = valid_siret(siren, 12)
    client = client_of(alice)

    response = client.post(
        SIGNUP,
        {
            "siret": siret[:3] + " " + siret[3:],
            "name": " Menuiserie  Dupont ",
            "is_head_office": "on",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == company_url("companies:home", siren=siren)
    company = Company.objects.get(siren=siren)
    assert (company.name, company.status) == ("Menuiserie Dupont", "unverified")
    establishment = row(Establishment, company=company)
    assert (establishment.siret, establishment.is_head_office) == (siret, True)
    admin = row(Representative, company=company)
    assert (admin.user, admin.role, admin.is_active) == (alice, "admin", True)
    [event] = events_of(company)
    assert (event.action, event.organisation_id) == ("company.registered", None)
    assert event.payload["siret"] == siret
    assert alice.email not in str(event.payload)
    assert [m.subject for m in mails_to(alice.email)] != []
    # The person now acts for the company, which shows as unverified.
    page = client.get(company_url("companies:home", siren=siren))
    assert page.status_code == 200
    assert page.context["company"] == company
    assert "company-status-unverified" in page.content.decode()


@pytest.mark.parametrize(
    ("siret", "code"),
    [
        ("73282932000075", "siret_bad_check_digit"),
        ("7328293200007", "siret_wrong_length"),
        ("7328293200007A", "siret_not_digits"),
    ],
)
def test_an_invalid_siret_is_refused_on_its_field_and_writes_nothing(client_of, alice, siret, code):
    before = all_events()

    response = client_of(alice).post(SIGNUP, {"siret": siret, "name": "Menuiserie"})

    assert response.status_code == 200
    assert error_codes(response, "siret") == [code]
    assert rows(Company) == []
    assert rows(Representative) == []
    assert all_events() == before
    assert OutgoingEmail.objects.count() == 0


def test_a_new_company_needs_a_name(client_of, alice):
    response = client_of(alice).post(SIGNUP, {"siret": valid_siret(company_siren(3)), "name": ""})

    assert error_codes(response, "name") == ["company_name_required"]
    assert rows(Company) == []


def test_a_known_siren_becomes_a_request_to_join_that_its_admins_hear_of(client_of, company_x, bob):
    siret = valid_siret(company_x.siren, 3)
    client = client_of(bob)

    response = client.post(SIGNUP, {"siret": siret, "name": "Ignored"}, follow=True)

    assert response.status_code == 200
    request = row(JoinRequest, company=company_x, user=bob)
    assert (request.status, request.siret) == ("pending", siret)
    assert rows(Representative, company=company_x, user=bob) == []
    assert Company.objects.get(pk=company_x.pk).name == "Menuiserie X"
    assert actions_of(company_x) == ["company.registered", "company.join_requested"]
    [mail] = mails_to("alice@menuiserie.example")[1:]
    assert company_url("companies:requests") in mail.body_text
    assert bob.email in mail.body_text
    # The requester follows the request's state on the sign-up page.
    assert [jr.pk for jr in response.context["join_requests"]] == [request.pk]
    assert "Menuiserie X" in response.content.decode()

    again = client.post(SIGNUP, {"siret": siret})
    assert error_codes(again, "siret") == ["join_request_pending"]
    assert len(rows(JoinRequest, company=company_x)) == 1


def test_a_representative_signing_up_again_is_told_so(client_of, company_x, alice):
    response = client_of(alice).post(SIGNUP, {"siret": valid_siret(company_x.siren, 5)})

    assert error_codes(response, "siret") == ["already_representative"]
    assert rows(JoinRequest) == []


# --- Requests to join ------------------------------------------------------------------


@pytest.fixture
def bobs_request(company_x, admin_x, bob):
    services.sign_up_with_siret(user=bob, siret=valid_siret(company_x.siren, 2), site_url=SITE_URL)
    return row(JoinRequest, company=company_x, user=bob)


def test_an_admin_accepts_a_request_to_join(client_of, company_x, alice, bob, bobs_request):
    client = client_of(alice)
    page = client.get(REQUESTS)
    assert [jr.pk for jr in page.context["pending"]] == [bobs_request.pk]

    response = client.post(company_url("companies:request_accept", pk=bobs_request.pk))

    assert response.status_code == 302
    request = row(JoinRequest, pk=bobs_request.pk)
    assert (request.status, request.decided_by) == ("accepted", alice)
    assert request.decided_at is not None
    bob_row = row(Representative, company=company_x, user=bob)
    assert (bob_row.role, bob_row.is_active) == ("member", True)
    assert actions_of(company_x)[-1] == "company.join_accepted"
    assert mails_to(bob.email)[-1].to == bob.email
    # Bob now acts for the company.
    client.force_login(bob)
    assert client.get(HOME).context["company"] == company_x
    # Answered once only.
    client.force_login(alice)
    again = client.post(company_url("companies:request_accept", pk=bobs_request.pk), follow=True)
    assert page_text(errors.JoinRequestDecided.message) in shown_messages(again)
    assert actions_of(company_x).count("company.join_accepted") == 1


def test_an_admin_refuses_a_request_to_join(client_of, company_x, alice, bob, bobs_request):
    client = client_of(alice)

    client.post(company_url("companies:request_refuse", pk=bobs_request.pk))

    assert row(JoinRequest, pk=bobs_request.pk).status == "refused"
    assert rows(Representative, company=company_x, user=bob) == []
    assert actions_of(company_x)[-1] == "company.join_refused"
    client.force_login(bob)
    page = client.get(SIGNUP)
    assert [jr.get_status_display() for jr in page.context["join_requests"]] == [
        page_text(JoinRequest(status="refused").get_status_display())
    ]
    # Bob does not act for the company: its pages are not his.
    assert client.get(HOME).status_code == 404
    assert client.get(COLLEAGUES).status_code == 404


def test_a_member_cannot_answer_requests(client_of, member_x, company_x):
    carol = verified_person("carol@example.org")
    services.sign_up_with_siret(
        user=carol, siret=valid_siret(company_x.siren, 9), site_url=SITE_URL
    )
    pending = row(JoinRequest, company=company_x, user=carol)
    client = client_of(member_x.user)

    # Pages for administrators only do not exist for others (the one guard convention).
    assert client.get(REQUESTS).status_code == 404
    assert client.post(company_url("companies:request_accept", pk=pending.pk)).status_code == 404
    assert row(JoinRequest, pk=pending.pk).status == "pending"


def test_nobody_joins_a_suspended_company(
    client_of, operator_staff, company_x, admin_x, bobs_request
):
    services.suspend_company(actor=operator_staff, company_id=company_x.pk, site_url=SITE_URL)

    with pytest.raises(errors.CompanySuspended):
        services.accept_join_request(
            actor=admin_x, join_request_id=bobs_request.pk, site_url=SITE_URL
        )
    assert row(JoinRequest, pk=bobs_request.pk).status == "pending"


# --- Colleagues ------------------------------------------------------------------------


def test_an_admin_invites_a_colleague_who_accepts_the_link_once(client_of, company_x, alice, bob):
    client = client_of(alice)

    response = client.post(COLLEAGUES, {"email": " Bob@Menuiserie.example ", "role": "admin"})

    assert response.status_code == 302
    invitation = row(CompanyInvitation, company=company_x)
    assert (invitation.email, invitation.role) == ("bob@menuiserie.example", "admin")
    path = link_in(mails_to(bob.email)[-1])
    token = path.rstrip("/").rsplit("/", 1)[1]
    # Only the token's digest is kept.
    assert invitation.token_digest == links.digest(token)
    assert token not in invitation.token_digest
    assert actions_of(company_x)[-1] == "company.colleague_invited"

    client.force_login(bob)
    page = client.get(path)
    assert page.status_code == 200
    assert page.context["may_accept"]
    accepted = client.post(path)

    assert accepted.status_code == 302
    assert accepted["Location"] == HOME
    bob_row = row(Representative, company=company_x, user=bob)
    assert (bob_row.role, bob_row.is_active) == ("admin", True)
    assert row(CompanyInvitation, pk=invitation.pk).accepted_by == bob
    assert actions_of(company_x)[-1] == "company.invitation_accepted"
    assert client.get(HOME).context["company"] == company_x

    # The link is good once.
    before = all_events()
    reused = client.post(path)
    assert reused.status_code == 410
    assert reused.context["error"] == page_text(link_errors.InvitationUsed.message)
    assert all_events() == before


def test_an_expired_invitation_is_refused_and_changes_nothing(client_of, company_x, admin_x, bob):
    services.invite_colleague(actor=admin_x, email=bob.email, role="member", site_url=SITE_URL)
    path = link_in(mails_to(bob.email)[-1])
    with scopes_disabled():
        CompanyInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    before = all_events()
    client = client_of(bob)

    assert client.get(path).status_code == 410
    response = client.post(path)

    assert response.status_code == 410
    assert response.context["error"] == page_text(link_errors.InvitationExpired.message)
    assert rows(Representative, company=company_x, user=bob) == []
    assert all_events() == before


def test_an_invitation_is_for_the_invited_address_only(client_of, company_x, admin_x, bob):
    services.invite_colleague(actor=admin_x, email=bob.email, role="member", site_url=SITE_URL)
    path = link_in(mails_to(bob.email)[-1])
    mallory = verified_person("mallory@example.org")
    client = client_of(mallory)

    assert client.get(path).context["may_accept"] is False
    response = client.post(path)

    assert response.context["error"] == page_text(link_errors.InvitationForAnotherAddress.message)
    assert rows(Representative, company=company_x, user=mallory) == []
    # Still good for Bob.
    client.force_login(bob)
    assert client.post(path).status_code == 302


@pytest.mark.parametrize("token", ["nothing", "1.forged", "99999.forged-token"])
def test_an_unknown_invitation_link_says_so(client, company_x, token):
    response = client.get(reverse("business:invitation", args=[token]))

    assert response.status_code == 404
    assert response.context["error"] == page_text(link_errors.InvitationNotFound.message)


def test_a_new_invitation_withdraws_the_previous_link(client_of, company_x, admin_x, bob):
    services.invite_colleague(actor=admin_x, email=bob.email, role="member", site_url=SITE_URL)
    first = link_in(mails_to(bob.email)[-1])
    services.invite_colleague(actor=admin_x, email=bob.email, role="admin", site_url=SITE_URL)
    second = link_in(mails_to(bob.email)[-1])
    client = client_of(bob)

    assert client.post(first).context["error"] == page_text(link_errors.InvitationRevoked.message)
    client.post(second)
    assert row(Representative, company=company_x, user=bob).role == "admin"


def test_an_admin_withdraws_an_invitation(client_of, company_x, admin_x, alice, bob):
    invitation = services.invite_colleague(
        actor=admin_x, email=bob.email, role="member", site_url=SITE_URL
    )
    path = link_in(mails_to(bob.email)[-1])

    client_of(alice).post(company_url("companies:invitation_revoke", pk=invitation.pk))

    assert row(CompanyInvitation, pk=invitation.pk).revoked_at is not None
    assert actions_of(company_x)[-1] == "company.invitation_revoked"
    assert client_of(bob).get(path).status_code == 410


def test_an_admin_invites_no_active_colleague(company_x, admin_x, member_x):
    with pytest.raises(errors.ColleagueAlreadyActive):
        services.invite_colleague(
            actor=admin_x, email=member_x.user.email, role="member", site_url=SITE_URL
        )


def test_an_admin_changes_a_role_and_removes_a_colleague(client_of, company_x, alice, member_x):
    client = client_of(alice)

    client.post(company_url("companies:colleague_role", pk=member_x.pk), {"role": "admin"})
    assert row(Representative, pk=member_x.pk).role == "admin"
    client.post(company_url("companies:colleague_remove", pk=member_x.pk))

    assert row(Representative, pk=member_x.pk).is_active is False
    assert actions_of(company_x)[-2:] == ["company.role_changed", "company.colleague_removed"]
    role_event = events_of(company_x)[-2]
    assert role_event.payload == {"role_before": "member", "role_after": "admin"}
    # A removed colleague no longer acts for the company.
    client.force_login(member_x.user)
    assert client.get(COLLEAGUES).status_code == 404


def test_the_last_admin_can_be_neither_removed_nor_demoted(
    client_of, company_x, admin_x, alice, member_x
):
    client = client_of(alice)
    before = all_events()

    removed = client.post(company_url("companies:colleague_remove", pk=admin_x.pk), follow=True)
    demoted = client.post(
        company_url("companies:colleague_role", pk=admin_x.pk), {"role": "member"}, follow=True
    )

    assert page_text(errors.LastAdministrator.message) in shown_messages(removed)
    assert page_text(errors.LastAdministrator.message) in shown_messages(demoted)
    assert row(Representative, pk=admin_x.pk).is_admin
    assert all_events() == before
    # With a second administrator, the first may step down.
    services.change_colleague_role(actor=admin_x, representative_id=member_x.pk, role="admin")
    services.remove_colleague(actor=admin_x, representative_id=admin_x.pk)
    assert row(Representative, pk=admin_x.pk).is_active is False


def test_a_member_sees_colleagues_but_manages_none(client_of, company_x, admin_x, member_x):
    client = client_of(member_x.user)

    page = client.get(COLLEAGUES)
    assert page.status_code == 200
    assert page.context["form"] is None
    assert client.post(COLLEAGUES, {"email": "x@example.org", "role": "admin"}).status_code == 403
    assert client.post(company_url("companies:colleague_remove", pk=admin_x.pk)).status_code == 404
    assert rows(CompanyInvitation) == []


# --- Establishments --------------------------------------------------------------------


def test_an_admin_adds_an_establishment_of_the_company_only(client_of, company_x, company_y, alice):
    client = client_of(alice)
    url = company_url("companies:establishment_add")
    other = valid_siret(company_y.siren, 4)

    refused = client.post(url, {"siret": other})
    assert error_codes(refused, "siret") == ["siret_of_another_company"]
    invalid = client.post(url, {"siret": "73282932000075"})
    assert error_codes(invalid, "siret") == ["siret_bad_check_digit"]
    assert len(rows(Establishment, company=company_x)) == 1

    mine = valid_siret(company_x.siren, 4)
    added = client.post(url, {"siret": mine, "name": "Atelier", "is_head_office": "on"})

    assert added.status_code == 302
    head_offices = [e.siret for e in rows(Establishment, company=company_x, is_head_office=True)]
    assert head_offices == [mine]
    assert actions_of(company_x)[-1] == "company.establishment_added"
    taken = client.post(url, {"siret": mine})
    assert error_codes(taken, "siret") == ["siret_taken"]


# --- Tenancy ---------------------------------------------------------------------------


def test_another_companys_rows_give_404_and_change_nothing(
    client_of, company_x, alice, company_y, admin_y
):
    carols_colleague = verified_person("dan@plomberie.example")
    services.sign_up_with_siret(
        user=carols_colleague, siret=valid_siret(company_y.siren, 3), site_url=SITE_URL
    )
    request_y = row(JoinRequest, company=company_y)
    invitation_y = services.invite_colleague(
        actor=admin_y, email="eve@plomberie.example", role="member", site_url=SITE_URL
    )
    before = {c.pk: len(events_of(c)) for c in (company_x, company_y)}
    client = client_of(alice)

    for url in [
        company_url("companies:request_accept", pk=request_y.pk),
        company_url("companies:request_refuse", pk=request_y.pk),
        company_url("companies:colleague_role", pk=admin_y.pk),
        company_url("companies:colleague_remove", pk=admin_y.pk),
        company_url("companies:invitation_revoke", pk=invitation_y.pk),
    ]:
        assert client.post(url, {"role": "member"}).status_code == 404, url

    assert row(JoinRequest, pk=request_y.pk).status == "pending"
    assert row(Representative, pk=admin_y.pk).is_admin
    assert row(CompanyInvitation, pk=invitation_y.pk).revoked_at is None
    assert {c.pk: len(events_of(c)) for c in (company_x, company_y)} == before
    for url in [HOME, COLLEAGUES, REQUESTS]:
        body = client.get(url).content.decode()
        assert "Plomberie Y" not in body
        assert "plomberie.example" not in body


def test_an_outsider_and_an_agent_reach_no_company_page(client_of, outsider, agent_b, company_x):
    for person in (outsider, agent_b.user):
        client = client_of(person)
        for url in [HOME, COLLEAGUES, REQUESTS, company_url("companies:establishment_add")]:
            assert client.get(url).status_code == 404, url


def test_company_pages_send_visitors_to_login(client):
    for url in [HOME, COLLEAGUES, REQUESTS]:
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


def test_a_representative_works_in_the_company_scope_only(rf, company_x, alice, company_y):
    """Acting for the company in the path, the request has no organisation dimension: a
    query on an organisation's rows fails loudly, a query on another company's rows finds
    nothing."""
    seen = {}

    def view(request):
        seen["representation"] = request.representation
        seen["membership"] = request.membership
        seen["representatives"] = list(Representative.objects.all())
        with pytest.raises(ScopeError):
            list(Membership.objects.all())
        return None

    request = rf.get(HOME)
    request.user = alice
    request.session = {}
    tenancy.TenancyMiddleware(view)(request)

    assert seen["representation"].company_id == company_x.pk
    assert seen["membership"] is None
    assert {r.company_id for r in seen["representatives"]} == {company_x.pk}


def test_an_agent_who_represents_a_company_acts_for_each_at_its_own_address(
    client_of, agent_a, org_a
):
    """Given an agent of org A who also represents a company, each space has its own
    address: two tabs act for both at once, and the switcher only navigates."""
    user = agent_a.user
    verified_person(user.email)
    company = register_company(user, siren=company_siren(4), name="Conseil A").company
    client = client_of(user)
    company_home = company_url("companies:home", siren=company.siren)
    org_home = org_url("organisation:home")

    page = client.get(reverse("core:home"))
    html = page.content.decode()
    assert f'href="{org_home}"' in html
    assert f'href="{company_home}"' in html

    as_company = client.get(company_home)
    assert as_company.status_code == 200
    assert as_company.wsgi_request.membership is None
    assert as_company.wsgi_request.representation.company == company
    as_org = client.get(org_url("organisation:audit"))
    assert as_org.status_code == 200
    assert as_org.wsgi_request.membership == agent_a
    assert as_org.wsgi_request.representation is None
    # Both stay open: nothing in the session chose one over the other.
    assert client.get(company_home).status_code == 200


def test_a_path_naming_what_the_person_does_not_have_gives_404(
    client_of, agent_a, company_x, org_b
):
    client = client_of(agent_a.user)
    assert client.get(HOME).status_code == 404
    assert client.get(org_url("organisation:home", org=org_b.slug)).status_code == 404
    assert client.get(company_url("companies:home", siren="000000000")).status_code == 404
    assert client.get("/o/no-such-organisation/").status_code == 404


def test_a_person_representing_one_company_only_sees_its_name(client_of, company_x, alice):
    html = client_of(alice).get(HOME).content.decode()

    assert "Acting for Menuiserie X" in html
    assert f'href="{HOME}"' in html


# --- Operator --------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


def test_operator_staff_list_and_filter_businesses(
    staff_client, company_x, company_y, django_assert_max_num_queries
):
    url = reverse("backoffice:company_list")
    for n in range(5):
        register_company(
            verified_person(f"owner{n}@example.org"), siren=company_siren(100 + n), name=f"Co {n}"
        )
    staff_client.get(url)
    with django_assert_max_num_queries(8):
        everything = staff_client.get(url)
    assert everything.context["page"].paginator.count == 7

    by_name = staff_client.get(url, {"q": "menuiserie"})
    assert [c.pk for c in by_name.context["page"]] == [company_x.pk]
    by_siret = staff_client.get(url, {"q": valid_siret(company_y.siren)})
    assert [c.pk for c in by_siret.context["page"]] == [company_y.pk]
    verified = staff_client.get(url, {"status": "verified"})
    assert verified.context["page"].paginator.count == 0
    first = everything.context["page"][0]
    assert (first.active_representatives, first.pending_requests) == (1, 0)


def test_operator_staff_verify_then_suspend_a_company(
    staff_client, operator_staff, company_x, alice
):
    detail = reverse("backoffice:company_detail", args=[company_x.pk])
    page = staff_client.get(detail)
    assert page.status_code == 200
    assert [r.user for r in page.context["representatives"]] == [alice]
    assert "company-status-unverified" in page.content.decode()

    mails_before = len(mails_to(alice.email))

    staff_client.post(reverse("backoffice:company_verify", args=[company_x.pk]))

    company = Company.objects.get(pk=company_x.pk)
    assert (company.status, company.verified_by) == ("verified", operator_staff.user)
    event = events_of(company)[-1]
    assert (event.action, event.organisation_id) == ("company.verified", None)
    assert event.payload["status_before"] == "unverified"
    assert len(mails_to(alice.email)) == mails_before + 1
    assert (
        staff_client.get(reverse("backoffice:company_list"), {"status": "verified"})
        .context["page"]
        .paginator.count
        == 1
    )

    staff_client.post(reverse("backoffice:company_suspend", args=[company_x.pk]))
    assert Company.objects.get(pk=company_x.pk).status == "suspended"
    assert actions_of(company)[-1] == "company.suspended"
    # Suspending twice is refused with a message, and writes nothing.
    before = all_events()
    again = staff_client.post(
        reverse("backoffice:company_suspend", args=[company_x.pk]), follow=True
    )
    assert page_text(errors.TransitionNotAllowed.message) in shown_messages(again)
    assert all_events() == before


def test_only_operator_staff_reach_the_businesses_pages(
    client_of, client, agent_a, company_x, alice
):
    urls = [
        reverse("backoffice:company_list"),
        reverse("backoffice:company_detail", args=[company_x.pk]),
    ]
    posts = [
        reverse("backoffice:company_verify", args=[company_x.pk]),
        reverse("backoffice:company_suspend", args=[company_x.pk]),
    ]
    for url in urls + posts:
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]
    for person in (agent_a.user, alice):
        signed_in = client_of(person)
        for url in urls:
            assert signed_in.get(url).status_code == 404, url
        for url in posts:
            assert signed_in.post(url).status_code == 404, url
    assert Company.objects.get(pk=company_x.pk).status == "unverified"
    with pytest.raises(PermissionDenied):
        services.verify_company(actor=agent_a, company_id=company_x.pk, site_url=SITE_URL)
    assert Company.objects.get(pk=company_x.pk).status == "unverified"


# --- The audit trail -------------------------------------------------------------------


def test_company_events_form_chains_that_verify(
    operator_staff, company_x, admin_x, member_x, company_y, admin_y
):
    services.invite_colleague(
        actor=admin_x, email="new@example.org", role="member", site_url=SITE_URL
    )
    services.change_colleague_role(actor=admin_x, representative_id=member_x.pk, role="admin")
    services.verify_company(actor=operator_staff, company_id=company_x.pk, site_url=SITE_URL)
    services.suspend_company(actor=operator_staff, company_id=company_y.pk, site_url=SITE_URL)

    assert actions_of(company_x) == [
        "company.registered",
        "company.join_requested",
        "company.join_accepted",
        "company.colleague_invited",
        "company.role_changed",
        "company.verified",
    ]
    assert actions_of(company_y) == ["company.registered", "company.suspended"]
    with scopes_disabled():
        assert (
            not AuditEvent.objects.filter(chain__startswith="company:")
            .exclude(organisation=None)
            .exists()
        )
    report = audit.verify_all_chains()
    assert report.ok, report.problems
    assert report.chains >= 2


def test_scope_of_a_company_hides_the_others(company_x, company_y):
    with scope(company=company_x.pk):
        assert {e.company_id for e in Establishment.objects.all()} == {company_x.pk}
    with scope(company=company_y.pk):
        assert {r.company_id for r in Representative.objects.all()} == {company_y.pk}


def test_the_colleagues_page_queries_do_not_grow_with_the_colleagues(
    client_of, company_x, admin_x, alice, django_assert_max_num_queries, settings
):
    # Twelve invitations: more than an unverified company or one person may send.
    settings.MUTUALIS_UNVERIFIED_COMPANY_OPEN_INVITATIONS = 20
    settings.MUTUALIS_INVITATION_RATE_PER_PERSON = "50/h"
    for n in range(6):
        person = verified_person(f"colleague{n}@menuiserie.example")
        services.invite_colleague(
            actor=admin_x, email=person.email, role="member", site_url=SITE_URL
        )
        services.accept_invitation(user=person, token=_token_of_last_mail(person.email))
        services.invite_colleague(
            actor=admin_x, email=f"pending{n}@example.org", role="member", site_url=SITE_URL
        )
    client = client_of(alice)
    client.get(COLLEAGUES)
    with django_assert_max_num_queries(8):
        response = client.get(COLLEAGUES)
    assert len(response.context["representatives"]) == 7
    assert len(response.context["invitations"]) == 6


def _token_of_last_mail(email: str) -> str:
    return link_in(mails_to(email)[-1]).rstrip("/").rsplit("/", 1)[1]
