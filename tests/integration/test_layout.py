"""The page layout (base.html): landmarks, menu, organisation and language switchers."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from mutualis.core.models import Service, Subscription
from tests.factories.identity import make_member

HOME = reverse("core:home")


def assert_accessible_skeleton(html: str) -> None:
    assert re.search(r'<html lang="(fr|en)">', html)
    assert html.count("<h1") == 1
    assert re.search(r"<title>\s*\S.* · Mutualis</title>", html, re.S)
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert "<header" in html
    assert "<footer" in html
    assert '<div class="messages" role="status" aria-live="polite">' in html
    # Styles come from the platform itself: no CDN.
    assert '<link rel="stylesheet" href="/static/vendor/pico/pico.min.css">' in html
    assert '<link rel="stylesheet" href="/static/mutualis/site.css">' in html
    loaded = re.findall(r'<(?:link|script|img)[^>]+(?:src|href)="([^"]+)"', html)
    assert all(url.startswith("/") for url in loaded), loaded


@pytest.mark.django_db
def test_home_for_a_visitor(client, settings):
    settings.LANGUAGE_CODE = "fr"  # the platform's default language
    html = client.get(HOME).content.decode()

    assert_accessible_skeleton(html)
    assert '<html lang="fr">' in html
    assert f'href="{reverse("account_login")}"' in html
    assert f'href="{reverse("directory:list")}"' in html
    assert "Log out" not in html
    assert "Audit trail" not in html


@pytest.mark.django_db
def test_home_lists_the_services_of_the_current_organisation(client, agent_a, in_scope_of):
    with in_scope_of(agent_a.organisation):
        Subscription.objects.create(
            organisation=agent_a.organisation, service_id="procurement", since=date(2025, 1, 1)
        )
    client.force_login(agent_a.user)

    html = client.get(HOME).content.decode()

    assert_accessible_skeleton(html)
    assert f'href="{reverse("core:service_home", args=["procurement"])}"' in html
    assert "Commune A" in html


@pytest.mark.django_db
def test_audit_trail_in_the_menu_of_organisation_admins_only(client, org_a, agent_a):
    buyer = make_member(org_a, "buyer@example.org", roles=["buyer"])
    audit_link = f'href="{reverse("core:organisation_audit")}"'

    client.force_login(agent_a.user)
    assert audit_link in client.get(HOME).content.decode()
    client.force_login(buyer.user)
    assert audit_link not in client.get(HOME).content.decode()


@pytest.mark.django_db
def test_back_office_in_the_menu_of_operator_staff_only(client, agent_a, operator_staff):
    back_office = f'href="{reverse("backoffice:dashboard")}"'

    client.force_login(agent_a.user)
    assert back_office not in client.get(HOME).content.decode()
    client.force_login(operator_staff.user)
    assert back_office in client.get(HOME).content.decode()


@pytest.mark.django_db
def test_outsider_sees_no_organisation_menu(client, outsider):
    client.force_login(outsider)
    html = client.get(HOME).content.decode()
    assert "Log out" in html
    assert "membership-switch" not in html
    assert "Audit trail" not in html


def test_menu_shows_the_subscribed_services_given_by_the_context():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    services = [Service(code="procurement", name="Procurement")]

    html = render_to_string("base.html", {"subscribed_services": services}, request=request)

    assert f'<a href="{reverse("core:service_home", args=["procurement"])}">Procurement</a>' in (
        html
    )


@pytest.mark.django_db
def test_person_in_two_organisations_switches_with_a_labelled_select(client, org_a, org_b, agent_a):
    second = make_member(org_b, agent_a.user.email, roles=["buyer"])
    client.force_login(agent_a.user)

    html = client.get(reverse("directory:list")).content.decode()
    assert '<label for="membership-switch">' in html
    assert '<select id="membership-switch" name="membership">' in html
    assert f'<input type="hidden" name="next" value="{reverse("directory:list")}">' in html

    response = client.post(
        reverse("core:switch_organisation"), {"membership": second.pk, "next": HOME}, follow=True
    )

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == HOME
    messages = re.search(
        r'<div class="messages" role="status" aria-live="polite">(.*?)</div>', html, re.S
    ).group(1)
    assert "Commune B" in messages
    assert re.search(rf'<option value="{second.pk}" selected>Commune B</option>', html)


@pytest.mark.django_db
def test_language_switcher_turns_the_page_english(client, settings):
    settings.LANGUAGE_CODE = "fr"  # the platform's default language
    html = client.get(HOME).content.decode()
    assert 'name="language" value="en" lang="en"' in html

    response = client.post(reverse("set_language"), {"language": "en", "next": HOME}, follow=True)

    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Shared digital services of the territory" in html
    assert 'name="language" value="fr" lang="fr"' in html


@pytest.mark.django_db
def test_sign_in_page_wears_the_platform_layout(client):
    response = client.get(reverse("account_login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert_accessible_skeleton(html)
    assert '<nav class="site-nav"' in html
    assert 'id="passkey_login"' in html  # allauth's extra_body scripts still come


@pytest.mark.django_db
def test_account_pages_show_the_account_menu(client, agent_a):
    client.force_login(agent_a.user)
    html = client.get(reverse("account_change_password")).content.decode()
    assert_accessible_skeleton(html)
    assert 'aria-label="My account"' in html or "account-nav" in html
    assert f'href="{reverse("mfa_index")}"' in html
