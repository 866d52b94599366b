"""Sessions end: after their maximum lifetime for everyone, after an idle time for people
holding a privileged standing; signed-in responses are kept by no cache."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.identity import sessions
from mutualis.identity.services import ensure_user
from tests.factories.core import org_url
from tests.factories.identity import PASSWORD, make_member
from tests.factories.mfa import give_authenticator_app

pytestmark = pytest.mark.django_db

HOME = reverse("core:home")
LOGIN = reverse("account_login")
MINUTE = 60
HOUR = 3600


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.MUTUALIS_SESSION_MAX_HOURS = 12
    settings.MUTUALIS_PRIVILEGED_IDLE_MINUTES = 30
    settings.MUTUALIS_PRIVILEGED_ROLES = ["org_admin", "buyer", "commission_member"]


class Clock:
    def __init__(self) -> None:
        self.at = 1_800_000_000.0

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sessions, "now", clock)
    return clock


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def secretary(org_a):
    user = ensure_user(email="secretaire@example.org", password=PASSWORD)
    return make_member(org_a, user.email, roles=["secretary"]).user


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def expired_events() -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action="session.expired").order_by("sequence"))


def assert_sent_to_login(response, path):
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={path}"


# --- Idle time of privileged people ----------------------------------------------------


@pytest.mark.parametrize("role", ["org_admin", "buyer", "commission_member"])
def test_a_privileged_role_is_logged_out_after_the_idle_time(client, clock, org_a, role):
    """Given an agent holding a privileged role, signed in, when 31 minutes pass without
    a request, then the next page logs them out and leads to the login page, which says
    why; the trail records it."""
    user = make_member(org_a, f"{role}@example.org", roles=[role]).user
    give_authenticator_app(user)
    client.force_login(user)
    page = org_url("organisation:home")
    assert client.get(page).status_code == 200

    clock.advance(31 * MINUTE)
    response = client.get(page)
    assert_sent_to_login(response, page)
    assert not signed_in(client)
    body = client.get(response["Location"]).content.decode()
    assert "your session ended after a period without activity" in body

    [event] = expired_events()
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.payload == {"reason": "idle"}
    assert event.actor == audit.subject_reference(user.audit_pseudonym)


def test_operator_staff_are_logged_out_after_the_idle_time_even_without_a_role(
    client, clock, operator_org
):
    user = make_member(operator_org, "staff.noroles@example.org", roles=[]).user
    give_authenticator_app(user)
    client.force_login(user)
    clock.advance(31 * MINUTE)
    assert_sent_to_login(client.get(HOME), HOME)


def test_activity_keeps_a_privileged_session_open(client, clock, agent_a):
    client.force_login(agent_a.user)
    for _ in range(8):  # two hours, a page every quarter of an hour
        clock.advance(15 * MINUTE)
        assert client.get(HOME).status_code == 200
    assert signed_in(client)
    assert expired_events() == []


def test_other_people_are_not_logged_out_for_idleness(client, clock, secretary, outsider):
    for user in (secretary, outsider):
        client.force_login(user)
        clock.advance(3 * HOUR)
        assert client.get(HOME).status_code == 200
        assert signed_in(client)


def test_the_idle_time_and_the_roles_are_settings(client, clock, settings, secretary):
    settings.MUTUALIS_PRIVILEGED_IDLE_MINUTES = 5
    settings.MUTUALIS_PRIVILEGED_ROLES = ["secretary"]
    client.force_login(secretary)
    clock.advance(4 * MINUTE)
    assert client.get(HOME).status_code == 200
    clock.advance(6 * MINUTE)
    assert_sent_to_login(client.get(HOME), HOME)


def test_a_role_lost_during_the_session_no_longer_counts(client, clock, org_a):
    member = make_member(org_a, "ex.acheteur@example.org", roles=["buyer", "secretary"])
    give_authenticator_app(member.user)
    client.force_login(member.user)
    with scopes_disabled():
        member.roles.remove("buyer")
    clock.advance(31 * MINUTE)
    assert client.get(HOME).status_code == 200


# --- Maximum lifetime ------------------------------------------------------------------


def test_every_session_ends_after_its_lifetime_however_active(client, clock, secretary):
    client.force_login(secretary)
    for _ in range(12):
        clock.advance(HOUR)
        assert client.get(HOME).status_code == 200
    clock.advance(2 * MINUTE)
    response = client.get(HOME)
    assert_sent_to_login(response, HOME)
    assert "your session reached its maximum duration" in (
        client.get(response["Location"]).content.decode()
    )
    assert [e.payload for e in expired_events()] == [{"reason": "lifetime"}]


def test_the_lifetime_is_a_setting_and_bounds_the_cookie(client, clock, settings, secretary):
    assert settings.SESSION_COOKIE_AGE == 12 * HOUR  # not Django's fourteen days
    settings.MUTUALIS_SESSION_MAX_HOURS = 1
    client.force_login(secretary)
    clock.advance(HOUR + MINUTE)
    assert_sent_to_login(client.get(HOME), HOME)


def test_a_login_through_the_form_starts_the_clock(client, clock, secretary):
    response = client.post(LOGIN, {"login": secretary.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session[sessions.STARTED_KEY] == int(clock.at)
    clock.advance(13 * HOUR)
    assert_sent_to_login(client.get(HOME), HOME)


def test_a_session_from_before_the_rules_starts_its_clock_at_its_next_request(
    client, clock, secretary
):
    client.force_login(secretary)
    session = client.session
    del session[sessions.STARTED_KEY]
    del session[sessions.SEEN_KEY]
    session.save()
    assert client.get(HOME).status_code == 200
    assert client.session[sessions.STARTED_KEY] == int(clock.at)


def test_the_idle_clock_is_written_at_most_once_a_minute(client, clock, agent_a):
    client.force_login(agent_a.user)
    start = client.session[sessions.SEEN_KEY]
    clock.advance(30)
    client.get(HOME)
    assert client.session[sessions.SEEN_KEY] == start
    clock.advance(40)
    client.get(HOME)
    assert client.session[sessions.SEEN_KEY] == start + 70


# --- Nothing kept by caches ------------------------------------------------------------


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


def test_signed_in_pages_are_private_and_not_stored(client, agent_a):
    client.force_login(agent_a.user)
    for url in (HOME, org_url("organisation:home"), reverse("directory:list")):
        response = client.get(url)
        assert response.status_code == 200
        assert {"private", "no-store"} <= cache_directives(response)


def test_the_login_response_and_the_redirects_are_not_stored_either(client, secretary):
    response = client.post(LOGIN, {"login": secretary.email, "password": PASSWORD})
    assert {"private", "no-store"} <= cache_directives(response)
    response = client.get(reverse("backoffice:dashboard"))  # 404 for non-staff
    assert response.status_code == 404
    assert {"private", "no-store"} <= cache_directives(response)


def test_anonymous_public_pages_keep_their_own_caching(client):
    response = client.get(reverse("directory:list"))
    assert response.status_code == 200
    assert "no-store" not in cache_directives(response)


def test_a_response_that_declared_itself_public_stays_public():
    """A member's logo is public and carries nothing personal: shared caches may keep it
    even when a signed-in person asked for it."""
    public = HttpResponse()
    public["Cache-Control"] = "public, max-age=86400"
    assert sessions.SessionLifetimeMiddleware._private(public)["Cache-Control"] == (
        "public, max-age=86400"
    )
    private = sessions.SessionLifetimeMiddleware._private(HttpResponse())
    assert cache_directives(private) == {"private", "no-store"}


def test_the_middleware_leaves_anonymous_requests_alone():
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get(HOME)
    request.user = AnonymousUser()
    middleware = sessions.SessionLifetimeMiddleware(lambda r: HttpResponse("ok"))
    assert "Cache-Control" not in middleware(request)
