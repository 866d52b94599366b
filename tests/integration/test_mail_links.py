"""Links in e-mails point to MUTUALIS_SITE_URL, whatever host the request came through,
and with no request at all (a job)."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from mutualis.core.models import OutgoingEmail
from mutualis.identity import services
from tests.factories.core import org_url
from tests.factories.identity import PASSWORD
from tests.mailbox import delivered_html, delivered_text

pytestmark = pytest.mark.django_db

SITE = "https://mutualis.example.fr"
INTERNAL_HOST = "web-3.internal"
URL = re.compile(r"https?://[^\s\"<>]+")


@pytest.fixture(autouse=True)
def _public_address(settings):
    settings.MUTUALIS_SITE_URL = SITE
    # Requests reach the application through the proxy's internal name.
    settings.ALLOWED_HOSTS = [INTERNAL_HOST]


def links_to(email: str) -> list[str]:
    mails = OutgoingEmail.objects.filter(to=email)
    assert mails.exists(), f"no e-mail to {email}"
    return [link for m in mails for link in URL.findall(delivered_text(m) + delivered_html(m))]


def test_the_password_reset_link_uses_the_site_url(client):
    services.ensure_user(email="agent@example.org", password=PASSWORD)

    client.post(
        reverse("account_reset_password"), {"email": "agent@example.org"}, HTTP_HOST=INTERNAL_HOST
    )

    links = links_to("agent@example.org")
    assert any(link.startswith(SITE + "/accounts/password/reset/key/") for link in links), links
    assert all(link.startswith(SITE + "/") for link in links), links


def test_the_links_of_the_account_exists_mail_use_the_site_url(client):
    services.ensure_user(email="taken@example.org", password=PASSWORD)

    client.post(
        reverse("account_signup"),
        {"email": "taken@example.org", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST=INTERNAL_HOST,
    )

    links = links_to("taken@example.org")
    assert links == [SITE + reverse("account_reset_password")]


def test_a_job_without_a_request_writes_confirmation_links_to_the_site_url():
    user = services.ensure_user(email="late@example.org", password=PASSWORD)
    address = EmailAddress.objects.create(user=user, email="second@example.org", verified=False)

    # As a background job would: no request, no host to read.
    address.send_confirmation(None)

    mail = OutgoingEmail.objects.get(to="second@example.org")
    links = URL.findall(delivered_text(mail))
    assert any(link.startswith(SITE + "/accounts/confirm-email/") for link in links), links
    assert "mutualis.example.fr" in mail.body_text.replace(SITE, "")  # the site's domain


def test_an_invitation_sent_from_a_page_links_to_the_site_url(client, agent_a):
    client.force_login(agent_a.user)

    response = client.post(
        org_url("members:invite"),
        {"email": "new.agent@example.org", "roles": ["secretary"]},
        HTTP_HOST=INTERNAL_HOST,
    )

    assert response.status_code == 302
    # The same link in the text and the HTML part.
    [link] = set(links_to("new.agent@example.org"))
    assert link.startswith(SITE + "/invitations/")
