"""The page layout (base.html): landmarks, menu, organisation and language switchers."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from mutualis.core.models import Subscription
from tests.factories.core import org_url
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
def test_an_organisation_page_lists_its_services(client, agent_a, in_scope_of):
    """A subscribed service no context provides yet is listed as not available, unlinked."""
    with in_scope_of(agent_a.organisation):
        Subscription.objects.create(
            organisation=agent_a.organisation, service_id="signature", since=date(2025, 1, 1)
        )
    client.force_login(agent_a.user)

    html = client.get(org_url("organisation:home")).content.decode()

    assert_accessible_skeleton(html)
    assert "Commune A" in html
    assert "Parapheur électronique" in html
    assert "not available yet on this platform" in html
    assert org_url("organisation:service_home", code="signature") not in html


@pytest.mark.django_db
def test_audit_trail_in_the_menu_of_organisation_admins_only(client, org_a, agent_a):
    buyer = make_member(org_a, "buyer@example.org", roles=["buyer"])
    audit_link = f'href="{org_url("organisation:audit")}"'
    page = org_url("organisation:home")

    client.force_login(agent_a.user)
    assert audit_link in client.get(page).content.decode()
    client.force_login(buyer.user)
    assert audit_link not in client.get(page).content.decode()


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
    assert 'class="dropdown spaces"' not in html
    assert "Audit trail" not in html


@pytest.mark.django_db
def test_person_in_two_organisations_navigates_between_their_addresses(
    client, org_a, org_b, agent_a
):
    """The switcher is a list of links: switching is navigating, nothing is stored."""
    make_member(org_b, agent_a.user.email, roles=["buyer"])
    client.force_login(agent_a.user)

    html = client.get(org_url("organisation:home")).content.decode()
    assert "Acting for Commune A" in html
    assert f'<a href="{org_url("organisation:home")}" aria-current="true">Commune A</a>' in html
    assert f'<a href="{org_url("organisation:home", org="commune-b")}">Commune B</a>' in html

    html = client.get(org_url("organisation:home", org="commune-b")).content.decode()
    assert "Acting for Commune B" in html
    # The first tab still acts for Commune A.
    assert client.get(org_url("organisation:audit")).wsgi_request.membership == agent_a


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
