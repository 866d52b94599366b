"""Brute-force lock-out on allauth's login form, per account and per source address."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.core.network import client_address
from mutualis.identity import lockout
from mutualis.identity.services import ensure_user
from tests.factories.identity import PASSWORD

LOGIN_URL = "/accounts/login/"
EMAIL = "marc.petit@example.org"
HOME = "10.0.0.1"
ELSEWHERE = "192.0.2.7"
ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = ACCOUNT_LIMIT
    settings.MUTUALIS_LOGIN_FAILURE_LIMIT_PER_ADDRESS = ADDRESS_LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.MUTUALIS_TRUSTED_PROXY_COUNT = 0
    # allauth's own rate-limit counters live in the cache, shared by the whole run.
    cache.clear()


@pytest.fixture
def person(db):
    return ensure_user(email=EMAIL, password=PASSWORD)


def attempt(client, email=EMAIL, password=PASSWORD, address=HOME):
    client.logout()
    return client.post(
        LOGIN_URL,
        {"login": email, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_locked_out(response):
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    body = response.content.decode()
    assert "Sign-in paused after too many failed attempts" in body
    assert "You can try again in 15 minutes" in body


def lock(client, email=EMAIL, address=HOME):
    for _ in range(ACCOUNT_LIMIT - 1):
        assert attempt(client, email, "wrong password", address).status_code == 200
    assert_locked_out(attempt(client, email, "wrong password", address))


def test_the_right_password_signs_in(client, person):
    response = attempt(client)
    assert response.status_code == 302
    assert signed_in(client)


def test_wrong_passwords_lock_the_account_even_for_the_right_password(client, person):
    lock(client)
    response = attempt(client)
    assert_locked_out(response)
    assert not signed_in(client)


def test_the_locked_account_is_locked_from_another_address_too(client, person):
    lock(client, address=HOME)
    assert_locked_out(attempt(client, address=ELSEWHERE))
    assert not signed_in(client)


def test_changing_the_case_of_the_address_does_not_restart_the_count(client, person):
    attempt(client, EMAIL.upper(), "wrong password")
    attempt(client, "Marc.Petit@Example.org", "wrong password")
    assert_locked_out(attempt(client, EMAIL, "wrong password"))
    assert AccessAttempt.objects.get().username == EMAIL


def test_an_unknown_account_is_locked_like_a_real_one(client, person):
    """The page must not tell an attacker which addresses have an account."""
    lock(client, email="nobody@example.org")
    assert attempt(client).status_code == 302  # the real account is untouched


def test_an_address_failing_on_many_accounts_is_locked_for_every_account(client, person):
    """Given failures on several accounts from one address, none reaching the account
    limit, when they reach the address limit, then that address is locked for everyone
    (the right password included) while other addresses are not."""
    failures = ["a@example.org", "a@example.org", "b@example.org", "b@example.org"]
    failures += ["c@example.org"]
    assert len(failures) == ADDRESS_LIMIT
    responses = [attempt(client, email, "wrong password") for email in failures]
    assert [r.status_code for r in responses[:-1]] == [200] * (ADDRESS_LIMIT - 1)
    assert_locked_out(responses[-1])

    assert_locked_out(attempt(client, address=HOME))
    response = attempt(client, address=ELSEWHERE)
    assert response.status_code == 302
    assert signed_in(client)


def test_the_lock_ends_after_the_cool_off(client, person):
    lock(client)
    # Sixteen minutes later.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = attempt(client)
    assert response.status_code == 302
    assert signed_in(client)


def test_attempts_during_the_lock_do_not_extend_it(client, person):
    lock(client)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert_locked_out(attempt(client, password="wrong again"))
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert attempt(client).status_code == 302


def test_the_operator_unlocks_an_account_and_the_trail_says_so(client, person, operator_staff):
    lock(client)
    cleared = lockout.unlock_account(actor=operator_staff, email=" Marc.Petit@example.org ")
    assert cleared == 1
    with scopes_disabled():
        event = AuditEvent.objects.get(action="account.unlocked")
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"
    assert (event.object_type, event.object_id) == ("identity.user", str(person.pk))
    assert event.payload == {"attempts_cleared": 1}
    assert attempt(client).status_code == 302


def test_only_operator_staff_may_unlock(client, person, agent_a):
    lock(client)
    with pytest.raises(PermissionDenied):
        lockout.unlock_account(actor=agent_a, email=EMAIL)
    assert_locked_out(attempt(client))
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="account.unlocked").exists()


def test_the_command_unlocks_an_address(client, person):
    for email in ["a@example.org", "b@example.org", "c@example.org", "d@example.org"]:
        attempt(client, email, "wrong password")
    assert_locked_out(attempt(client, "e@example.org", "wrong password"))
    out = StringIO()
    call_command("unlock_account", "--address", HOME, stdout=out)
    assert "unlocked (5 records cleared)" in out.getvalue()
    assert attempt(client).status_code == 302
    with scopes_disabled():
        event = AuditEvent.objects.get(action="address.unlocked")
    assert event.actor == "system:command:unlock_account"
    assert HOME not in str(event.payload)


def test_the_command_refuses_a_bad_address(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="valid IP address"):
        call_command("unlock_account", "--address", "not-an-address")


def test_forced_logins_of_the_tests_are_unaffected(client, person):
    lock(client)
    client.force_login(person)
    assert signed_in(client)


def test_the_source_address_comes_from_the_trusted_proxies_only(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
    )
    assert client_address(request) == "10.9.9.9"
    settings.MUTUALIS_TRUSTED_PROXY_COUNT = 1
    # The client may prepend anything; the proxy appended the address it saw.
    assert client_address(request) == "203.0.113.5"
    settings.MUTUALIS_TRUSTED_PROXY_COUNT = 3
    assert client_address(request) == "10.9.9.9"
