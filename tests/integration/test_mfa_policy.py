"""A second factor required by role: who is led to set one up, which pages stay open, the
operator's security page and its audit events, and the bad input of a login with a
second factor (wrong code, reused code, replayed recovery code)."""

from __future__ import annotations

from io import StringIO

import pyotp
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.identity import errors, security, selectors
from mutualis.identity.lockout import AddressInvalid
from mutualis.identity.models import Membership, Role
from mutualis.identity.services import ensure_user
from tests.factories.core import org_url
from tests.factories.identity import PASSWORD, UserFactory, make_member
from tests.factories.mfa import TOTP_SECRET, give_authenticator_app, totp_code

pytestmark = pytest.mark.django_db

HOME = reverse("core:home")
MFA_REQUIRED = reverse("identity:mfa_required")
SECURITY = reverse("backoffice:security")


@pytest.fixture
def client(client):
    # Pages in English, whatever the French catalogue holds.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def signed_in_as(client, user):
    client.force_login(user)
    return client


def is_led_to_set_up(response) -> bool:
    return response.status_code == 302 and response["Location"] == MFA_REQUIRED


def mfa_events() -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(action="security.mfa_requirement_changed").order_by("pk")
        )


# --- Who must have a second factor -----------------------------------------------------


@pytest.mark.parametrize("role", ["org_admin", "buyer", "commission_member"])
def test_a_role_requiring_mfa_leads_to_the_set_up_page(client, org_a, role):
    member = make_member(org_a, "agent@example.org", roles=[role])
    response = signed_in_as(client, member.user).get(HOME)
    assert is_led_to_set_up(response)


@pytest.mark.parametrize("roles", [["secretary"], ["signatory"], []])
def test_other_roles_are_not_forced(client, org_a, roles):
    member = make_member(org_a, "agent@example.org", roles=roles)
    assert signed_in_as(client, member.user).get(HOME).status_code == 200


def test_operator_staff_are_always_forced_even_without_a_role(client, operator_org):
    member = make_member(operator_org, "staff.noroles@example.org", roles=[])
    assert selectors.requires_mfa(member.user)
    assert is_led_to_set_up(signed_in_as(client, member.user).get(HOME))


def test_a_person_without_membership_is_not_forced(client, outsider):
    assert not selectors.requires_mfa(outsider)
    assert signed_in_as(client, outsider).get(HOME).status_code == 200


def test_a_deactivated_membership_does_not_count(client, org_a, org_b):
    member = make_member(org_a, "agent@example.org", roles=["org_admin"])
    make_member(org_b, "agent@example.org", roles=["secretary"])
    with scopes_disabled():
        Membership.objects.filter(pk=member.pk).update(is_active=False)
    assert signed_in_as(client, member.user).get(HOME).status_code == 200


def test_one_membership_with_such_a_role_is_enough(client, org_a, org_b):
    make_member(org_a, "agent@example.org", roles=["secretary"])
    member = make_member(org_b, "agent@example.org", roles=["buyer"])
    assert is_led_to_set_up(signed_in_as(client, member.user).get(HOME))


def test_an_authenticator_app_or_a_security_key_lets_the_person_through(client, org_a):
    app_user = make_member(org_a, "app@example.org", roles=["org_admin"]).user
    key_user = make_member(org_a, "key@example.org", roles=["org_admin"]).user
    give_authenticator_app(app_user)
    # What allauth stores for a registered security key; its content is not read here.
    Authenticator.objects.create(
        user=key_user, type=Authenticator.Type.WEBAUTHN, data={"name": "Clé", "credential": {}}
    )
    for user in (app_user, key_user):
        assert selectors.has_second_factor(user)
        assert signed_in_as(client, user).get(HOME).status_code == 200


def test_recovery_codes_alone_are_not_a_second_factor(client, org_a):
    user = make_member(org_a, "agent@example.org", roles=["org_admin"]).user
    RecoveryCodes.activate(user)
    assert not selectors.has_second_factor(user)
    assert is_led_to_set_up(signed_in_as(client, user).get(HOME))


def test_the_operator_rule_applies_at_the_next_page(client, org_a, operator_staff):
    """Given a secretary who reaches pages freely, when the operator requires a second
    factor of secretaries, then the next page leads to its set-up."""
    user = make_member(org_a, "agent@example.org", roles=["secretary"]).user
    signed_in_as(client, user)
    assert client.get(HOME).status_code == 200
    security.set_mfa_requirement(actor=operator_staff, role_code="secretary", required=True)
    assert is_led_to_set_up(client.get(HOME))
    security.set_mfa_requirement(actor=operator_staff, role_code="secretary", required=False)
    assert client.get(HOME).status_code == 200


def test_removing_the_last_authenticator_leads_back_to_the_set_up(client, agent_a):
    """The session remembers the second factor it saw; the pages where an authenticator
    is removed (all of allauth's MFA pages) make it look again."""
    signed_in_as(client, agent_a.user)
    assert client.get(HOME).status_code == 200
    Authenticator.objects.filter(user=agent_a.user).delete()
    assert client.get(reverse("mfa_index")).status_code == 200
    assert is_led_to_set_up(client.get(HOME))


# --- Which pages stay open -------------------------------------------------------------


@pytest.fixture
def unprotected_admin(client, org_a):
    user = ensure_user(email="admin@example.org", password=PASSWORD)
    make_member(org_a, user.email, roles=["org_admin"])
    return signed_in_as(client, user)


@pytest.mark.parametrize(
    "name",
    [
        "core:home",
        "organisation:audit",
        "directory:list",
        "backoffice:dashboard",
        "account_change_password",
    ],
)
def test_every_other_page_leads_to_the_set_up(unprotected_admin, name):
    url = org_url(name) if name.startswith("organisation:") else reverse(name)
    assert is_led_to_set_up(unprotected_admin.get(url))


def test_a_post_elsewhere_is_refused_the_same_way(unprotected_admin, org_a):
    response = unprotected_admin.post(org_url("members:invite"), {"email": "x@example.org"})
    assert is_led_to_set_up(response)


@pytest.mark.parametrize(
    "name",
    [
        "identity:mfa_required",
        "mfa_index",
        "mfa_list_webauthn",
        "account_reauthenticate",
        "account_email",
    ],
)
def test_the_set_up_pages_stay_open(unprotected_admin, name):
    assert unprotected_admin.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["mfa_activate_totp", "mfa_add_webauthn"])
def test_adding_an_authenticator_asks_for_the_password_not_for_the_set_up(unprotected_admin, name):
    response = unprotected_admin.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_logout_and_language_stay_open(unprotected_admin):
    response = unprotected_admin.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    response = unprotected_admin.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in unprotected_admin.session


# --- The explanation page --------------------------------------------------------------


def test_the_page_says_why_and_links_to_both_ways(client, org_a, org_b, operator_org):
    user = ensure_user(email="agent@example.org", password=PASSWORD)
    make_member(org_a, user.email, roles=["org_admin", "secretary"])
    make_member(org_b, user.email, roles=["buyer"])
    make_member(operator_org, user.email, roles=[])
    response = signed_in_as(client, user).get(MFA_REQUIRED)
    assert response.status_code == 200
    reasons = {reason.organisation.pk: reason for reason in response.context["reasons"]}
    assert [role.code for role in reasons[org_a.pk].roles] == ["org_admin"]
    assert [role.code for role in reasons[org_b.pk].roles] == ["buyer"]
    assert reasons[operator_org.pk].operator_staff
    body = response.content.decode()
    assert "Commune A" in body
    assert "Commune B" in body
    assert "the platform's operator" in body
    assert reverse("mfa_activate_totp") in body
    assert reverse("mfa_add_webauthn") in body
    assert not response.context["address_unverified"]


def test_the_page_asks_first_to_verify_an_unverified_address(client, org_a):
    user = make_member(org_a, "agent@example.org", roles=["org_admin"]).user
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    response = signed_in_as(client, user).get(MFA_REQUIRED)
    assert response.context["address_unverified"]
    assert reverse("account_email") in response.content.decode()


def test_the_page_sends_home_whoever_needs_nothing_more(client, agent_a, outsider):
    assert signed_in_as(client, agent_a.user).get(MFA_REQUIRED)["Location"] == HOME
    assert signed_in_as(client, outsider).get(MFA_REQUIRED)["Location"] == HOME


def test_the_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get(MFA_REQUIRED)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Login with a second factor: bad input ---------------------------------------------


@pytest.fixture
def protected_admin(org_a):
    user = ensure_user(email="admin@example.org", password=PASSWORD)
    make_member(org_a, user.email, roles=["org_admin"])
    give_authenticator_app(user)
    return user


def password_step(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")


def code_step(client, code: str):
    return client.post(reverse("mfa_authenticate"), {"code": code})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_code_after_the_password_signs_in(client, protected_admin):
    password_step(client, protected_admin)
    assert not signed_in(client)
    response = code_step(client, totp_code())
    assert response.status_code == 302
    # The administrator acts for one organisation only: they land in it.
    assert response["Location"] == org_url("organisation:home")
    assert signed_in(client)
    assert client.get(response["Location"]).status_code == 200


def test_a_wrong_code_gets_allauths_error_and_signs_nobody_in(client, protected_admin):
    password_step(client, protected_admin)
    wrong = pyotp.TOTP(pyotp.random_base32()).now()
    response = code_step(client, wrong if wrong != totp_code() else "000000")
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["code"]] == ["incorrect_code"]
    assert "Incorrect code." in response.content.decode()
    assert not signed_in(client)
    # The code step is still there: the right code now goes through.
    assert code_step(client, totp_code()).status_code == 302
    assert signed_in(client)


def test_a_code_reused_within_its_period_is_refused(client, protected_admin):
    # Margin: both logins must fall in the same 30-second period.
    code = totp_code(margin=10)
    password_step(client, protected_admin)
    assert code_step(client, code).status_code == 302
    client.logout()
    password_step(client, protected_admin)
    response = code_step(client, code)
    assert response.status_code == 200
    assert response.context["form"].errors.as_data()["code"][0].code == "incorrect_code"
    assert not signed_in(client)


def test_a_recovery_code_works_once_and_its_replay_is_refused(client, protected_admin):
    recovery = Authenticator.objects.get(
        user=protected_admin, type=Authenticator.Type.RECOVERY_CODES
    )
    code = recovery.wrap().get_unused_codes()[0]
    password_step(client, protected_admin)
    assert code_step(client, code).status_code == 302
    assert signed_in(client)
    client.logout()
    password_step(client, protected_admin)
    response = code_step(client, code)
    assert response.status_code == 200
    assert response.context["form"].errors.as_data()["code"][0].code == "incorrect_code"
    assert not signed_in(client)
    recovery.refresh_from_db()
    assert code not in recovery.wrap().get_unused_codes()


# --- The demo's authenticator app ------------------------------------------------------


def test_the_demo_secret_gives_the_codes_of_any_authenticator_app(db):
    user = UserFactory()
    authenticator = security.enable_totp_for_demo(user=user, secret=TOTP_SECRET.lower())
    assert authenticator.type == Authenticator.Type.TOTP
    assert TOTP(authenticator).validate_code(totp_code())
    # Idempotent: the same secret keeps the same authenticator and recovery codes.
    again = security.enable_totp_for_demo(user=user, secret=TOTP_SECRET)
    assert again.pk == authenticator.pk
    assert Authenticator.objects.filter(user=user).count() == 2
    # Another secret replaces the first.
    other = pyotp.random_base32()
    replaced = security.enable_totp_for_demo(user=user, secret=other)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).get() == replaced
    assert TOTP(replaced).validate_code(pyotp.TOTP(other).now())


def test_the_demo_secret_must_be_base32(db):
    with pytest.raises(ValueError, match="base32"):
        security.enable_totp_for_demo(user=UserFactory(), secret="not base32!")
    assert not Authenticator.objects.exists()


def test_the_demo_prints_a_secret_that_logs_its_accounts_in(client):
    """Given the demo seeded, a newcomer logs in as the demo's organisation administrator
    with the password and a code from the printed secret, and reaches the home page."""
    call_command("import_territory", "--region", "27", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    email = "mairie@dijon.localhost"
    secret = security.demo_totp_secret(email)
    assert f"{email:32} {secret}" in printed
    assert f"otpauth://totp/mairie%40dijon.localhost?secret={secret}&issuer=Mutualis" in printed
    # Seeding again keeps the same secret.
    call_command("seed_demo", stdout=out)
    response = client.post(
        reverse("account_login"), {"login": email, "password": "demo-dijon-2026"}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    assert code_step(client, totp_code(secret))["Location"] == HOME
    assert client.get(HOME).status_code == 200


# --- The rule, as a service ------------------------------------------------------------


def requires(code: str) -> bool:
    return Role.objects.get(pk=code).requires_mfa


def test_changing_the_rule_writes_one_platform_event(operator_staff):
    changed = security.set_mfa_requirement(
        actor=operator_staff, role_code="secretary", required=True
    )
    assert changed
    assert requires("secretary")
    [event] = mfa_events()
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.organisation_id is None
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"
    assert (event.object_type, event.object_id) == ("identity.role", "secretary")
    assert event.payload == {
        "role": "secretary",
        "required_before": False,
        "required_after": True,
    }


def test_an_unchanged_rule_writes_nothing(operator_staff):
    assert not security.set_mfa_requirement(actor=operator_staff, role_code="buyer", required=True)
    assert mfa_events() == []


def test_an_unknown_role_is_refused(operator_staff):
    with pytest.raises(errors.UnknownRole) as caught:
        security.set_mfa_requirement(actor=operator_staff, role_code="mayor", required=True)
    assert caught.value.code == "unknown_role"
    assert mfa_events() == []


def test_only_operator_staff_may_change_the_rule(agent_a):
    with pytest.raises(PermissionDenied):
        security.set_mfa_requirement(actor=agent_a, role_code="buyer", required=False)
    with pytest.raises(PermissionDenied):
        security.set_mfa_requirements(actor=agent_a, requirements={"buyer": False})
    assert requires("buyer")
    assert mfa_events() == []


def test_several_roles_at_once_all_or_nothing(operator_staff):
    with pytest.raises(errors.UnknownRole):
        security.set_mfa_requirements(
            actor=operator_staff, requirements={"secretary": True, "mayor": True}
        )
    assert not requires("secretary")
    changed = security.set_mfa_requirements(
        actor=operator_staff,
        requirements={"secretary": True, "buyer": False, "org_admin": True},
    )
    assert changed == ["buyer", "secretary"]
    assert requires("secretary")
    assert not requires("buyer")
    assert requires("org_admin")
    assert [e.payload["role"] for e in mfa_events()] == ["buyer", "secretary"]


# --- The operator's security page ------------------------------------------------------


@pytest.fixture
def staff_client(client, operator_staff):
    return signed_in_as(client, operator_staff.user)


def test_the_page_shows_each_role_with_its_rule(staff_client):
    response = staff_client.get(SECURITY)
    assert response.status_code == 200
    form = response.context["requirement_form"]
    assert {code for code, _ in form.fields["required_roles"].choices} == set(
        Role.objects.values_list("code", flat=True)
    )
    assert sorted(form.initial["required_roles"]) == [
        "buyer",
        "commission_member",
        "evaluator",
        "legality_accountant",
        "legality_agent",
        "legality_sender",
        "org_admin",
    ]
    body = response.content.decode()
    assert "Operator staff: always required." in body
    assert f'href="{SECURITY}" aria-current="true"' in body


def test_saving_the_page_changes_the_rules_and_says_so(staff_client):
    response = staff_client.post(
        SECURITY,
        {
            "required_roles": [
                "org_admin",
                "commission_member",
                "evaluator",
                "signatory",
                "legality_accountant",
                "legality_agent",
                "legality_sender",
            ]
        },
    )
    assert response.status_code == 302
    assert response["Location"] == SECURITY
    assert requires("signatory")
    assert not requires("buyer")
    assert len(mfa_events()) == 2
    messages = [str(m) for m in staff_client.get(SECURITY).context["messages"]]
    assert messages == ["The requirements of 2 roles have been changed."]


def test_clearing_every_box_lifts_every_rule(staff_client):
    # A form whose boxes are all cleared posts nothing: it must still be saved.
    assert staff_client.post(SECURITY, {}).status_code == 302
    assert not Role.objects.filter(requires_mfa=True).exists()


def test_an_unknown_role_on_the_page_is_a_form_error(staff_client):
    response = staff_client.post(SECURITY, {"required_roles": ["org_admin", "mayor"]})
    assert response.status_code == 200
    errors_ = response.context["requirement_form"].errors.as_data()["required_roles"]
    assert [e.code for e in errors_] == ["invalid_choice"]
    assert requires("buyer")
    assert mfa_events() == []


def test_the_operator_unlocks_an_account_from_the_page(staff_client, operator_staff):
    AccessAttempt.objects.create(
        username="locked@example.org",
        ip_address="192.0.2.7",
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=5,
    )
    response = staff_client.post(
        reverse("backoffice:security_unlock_account"), {"email": "Locked@example.org"}
    )
    assert response.status_code == 302
    assert response["Location"] == SECURITY
    assert not AccessAttempt.objects.exists()
    with scopes_disabled():
        event = AuditEvent.objects.get(action="account.unlocked")
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"
    messages = [str(m) for m in staff_client.get(SECURITY).context["messages"]]
    assert messages == ["1 record of failed attempts has been cleared: sign-in is open again."]


def test_the_operator_unlocks_an_address_from_the_page(staff_client):
    for n in range(3):
        AccessAttempt.objects.create(
            username=f"person{n}@example.org",
            ip_address="192.0.2.7",
            user_agent="test",
            http_accept="*/*",
            path_info="/accounts/login/",
            get_data="",
            post_data="",
            failures_since_start=2,
        )
    response = staff_client.post(
        reverse("backoffice:security_unlock_address"), {"address": " 192.0.2.7 "}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="address.unlocked").count() == 1


@pytest.mark.parametrize(
    ("url_name", "data", "field", "code"),
    [
        (
            "backoffice:security_unlock_address",
            {"address": "10.0.0.300"},
            "address",
            AddressInvalid.code,
        ),
        ("backoffice:security_unlock_address", {"address": ""}, "address", "required"),
        ("backoffice:security_unlock_account", {"email": "not an address"}, "email", "invalid"),
    ],
)
def test_bad_unlock_input_gives_a_form_error_and_changes_nothing(
    staff_client, url_name, data, field, code
):
    AccessAttempt.objects.create(
        username="locked@example.org",
        ip_address="10.0.0.3",
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=5,
    )
    response = staff_client.post(reverse(url_name), data)
    assert response.status_code == 200
    form_name = "address_form" if field == "address" else "account_form"
    found = [e.code for e in response.context[form_name].errors.as_data()[field]]
    assert found == [code]
    assert AccessAttempt.objects.count() == 1
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action__endswith=".unlocked").exists()


def test_unlocking_refuses_get(staff_client):
    assert staff_client.get(reverse("backoffice:security_unlock_account")).status_code == 405


@pytest.mark.parametrize(
    "url_name",
    [
        "backoffice:security",
        "backoffice:security_unlock_account",
        "backoffice:security_unlock_address",
    ],
)
def test_an_agent_of_a_member_or_an_outsider_is_refused(client, agent_a, outsider, url_name):
    url = reverse(url_name)
    for user in (agent_a.user, outsider):
        signed_in_as(client, user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"required_roles": [], "email": "x@example.org"}).status_code == 404
    assert requires("buyer")
    assert mfa_events() == []


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(SECURITY)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_adding_and_removing_a_second_factor_is_audited(org_a):
    from allauth.mfa import signals as mfa_signals
    from allauth.mfa.models import Authenticator
    from django_scopes import scopes_disabled

    from mutualis.core import audit as core_audit
    from mutualis.core.models import AuditEvent
    from tests.factories.identity import make_member
    from tests.factories.mfa import give_authenticator_app

    user = make_member(org_a, "new.agent@example.org", roles=["secretary"]).user
    give_authenticator_app(user)
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    # allauth sends these once the change is committed.
    mfa_signals.authenticator_added.send(
        sender=Authenticator, request=None, user=user, authenticator=authenticator
    )
    mfa_signals.authenticator_removed.send(
        sender=Authenticator, request=None, user=user, authenticator=authenticator
    )
    with scopes_disabled():
        events = list(
            AuditEvent.objects.filter(
                chain=core_audit.PLATFORM_CHAIN, action__startswith="mfa.authenticator_"
            ).order_by("sequence")
        )
    assert [e.action for e in events] == ["mfa.authenticator_added", "mfa.authenticator_removed"]
    assert all(e.payload == {"type": "totp"} for e in events)
    assert all(e.actor == core_audit.subject_reference(user.audit_pseudonym) for e in events)
    assert core_audit.verify_all_chains().ok
