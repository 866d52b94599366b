"""The second-factor step is limited like the password: wrong codes (authenticator app,
recovery codes) and wrong passkey assertions count toward the lock-out of the account and
of the address, each is audited, and the step refuses even the right one while locked."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.identity import lockout
from mutualis.identity.services import ensure_user
from tests.factories.identity import PASSWORD, make_member
from tests.factories.mfa import give_authenticator_app, totp_code
from tests.factories.webauthn import SoftwareKey

pytestmark = pytest.mark.django_db

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5
HOME = "10.0.0.1"
ELSEWHERE = "192.0.2.7"
AUTHENTICATE = reverse("mfa_authenticate")


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = ACCOUNT_LIMIT
    settings.MUTUALIS_LOGIN_FAILURE_LIMIT_PER_ADDRESS = ADDRESS_LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.MUTUALIS_TRUSTED_PROXY_COUNT = 0
    # The test client's origin is plain http://testserver.
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    cache.clear()


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.defaults["REMOTE_ADDR"] = HOME
    return client


def admin(org, email="admin@example.org"):
    user = ensure_user(email=email, password=PASSWORD)
    make_member(org, email, roles=["org_admin"])
    return user


@pytest.fixture
def app_user(org_a):
    user = admin(org_a)
    give_authenticator_app(user)
    return user


@pytest.fixture
def key_user(org_a):
    user = admin(org_a)
    key = SoftwareKey()
    key.register(user)
    return user, key


def password_step(client, user, **extra):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}, **extra
    )
    assert response.status_code == 302
    assert response["Location"] == AUTHENTICATE


def code_step(client, code, **extra):
    return client.post(AUTHENTICATE, {"code": code}, **extra)


def passkey_step(client, credential):
    return client.post(AUTHENTICATE, {"credential": credential})


def wrong_code() -> str:
    wrong = pyotp.TOTP(pyotp.random_base32()).now()
    return wrong if wrong != totp_code() else "000000"


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_locked_out(response):
    assert response.status_code == 429
    assert "Sign-in paused after too many failed attempts" in response.content.decode()


def failure_events() -> list[AuditEvent]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(action="mfa.authentication_failed").order_by("sequence")
        )


def unused_recovery_codes(user) -> list[str]:
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return recovery.wrap().get_unused_codes()


# --- Authenticator app ------------------------------------------------------------------


def test_wrong_codes_lock_the_account_and_then_the_right_code_is_refused(client, app_user):
    """Given the right password, when wrong codes reach the account's limit, then the
    step answers the lock-out page (429), and the right code is refused too."""
    password_step(client, app_user)
    for _ in range(ACCOUNT_LIMIT - 1):
        response = code_step(client, wrong_code())
        assert response.status_code == 200
        assert response.context["form"].errors.as_data()["code"][0].code == "incorrect_code"
    assert_locked_out(code_step(client, wrong_code()))

    assert_locked_out(code_step(client, totp_code()))
    assert not signed_in(client)
    # The password step is refused as well: one lock-out for both steps.
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": app_user.email, "password": PASSWORD}
    )
    assert_locked_out(response)


def test_each_failure_is_audited_on_the_platform_chain_as_the_person(client, app_user):
    password_step(client, app_user)
    for _ in range(ACCOUNT_LIMIT):
        code_step(client, wrong_code())
    # Refused attempts while locked are not counted again (an attacker could not fill
    # the trail through a locked account).
    code_step(client, totp_code())

    events = failure_events()
    assert len(events) == ACCOUNT_LIMIT
    assert all(e.chain == audit.PLATFORM_CHAIN for e in events)
    assert all(e.actor == audit.subject_reference(app_user.audit_pseudonym) for e in events)
    assert [e.payload for e in events] == [
        {"method": "code", "reauthentication": False, "locked_out": False},
        {"method": "code", "reauthentication": False, "locked_out": False},
        {"method": "code", "reauthentication": False, "locked_out": True},
    ]
    with scopes_disabled():
        assert events[0].context.source_address == HOME
    assert audit.verify_all_chains().ok


def test_a_wrong_password_and_wrong_codes_share_the_count(client, app_user):
    response = client.post(
        reverse("account_login"), {"login": app_user.email, "password": "wrong password"}
    )
    assert response.status_code == 200
    password_step(client, app_user)
    code_step(client, wrong_code())
    assert_locked_out(code_step(client, wrong_code()))
    assert AccessAttempt.objects.get().failures_since_start == ACCOUNT_LIMIT
    assert AccessAttempt.objects.get().username == app_user.email


def test_the_codes_tried_are_not_kept_in_the_lockout_records(client, app_user):
    password_step(client, app_user)
    code_step(client, "123456")
    assert "123456" not in AccessAttempt.objects.get().post_data


def test_the_right_code_still_works_below_the_limit(client, app_user):
    password_step(client, app_user)
    for _ in range(ACCOUNT_LIMIT - 1):
        code_step(client, wrong_code())
    response = code_step(client, totp_code())
    assert response.status_code == 302
    assert signed_in(client)


def test_an_empty_submission_is_not_counted(client, app_user):
    password_step(client, app_user)
    for _ in range(ACCOUNT_LIMIT + 1):
        assert code_step(client, "").status_code == 200
    assert not AccessAttempt.objects.exists()
    assert failure_events() == []


def test_the_step_opens_again_after_the_cool_off(client, app_user):
    password_step(client, app_user)
    for _ in range(ACCOUNT_LIMIT):
        code_step(client, wrong_code())
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert code_step(client, totp_code()).status_code == 302
    assert signed_in(client)


def test_the_operator_lifts_the_lock_and_the_right_code_goes_through(
    client, app_user, operator_staff
):
    password_step(client, app_user)
    for _ in range(ACCOUNT_LIMIT):
        code_step(client, wrong_code())
    lockout.unlock_account(actor=operator_staff, email=app_user.email)
    assert code_step(client, totp_code()).status_code == 302


def test_codes_tried_across_accounts_lock_the_address(client, org_a, org_b):
    """Given several accounts whose passwords are known, from one address, none reaching
    its own limit, when their wrong codes reach the address's limit, then that address
    is locked for every account, while the same account from elsewhere is not."""
    users = [admin(org_a, "un@example.org"), admin(org_a, "deux@example.org")]
    users.append(admin(org_b, "trois@example.org"))
    for user in users:
        give_authenticator_app(user)
    tries = [users[0], users[0], users[1], users[1], users[2]]
    assert len(tries) == ADDRESS_LIMIT
    for number, user in enumerate(tries, start=1):
        client.logout()
        password_step(client, user)
        response = code_step(client, wrong_code())
        if number < ADDRESS_LIMIT:
            assert response.status_code == 200
    assert_locked_out(response)
    # The last account's right code is refused from this address …
    assert_locked_out(code_step(client, totp_code()))
    # … and accepted from another one.
    elsewhere = client.__class__(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ELSEWHERE)
    password_step(elsewhere, users[2])
    assert code_step(elsewhere, totp_code()).status_code == 302


# --- Recovery codes ---------------------------------------------------------------------


def test_wrong_recovery_codes_count_and_the_right_one_is_refused_and_kept(client, app_user):
    code = unused_recovery_codes(app_user)[0]
    password_step(client, app_user)
    for _ in range(ACCOUNT_LIMIT - 1):
        assert code_step(client, "12345678").status_code == 200
    assert_locked_out(code_step(client, "87654321"))

    assert_locked_out(code_step(client, code))
    assert not signed_in(client)
    # Refused before allauth looked at it: the code can still be used once the lock ends.
    assert code in unused_recovery_codes(app_user)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert code_step(client, code).status_code == 302
    assert code not in unused_recovery_codes(app_user)


# --- Passkeys ---------------------------------------------------------------------------


def test_the_software_key_signs_in_with_the_right_assertion(client, key_user):
    user, key = key_user
    password_step(client, user)
    assert client.get(AUTHENTICATE).status_code == 200  # the challenge
    response = passkey_step(client, key.assertion(client))
    assert response.status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize(
    "credential",
    [
        "not json",
        "{}",
        '{"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}',
    ],
    ids=["not-json", "empty", "no-signature"],
)
def test_failed_passkey_assertions_count_and_lock(client, key_user, credential):
    user, _key = key_user
    password_step(client, user)
    client.get(AUTHENTICATE)
    for _ in range(ACCOUNT_LIMIT - 1):
        assert passkey_step(client, credential).status_code == 200
    assert_locked_out(passkey_step(client, credential))
    assert [e.payload["method"] for e in failure_events()] == ["passkey"] * ACCOUNT_LIMIT


def test_an_assertion_by_another_key_counts_and_the_right_one_is_refused_while_locked(
    client, key_user
):
    user, key = key_user
    stranger = SoftwareKey()
    password_step(client, user)
    for _ in range(ACCOUNT_LIMIT):
        client.get(AUTHENTICATE)
        response = passkey_step(client, stranger.assertion(client))
    assert_locked_out(response)

    client.get(AUTHENTICATE)
    assert_locked_out(passkey_step(client, key.assertion(client)))
    assert not signed_in(client)


# --- Re-authentication of a signed-in person -------------------------------------------


def test_wrong_codes_when_confirming_an_action_count_too(client, app_user):
    client.force_login(app_user)
    url = reverse("mfa_reauthenticate")
    for _ in range(ACCOUNT_LIMIT - 1):
        assert client.post(url, {"code": wrong_code()}).status_code == 200
    assert_locked_out(client.post(url, {"code": wrong_code()}))
    assert_locked_out(client.post(url, {"code": totp_code()}))
    assert failure_events()[-1].payload == {
        "method": "code",
        "reauthentication": True,
        "locked_out": True,
    }
