"""Single-use links reach their recipient and never the outbox (issue 12, Trust II):
password resets, address confirmations, invitations to an organisation or a company."""

from __future__ import annotations

import re

import pytest
from django.core import mail as django_mail
from django.urls import reverse
from django.utils import timezone

from mutualis.companies import services as company_services
from mutualis.core import errors, mail
from mutualis.core.models import OutgoingEmail
from mutualis.core.services import emails as email_services
from mutualis.identity import invitations
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.identity import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _whole_outbox() -> str:
    """Every stored column of every outgoing e-mail, as a backup would hold them."""
    return " ".join(str(row) for row in OutgoingEmail.objects.values())


def _received(to: str) -> str:
    [message] = [m for m in django_mail.outbox if m.to == [to]]
    html = "".join(str(c) for c, _ in getattr(message, "alternatives", []))
    return str(message.body) + html


def _assert_secret_kept_out(secret: str, to: str) -> None:
    assert secret in _received(to), "the recipient must get the link"
    assert secret not in _whole_outbox(), "the outbox must not keep it"


def test_a_password_reset_link_is_sent_and_not_kept(client, django_capture_on_commit_callbacks):
    UserFactory(email="reset@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "reset@example.org"})
    link = re.search(r"https?://\S+/password/reset/key/\S+/", _received("reset@example.org"))
    assert link
    _assert_secret_kept_out(link.group(0), "reset@example.org")
    row = OutgoingEmail.objects.get(to="reset@example.org")
    assert row.status == OutgoingEmail.Status.SENT
    assert row.links_removed


def test_an_address_confirmation_key_is_sent_and_not_kept(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("account_signup"),
            {"email": "newcomer@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
    match = re.search(r"/accounts/confirm-email/([^/\s]+)/", _received("newcomer@example.org"))
    assert match
    _assert_secret_kept_out(match.group(1), "newcomer@example.org")


def test_an_organisation_invitation_token_is_sent_and_not_kept(
    agent_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitations.send_invitation(
            actor=agent_a,
            email="invited@example.org",
            roles=["secretary"],
            site_url="http://testserver",
        )
    token = re.search(r"/invitations/([^/\s\"]+)/", _received("invited@example.org")).group(1)
    _assert_secret_kept_out(token, "invited@example.org")


def test_a_company_invitation_token_is_sent_and_not_kept(django_capture_on_commit_callbacks):
    admin = register_company(
        verified_person("alice@menuiserie.example"), siren=company_siren(7), name="M & Fils"
    )
    with django_capture_on_commit_callbacks(execute=True):
        company_services.invite_colleague(
            actor=admin,
            email="colleague@example.org",
            role="member",
            site_url="http://testserver",
        )
    token = re.search(
        r"/companies/invitations/([^/\s]+)/", _received("colleague@example.org")
    ).group(1)
    _assert_secret_kept_out(token, "colleague@example.org")


def test_the_back_office_shows_the_copy_with_the_link_named(client, operator_staff):
    email = mail.queue_email(
        to="a@example.org",
        subject="Reset",
        body_text="Open http://testserver/accounts/password/reset/key/1-SECRET/ now",
        body_html='<a href="http://testserver/accounts/password/reset/key/1-SECRET/">go</a>',
        secrets=["http://testserver/accounts/password/reset/key/1-SECRET/"],
    )
    client.force_login(operator_staff.user)
    page = client.get(reverse("backoffice:email_detail", args=[email.pk])).content.decode()
    assert "SECRET" not in page
    assert "single-use link, sent to the recipient only" in page


def test_a_failed_email_whose_links_were_wiped_cannot_be_retried(operator_staff, settings):
    settings.MUTUALIS_EMAIL_MAX_ATTEMPTS = 1
    email = mail.queue_email(
        to="a@example.org",
        subject="Invitation",
        body_text="http://testserver/invitations/1-GONE/",
        secrets=["http://testserver/invitations/1-GONE/"],
    )
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=OutgoingEmail.Status.FAILED, sealed_secrets="", next_attempt_at=None
    )
    with pytest.raises(errors.EmailLinksRemoved):
        email_services.retry_email(actor=operator_staff, email_id=email.pk)


def test_an_html_escaped_link_goes_back_escaped():
    link = "http://testserver/x/?a=1&b=SECRET"
    email = mail.queue_email(
        to="a@example.org",
        subject="S",
        body_text=f"Open {link}",
        body_html='<a href="http://testserver/x/?a=1&amp;b=SECRET">go</a>',
        secrets=[link],
    )
    assert "SECRET" not in _whole_outbox()
    message = mail.build_message(email)
    assert link in message.body
    assert 'href="http://testserver/x/?a=1&amp;b=SECRET"' in message.alternatives[0][0]


def test_a_marker_typed_by_someone_else_is_not_filled():
    email = mail.queue_email(
        to="a@example.org",
        subject="S",
        body_text="[mutualis-secret:000000000000:0] http://testserver/invitations/1-T/",
        secrets=["http://testserver/invitations/1-T/"],
    )
    body = mail.build_message(email).body
    assert body.startswith("[mutualis-secret:000000000000:0] ")
    assert body.endswith("/invitations/1-T/")


def test_links_sealed_under_a_lost_key_are_not_sent(settings):
    email = mail.queue_email(
        to="a@example.org",
        subject="S",
        body_text="http://testserver/invitations/1-T/",
        secrets=["http://testserver/invitations/1-T/"],
    )
    OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    settings.SECRET_KEY = "another-key-" * 5
    settings.SECRET_KEY_FALLBACKS = []
    mail.deliver(email.pk)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.FAILED
    assert django_mail.outbox == []


def test_links_kept_by_earlier_versions_are_redacted_by_the_migration():
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "mutualis.core.migrations.0016_redact_links_in_stored_emails"
    )
    link = "https://mutualis.example.fr/accounts/password/reset/key/3-abc-123/"
    sent = OutgoingEmail.objects.create(
        to="a@example.org", subject="S", body_text=f"Open {link}", status="sent"
    )
    queued = OutgoingEmail.objects.create(to="b@example.org", subject="S", body_text=link)
    migration.redact(apps, None)
    sent.refresh_from_db()
    queued.refresh_from_db()
    assert "abc-123" not in sent.body_text
    assert "[lien à usage unique retiré]" in sent.body_text
    assert queued.body_text == link  # still to be sent
