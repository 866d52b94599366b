"""Who reaches the back office: operator staff only; members' agents get 404, anonymous
people the login page, and a POST without a CSRF token is refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core.models import OutgoingEmail, Service, Subscription
from mutualis.identity.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(org_a, agent_a, operator_staff):
    """One object of each kind the back-office URLs name."""
    email = OutgoingEmail.objects.create(
        to="someone@example.org", subject="Hello", body_text="Hi", status="failed"
    )
    with scopes_disabled():
        Subscription.objects.create(
            organisation=org_a, service=Service.objects.get(code="procurement"), since="2025-01-01"
        )
    return {"org": org_a, "membership": agent_a, "user": agent_a.user, "email": email}


def urls(objects) -> dict[str, list[str]]:
    """Every back-office URL, by the methods it answers."""
    org, membership, email = objects["org"], objects["membership"], objects["email"]
    get = [
        reverse("backoffice:dashboard"),
        reverse("backoffice:organisation_list"),
        reverse("backoffice:organisation_create"),
        reverse("backoffice:organisation_detail", args=[org.pk]),
        reverse("backoffice:organisation_edit", args=[org.pk]),
        reverse("backoffice:membership_add", args=[org.pk]),
        reverse("backoffice:membership_invite", args=[org.pk]),
        reverse("backoffice:user_list"),
        reverse("backoffice:user_detail", args=[objects["user"].pk]),
        reverse("backoffice:membership_detail", args=[membership.pk]),
        reverse("backoffice:audit_list"),
        reverse("backoffice:email_list"),
        reverse("backoffice:email_detail", args=[email.pk]),
    ]
    post = [
        reverse("backoffice:organisation_create"),
        reverse("backoffice:organisation_edit", args=[org.pk]),
        reverse("backoffice:membership_add", args=[org.pk]),
        reverse("backoffice:membership_invite", args=[org.pk]),
        reverse("backoffice:membership_detail", args=[membership.pk]),
        reverse("backoffice:subscription_subscribe", args=[org.pk, "signature"]),
        reverse("backoffice:subscription_suspend", args=[org.pk, "procurement"]),
        reverse("backoffice:subscription_resume", args=[org.pk, "procurement"]),
        reverse("backoffice:membership_deactivate", args=[membership.pk]),
        reverse("backoffice:membership_reactivate", args=[membership.pk]),
        reverse("backoffice:audit_verify"),
        reverse("backoffice:email_retry", args=[email.pk]),
    ]
    return {"get": get, "post": post}


def test_every_page_opens_for_operator_staff(client, objects, operator_staff):
    client.force_login(operator_staff.user)
    for url in urls(objects)["get"]:
        response = client.get(url)
        assert response.status_code == 200, url


def test_an_agent_of_a_member_is_refused_everywhere(client, objects, agent_a):
    """Given an org_admin of a member, every URL answers 404 and nothing changes."""
    client.force_login(agent_a.user)
    for url in urls(objects)["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls(objects)["post"]:
        response = client.post(url, {"roles": ["org_admin"], "email": "x@example.org"})
        assert response.status_code == 404, url
    objects["email"].refresh_from_db()
    assert objects["email"].status == "failed"
    with scopes_disabled():
        assert Membership.objects.get(pk=agent_a.pk).is_active


def test_a_person_without_membership_is_refused(client, objects, outsider):
    client.force_login(outsider)
    for url in urls(objects)["get"]:
        assert client.get(url).status_code == 404, url


def test_anonymous_people_are_sent_to_the_login_page(client, objects):
    login = reverse("account_login")
    for method, url_list in urls(objects).items():
        for url in url_list:
            response = getattr(client, method)(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(login), url


def test_staff_who_also_belong_to_a_member_act_for_each_at_its_address(
    client, objects, operator_staff, org_a
):
    """Operator staff who are also agents of a member act as operator staff in the back
    office and as the member's agent under the member's address, never the other way."""
    from tests.factories.core import org_url
    from tests.factories.identity import make_member

    other = make_member(org_a, operator_staff.user.email, roles=["org_admin"])
    client.force_login(operator_staff.user)
    backoffice = client.get(reverse("backoffice:dashboard"))
    assert backoffice.status_code == 200
    assert backoffice.wsgi_request.membership == operator_staff
    member_page = client.get(org_url("organisation:audit"))
    assert member_page.status_code == 200
    assert member_page.wsgi_request.membership == other


def test_a_post_without_csrf_token_is_refused(objects, operator_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_staff.user)
    response = client.post(reverse("backoffice:email_retry", args=[objects["email"].pk]))
    assert response.status_code == 403
    objects["email"].refresh_from_db()
    assert objects["email"].status == "failed"


def test_a_post_with_the_csrf_token_goes_through(objects, operator_staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_staff.user)
    page = client.get(reverse("backoffice:email_detail", args=[objects["email"].pk]))
    token = page.context["csrf_token"]
    response = client.post(
        reverse("backoffice:email_retry", args=[objects["email"].pk]),
        {"csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
