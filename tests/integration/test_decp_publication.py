"""The two-month clock's reminders (each sent once, frozen clock), the connector to the
national portal against a local stand-in (API key, retries with back-off, audited
attempts), and the public completeness figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.decp import clock, connector, crossings
from mutualis.decp.models import DecpEntry, DecpReminder, PortalAttempt, Status
from mutualis.decp.standin.server import PortalStandin, serve
from tests.factories.decp import notified_contract

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NOTIFIED = datetime(2027, 3, 1, 10, 0, tzinfo=PARIS)  # due on 1 May 2027
KEY = "cle-de-test-1234567890"
DATASET = "5bc04b2cff66bd680e499f4a"


def at(day: int, month: int) -> datetime:
    return datetime(2027, month, day, 8, 0, tzinfo=PARIS)


def entry_of(contract) -> DecpEntry:
    with scopes_disabled():
        return DecpEntry.objects.get(contract_id=contract.pk)


def reminders_to(address: str) -> list[str]:
    with scopes_disabled():
        return list(
            OutgoingEmail.objects.filter(to=address, subject__startswith="DECP")
            .order_by("pk")
            .values_list("subject", flat=True)
        )


@pytest.fixture
def portal(settings, tmp_path):
    server = PortalStandin(("127.0.0.1", 0), api_key=KEY, dataset=DATASET)
    thread = serve(server)
    key_file = tmp_path / "decp-portal-key"
    key_file.write_text(KEY + "\n")
    settings.DECP_PORTAL_URL = server.url
    settings.DECP_PORTAL_DATASET = DATASET
    settings.DECP_PORTAL_API_KEY_FILE = str(key_file)
    settings.DECP_PORTAL_RETRY_SECONDS = 60
    settings.DECP_PORTAL_TIMEOUT_SECONDS = 5
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_each_reminder_is_sent_once_until_published(agent_a, agent_b):
    contract = notified_contract(agent_a, notified_at=NOTIFIED)
    address = agent_a.user.email
    assert clock.remind(now=at(10, 4)) == 0  # 21 days before: too early
    assert clock.remind(now=at(16, 4)) == 1  # 15 days before
    assert clock.remind(now=at(17, 4)) == 0  # sent already
    assert clock.remind(now=at(28, 4)) == 1  # 3 days before
    assert clock.remind(now=at(29, 4)) == 0
    assert clock.remind(now=at(2, 5)) == 1  # late
    assert clock.remind(now=at(20, 5)) == 0  # late is said once
    subjects = reminders_to(address)
    assert len(subjects) == 3
    assert subjects[-1] == f"DECP late: contract {contract.reference}"
    # Another member's agents hear nothing.
    assert reminders_to(agent_b.user.email) == []
    with scopes_disabled():
        assert DecpReminder.objects.filter(entry__contract=contract).count() == 3
        assert AuditEvent.objects.filter(action="decp.reminder_sent").count() == 3


def test_a_job_that_did_not_run_sends_the_current_stage_only(agent_a):
    notified_contract(agent_a, notified_at=NOTIFIED)
    assert clock.remind(now=at(29, 4)) == 1  # 3 days before, the 15-day one never sent
    assert clock.remind(now=at(30, 4)) == 0
    with scopes_disabled():
        assert list(DecpReminder.objects.values_list("stage", flat=True)) == ["3_days"]


def test_the_connector_publishes_with_the_key_and_stops_the_clock(agent_a, portal):
    contract = notified_contract(agent_a, notified_at=NOTIFIED)
    result = connector.push(now=at(10, 3))
    assert result == {"sent": 1, "published": 1, "failed": 0}
    assert portal.keys_seen == [KEY]
    [received] = portal.received
    assert [m["id"] for m in received["json"]["marches"]["marche"]] == [contract.reference]
    entry = entry_of(contract)
    assert entry.status == Status.PUBLISHED
    assert entry.published_at == at(10, 3)
    # Nothing left to send; no reminder for a published entry.
    assert connector.push(now=at(11, 3)) == {"sent": 0, "published": 0, "failed": 0}
    assert clock.remind(now=at(2, 5)) == 0
    with scopes_disabled():
        attempt = AuditEvent.objects.get(action="decp.portal_attempt")
        assert attempt.payload["ok"] is True
        # The key is never written anywhere.
        assert KEY not in str(attempt.payload)
        assert not PortalAttempt.objects.filter(error__contains=KEY).exists()
    assert all(KEY not in m.body for m in mail.outbox)
    figures = crossings.completeness(agent_a.organisation, today=at(1, 6).date())
    assert figures == {"concerned": 1, "on_time": 1, "late": 0, "overdue": 0, "pending": 0}


def test_failures_back_off_and_each_attempt_is_audited(agent_a, portal):
    contract = notified_contract(agent_a, notified_at=NOTIFIED)
    portal.fail_next = [503, 502]
    assert connector.push(now=at(10, 3))["failed"] == 1
    # Within the back-off (60 s after one failure): no attempt.
    assert connector.push(now=at(10, 3) + timedelta(seconds=30))["failed"] == 0
    assert len(portal.keys_seen) == 1
    assert connector.push(now=at(10, 3) + timedelta(seconds=61))["failed"] == 1
    last = PortalAttempt.objects.order_by("-at").first()
    assert last.failures_in_a_row == 2
    assert last.next_attempt_at == at(10, 3) + timedelta(seconds=61 + 120)
    assert connector.push(now=at(10, 3) + timedelta(seconds=200))["published"] == 1
    assert entry_of(contract).status == Status.PUBLISHED
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="decp.portal_attempt").count() == 3


def test_a_wrong_key_is_refused_by_the_portal_and_nothing_is_published(
    agent_a, portal, settings, tmp_path
):
    contract = notified_contract(agent_a, notified_at=NOTIFIED)
    wrong = tmp_path / "wrong-key"
    wrong.write_text("not-the-key")
    settings.DECP_PORTAL_API_KEY_FILE = str(wrong)
    assert connector.push(now=at(10, 3))["failed"] == 1
    assert PortalAttempt.objects.get().status_code == 401
    assert portal.received == []
    assert entry_of(contract).status == Status.READY


def test_completeness_counts_late_and_overdue_publicly(agent_a):
    published_late = notified_contract(agent_a, notified_at=NOTIFIED, reference="L-1")
    notified_contract(agent_a, notified_at=NOTIFIED, reference="O-1")
    notified_contract(agent_a, notified_at=at(20, 5), reference="P-1")
    notified_contract(agent_a, notified_at=NOTIFIED, reference="S-1", amount="1000")
    with scopes_disabled():
        DecpEntry.objects.filter(contract=published_late).update(
            status=Status.PUBLISHED, published_at=at(3, 5), published_version=1
        )
    figures = crossings.completeness(agent_a.organisation, today=at(1, 6).date())
    assert figures == {"concerned": 3, "on_time": 0, "late": 1, "overdue": 1, "pending": 1}
    page = Client().get(reverse("decp_public:buyer", kwargs={"slug": "commune-a"}))
    assert page.status_code == 200
    assert "Published late" in page.content.decode()
    directory = Client().get(reverse("directory:detail", kwargs={"slug": "commune-a"}))
    assert directory.status_code == 200
    assert "Essential data of the contracts (DECP)" in directory.content.decode()
    assert Client().get(reverse("decp_public:buyer", kwargs={"slug": "nobody"})).status_code == 404
