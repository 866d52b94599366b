"""The outbox in the back office: list, safe display, retry of failed e-mails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scopes_disabled

from mutualis.core import audit, errors
from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.core.services import emails as email_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


def make_email(**fields) -> OutgoingEmail:
    defaults = {"to": "camille@example.org", "subject": "Confirm", "body_text": "Hello"}
    return OutgoingEmail.objects.create(**{**defaults, **fields})


def platform_events() -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(chain=audit.PLATFORM_CHAIN).order_by("sequence"))


def test_outbox_newest_first_with_filters(staff_client):
    old = make_email(to="first@example.org", status="sent")
    failed = make_email(to="second@example.org", status="failed", attempts=6)
    new = make_email(to="third@example.org")
    url = reverse("backoffice:email_list")

    def listed(params=None):
        return [e.pk for e in staff_client.get(url, params or {}).context["page"]]

    assert listed() == [new.pk, failed.pk, old.pk]
    assert listed({"status": "failed"}) == [failed.pk]
    assert listed({"to": "third@"}) == [new.pk]
    html = staff_client.get(url).content.decode()
    assert html.count(reverse("backoffice:email_retry", args=[failed.pk])) == 1
    assert reverse("backoffice:email_retry", args=[new.pk]) not in html


def test_outbox_queries_do_not_grow_with_the_rows(staff_client, django_assert_max_num_queries):
    for n in range(60):
        make_email(to=f"p{n}@example.org", status="failed" if n % 2 else "queued")
    url = reverse("backoffice:email_list")
    staff_client.get(url)
    with django_assert_max_num_queries(7):
        staff_client.get(url)


def test_detail_shows_bodies_escaped_and_the_html_in_a_sandbox(staff_client):
    email = make_email(
        subject="<b>Welcome</b>",
        body_text="See https://mutualis.example/accounts/confirm/abc-def/ <script>x()</script>",
        body_html='<p>Hi</p><script>alert("owned")</script><img src=x onerror=alert(1)>',
    )
    html = staff_client.get(reverse("backoffice:email_detail", args=[email.pk])).content.decode()
    assert "<script>x()" not in html
    assert '<script>alert("owned")' not in html
    assert "&lt;b&gt;Welcome&lt;/b&gt;" in html
    # The sign-up link of the text version can be followed.
    assert '<a href="https://mutualis.example/accounts/confirm/abc-def/"' in html
    # The HTML version is inert: escaped in srcdoc of an iframe with an empty sandbox.
    assert 'sandbox=""' in html
    assert 'srcdoc="&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;alert(&quot;owned&quot;)' in html
    assert "onerror=alert(1)>" not in html


def test_retry_queues_a_failed_email_and_sends_it(
    staff_client, operator_staff, django_capture_on_commit_callbacks
):
    email = make_email(status="failed", attempts=6, last_error="SMTPServerDisconnected: gone")
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(reverse("backoffice:email_retry", args=[email.pk]))
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == "queued"
    assert email.attempts == 6
    assert before <= email.next_attempt_at <= timezone.now()
    [event] = platform_events()
    assert event.action == "email.retried"
    assert event.organisation_id is None
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"
    assert (event.object_type, event.object_id) == ("core.outgoingemail", str(email.pk))
    assert event.payload == {"attempts": 6}
    assert mail.outbox == []

    # After the commit, the sending job runs (immediately in tests).
    for callback in callbacks:
        callback()
    email.refresh_from_db()
    assert email.status == "sent"
    assert [m.to for m in mail.outbox] == [["camille@example.org"]]


def test_retry_of_an_email_that_did_not_fail_is_refused(staff_client):
    email = make_email(status="sent", sent_at=timezone.now() - timedelta(hours=1))
    response = staff_client.post(reverse("backoffice:email_retry", args=[email.pk]), follow=True)
    with translation.override(settings.LANGUAGE_CODE):
        expected = str(errors.EmailNotFailed.message)
    assert [str(m) for m in response.context["messages"]] == [expected]
    email.refresh_from_db()
    assert email.status == "sent"
    assert platform_events() == []


def test_retry_service_refuses_a_member_agent(agent_a):
    from django.core.exceptions import PermissionDenied

    email = make_email(status="failed")
    with pytest.raises(PermissionDenied):
        email_services.retry_email(actor=agent_a, email_id=email.pk)
    email.refresh_from_db()
    assert email.status == "failed"


def test_unknown_email_gives_404(staff_client):
    assert staff_client.get(reverse("backoffice:email_detail", args=[999999])).status_code == 404
    assert staff_client.post(reverse("backoffice:email_retry", args=[999999])).status_code == 404
