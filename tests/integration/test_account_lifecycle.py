"""allauth's account pages, wired to the platform: the e-mails go through the outbox."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.test import RequestFactory

from mutualis.core.models import OutgoingEmail
from mutualis.identity import services as identity
from tests.factories.identity import PASSWORD
from tests.mailbox import delivered_text

NEW_PASSWORD = "a brand new passphrase 2026"


def _link_in_last_email(to: str) -> str:
    email = OutgoingEmail.objects.filter(to=to).order_by("-pk").first()
    assert email is not None, f"no e-mail to {to} in the outbox"
    return re.search(r"https?://\S+", delivered_text(email)).group(0)


@pytest.fixture
def citizen(db):
    return identity.ensure_user(email="citizen@example.org", password=PASSWORD)


@pytest.mark.django_db
def test_password_reset_by_an_emailed_link(client, citizen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": citizen.email})
    assert response.status_code == 302
    link = _link_in_last_email(citizen.email)

    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302

    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, email=citizen.email, password=NEW_PASSWORD) == citizen
    assert authenticate(request, email=citizen.email, password=PASSWORD) is None


@pytest.mark.django_db
def test_a_new_email_address_needs_its_own_verification(
    client, citizen, django_capture_on_commit_callbacks
):
    client.force_login(citizen)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/email/", {"action_add": "", "email": "new@example.org"})
    assert response.status_code == 302
    added = EmailAddress.objects.get(email="new@example.org")
    assert not added.verified
    link = _link_in_last_email("new@example.org")

    client.post(link)
    added.refresh_from_db()
    assert added.verified


@pytest.mark.django_db
def test_password_change_keeps_the_person_signed_in(client, citizen):
    client.force_login(citizen)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.check_password(NEW_PASSWORD)
    assert client.get("/accounts/email/").status_code == 200
