"""A disputed SIREN: operator staff open the dispute, suspend the representatives in
place, transfer the company to its rightful representative and verify it, each step
audited (issue 12; docs/operations.md, "SIREN contesté")."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.companies import crossings, errors, services
from mutualis.companies.models import (
    Company,
    CompanyInvitation,
    JoinRequest,
    Representative,
)
from mutualis.core import audit
from mutualis.core.models import AuditEvent, OutgoingEmail
from tests.factories.companies import (
    SITE_URL,
    company_siren,
    company_url,
    register_company,
    valid_siret,
    verified_person,
)
from tests.mailbox import delivered_text

pytestmark = pytest.mark.django_db

HOME = company_url("companies:home")
COLLEAGUES = company_url("companies:colleagues")


def dispute_url(company) -> str:
    return reverse("backoffice:company_dispute", args=[company.pk])


def actions(chain: str) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=chain)
            .order_by("sequence")
            .values_list("action", flat=True)
        )


def mails_to(email: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=email).order_by("pk"))


def reload(company) -> Company:
    return Company.objects.get(pk=company.pk)


def representative_of(company, user) -> Representative:
    with scopes_disabled():
        return Representative.objects.get(company=company, user=user)


@pytest.fixture
def squatter(db):
    return verified_person("squatter@example.org", first_name="Mallory")


@pytest.fixture
def company_x(squatter):
    """A SIREN claimed by someone who may not speak for the company."""
    return register_company(squatter, siren=company_siren(1), name="Menuiserie X").company


@pytest.fixture
def squatter_admin(company_x, squatter):
    return representative_of(company_x, squatter)


@pytest.fixture
def rightful(db):
    return verified_person("gerante@menuiserie-x.example", first_name="Rita")


@pytest.fixture
def staff_client(operator_staff):
    """The operator's own browser, apart from the ``client`` the others use."""
    staff = Client()
    staff.force_login(operator_staff.user)
    return staff


def test_the_operator_takes_a_squatted_siren_back_for_its_rightful_representative(
    staff_client, client, operator_staff, company_x, squatter, squatter_admin, rightful
):
    # Given: the squatter invited someone, and the real manager asked to join (the
    # squatter received her request).
    services.invite_colleague(
        actor=squatter_admin, email="accomplice@example.org", role="admin", site_url=SITE_URL
    )
    services.sign_up_with_siret(
        user=rightful, siret=valid_siret(company_x.siren, 2), site_url=SITE_URL
    )
    squatter_mails = len(mails_to(squatter.email))

    # The operator opens the dispute.
    page = staff_client.get(dispute_url(company_x))
    assert page.status_code == 200
    assert [r.user for r in page.context["file"].representatives] == [squatter]
    assert [jr.user for jr in page.context["file"].join_requests] == [rightful]
    staff_client.post(dispute_url(company_x), {"action": "open"})
    assert reload(company_x).status == "disputed"
    with scopes_disabled():
        assert not CompanyInvitation.objects.filter(
            company=company_x, revoked_at=None, accepted_at=None
        ).exists()

    # While disputed: new requests reach nobody in place, the squatter invites nobody.
    someone = verified_person("colleague@menuiserie-x.example")
    services.sign_up_with_siret(
        user=someone, siret=valid_siret(company_x.siren, 2), site_url=SITE_URL
    )
    assert len(mails_to(squatter.email)) == squatter_mails
    with pytest.raises(errors.CompanyDisputed):
        services.invite_colleague(
            actor=squatter_admin, email="other@example.org", role="member", site_url=SITE_URL
        )
    with scopes_disabled():
        request = JoinRequest.objects.get(user=someone)
    with pytest.raises(errors.CompanyDisputed):
        services.accept_join_request(
            actor=squatter_admin, join_request_id=request.pk, site_url=SITE_URL
        )

    # The operator suspends the squatter: the company's pages answer 404.
    client.force_login(squatter)
    assert client.get(HOME).status_code == 200
    staff_client.post(dispute_url(company_x), {"action": "suspend"})
    assert not representative_of(company_x, squatter).is_active
    client.force_login(squatter)
    assert client.get(HOME).status_code == 404
    assert client.get(COLLEAGUES).status_code == 404
    assert client.post(COLLEAGUES, {"email": "x@example.org", "role": "member"}).status_code == 404

    # The operator transfers the company to its manager (an account) and corrects its name.
    staff_client.post(
        dispute_url(company_x),
        {
            "action": "transfer",
            "email": "Gerante@Menuiserie-X.example",
            "name": "MENUISERIE X\u202e",
        },
    )
    rita = representative_of(company_x, rightful)
    assert (rita.is_active, rita.role) == (True, "admin")
    assert reload(company_x).name == "MENUISERIE X"
    assert "administrator of" in mails_to(rightful.email)[-1].subject
    client.force_login(rightful)
    assert client.get(HOME).status_code == 200

    # The operator verifies it: the dispute ends.
    staff_client.post(reverse("backoffice:company_verify", args=[company_x.pk]))
    assert reload(company_x).status == "verified"

    chain = audit.company_chain(company_x.pk)
    company_actions = actions(chain)
    for action in (
        "company.disputed",
        "company.representative_suspended",
        "company.transferred",
        "company.verified",
    ):
        assert action in company_actions
    assert (
        company_actions.index("company.disputed")
        < company_actions.index("company.representative_suspended")
        < company_actions.index("company.transferred")
        < company_actions.index("company.verified")
    )
    assert [a for a in actions(audit.PLATFORM_CHAIN) if a.startswith("company.")] == [
        "company.disputed",
        "company.representatives_suspended",
        "company.transferred",
        "company.dispute_closed",
    ]
    report = audit.verify_all_chains()
    assert report.ok, report.problems


def test_a_rightful_representative_without_an_account_is_invited_as_administrator(
    client, operator_staff, company_x, squatter_admin
):
    services.open_dispute(actor=operator_staff, company_id=company_x.pk)
    services.suspend_representatives(actor=operator_staff, company_id=company_x.pk)

    result = services.transfer_company(
        actor=operator_staff,
        company_id=company_x.pk,
        email="new.manager@menuiserie-x.example",
        site_url=SITE_URL,
    )

    assert result.representative is None
    assert (result.invitation.role, result.invitation.invited_by) == ("admin", operator_staff.user)
    mail = mails_to("new.manager@menuiserie-x.example")[-1]
    assert "(unverified company)" in mail.subject
    token = delivered_text(mail).split("/companies/invitations/")[1].split("/")[0]
    manager = verified_person("new.manager@menuiserie-x.example")
    # The invitation is accepted while the company is still disputed.
    representative = services.accept_invitation(user=manager, token=token)
    assert (representative.role, representative.is_active) == ("admin", True)
    client.force_login(manager)
    assert client.get(HOME).status_code == 200


def test_one_representative_is_suspended_and_the_others_stay(
    staff_client, operator_staff, company_x, squatter_admin, rightful
):
    services.invite_colleague(
        actor=squatter_admin, email=rightful.email, role="member", site_url=SITE_URL
    )
    token = delivered_text(mails_to(rightful.email)[-1]).split("/companies/invitations/")[1]
    services.accept_invitation(user=rightful, token=token.split("/")[0])
    services.open_dispute(actor=operator_staff, company_id=company_x.pk)

    staff_client.post(
        dispute_url(company_x), {"action": "suspend", "representative": squatter_admin.pk}
    )

    assert not representative_of(company_x, squatter_admin.user).is_active
    assert representative_of(company_x, rightful).is_active


def test_suspending_and_transferring_need_an_open_dispute(
    staff_client, operator_staff, company_x, squatter_admin
):
    before = actions(audit.company_chain(company_x.pk))
    with pytest.raises(errors.CompanyNotDisputed):
        services.suspend_representatives(actor=operator_staff, company_id=company_x.pk)

    page = staff_client.post(
        dispute_url(company_x), {"action": "transfer", "email": "someone@example.org"}
    )
    assert page.status_code == 200
    codes = [e.code for errs in page.context["form"].errors.as_data().values() for e in errs]
    assert codes == ["company_not_disputed"]
    refused = staff_client.post(dispute_url(company_x), {"action": "suspend"}, follow=True)
    assert any("Open a dispute" in str(m) for m in refused.context["messages"])
    assert representative_of(company_x, squatter_admin.user).is_active
    assert actions(audit.company_chain(company_x.pk)) == before


def test_a_dispute_is_opened_once(operator_staff, company_x):
    services.open_dispute(actor=operator_staff, company_id=company_x.pk)
    with pytest.raises(errors.TransitionNotAllowed):
        services.open_dispute(actor=operator_staff, company_id=company_x.pk)


def test_the_transfer_form_checks_its_input(staff_client, operator_staff, company_x):
    services.open_dispute(actor=operator_staff, company_id=company_x.pk)
    for data in (
        {"action": "transfer", "email": "not an address"},
        {"action": "transfer", "email": "a" * 300 + "@example.org"},
        {"action": "transfer", "email": "x@example.org", "name": "n" * 201},
    ):
        page = staff_client.post(dispute_url(company_x), data)
        assert page.status_code == 200
        assert page.context["form"].errors
    for data in ({"action": "delete"}, {"action": "suspend", "representative": "1x"}, {}):
        assert staff_client.post(dispute_url(company_x), data).status_code == 404
    assert staff_client.get(reverse("backoffice:company_dispute", args=[99999])).status_code == 404


def test_only_operator_staff_reach_the_dispute_page(
    client, agent_a, company_x, squatter, squatter_admin, rightful
):
    url = dispute_url(company_x)
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert reverse("account_login") in anonymous["Location"]
    for person in (agent_a.user, squatter, rightful):
        client.force_login(person)
        assert client.get(url).status_code == 404
        for action in ("open", "suspend", "transfer"):
            data = {"action": action, "email": person.email}
            assert client.post(url, data).status_code == 404
    assert reload(company_x).status == "unverified"
    assert representative_of(company_x, squatter).is_active
    for use_case in (services.open_dispute, services.suspend_representatives):
        with pytest.raises(PermissionDenied):
            use_case(actor=agent_a, company_id=company_x.pk)
    with pytest.raises(PermissionDenied):
        services.transfer_company(
            actor=agent_a, company_id=company_x.pk, email=rightful.email, site_url=SITE_URL
        )


def test_the_dispute_file_reads_one_company_only(company_x, squatter_admin):
    other = register_company(
        verified_person("owner@example.org"), siren=company_siren(2), name="Other"
    ).company
    found = crossings.dispute_file(company_x.pk)
    assert {r.company_id for r in found.representatives} == {company_x.pk}
    assert crossings.dispute_file(other.pk).company == other
    assert crossings.dispute_file(0) is None
