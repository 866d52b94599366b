"""Deposit simulation and availability evidence: ``mutualis setup`` makes the operator's
test consultation (published, never listed, its deadline rolling forward) with an
opening key nobody holds; any company deposits there through the ordinary API; in the
last hour before any deadline a probe deposits there every minute, and the public
availability record shows each probe with its duration and the clock's offset."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.companies.models import Company
from mutualis.core.models import AuditEvent
from mutualis.deposits import availability, services
from mutualis.deposits.models import (
    AvailabilityProbe,
    Deposit,
    DepositLogEntry,
    DepositState,
    OpeningKey,
    SealedShare,
)
from mutualis.evidence import authority
from mutualis.procurement import crossings as procurement_crossings
from mutualis.procurement import search
from mutualis.procurement import simulation as procurement_simulation
from mutualis.procurement.models import Consultation, State
from tests.factories.deposits_api import full_deposit, representative, sealed_consultation
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

CHRONY = "A29FC87B,ntp.example.org,3,1764930000.123,-0.000123456,0.000001,0.00002,1.2,0.01,0.1,0.02,0.03,64.0,Normal\n"  # noqa: E501


def chrony(command: list[str]) -> str | None:
    return CHRONY if command[0] == "chronyc" else None


def no_clock_tool(command: list[str]) -> str | None:
    return None


@pytest.fixture(autouse=True)
def _authority():
    authority.ensure_authority()


@pytest.fixture
def test_consultation(operator_org):
    consultation_id, key, done = availability.ensure_test_consultation()
    assert done == ["created", "key_created"]
    with scopes_disabled():
        return Consultation.objects.get(pk=consultation_id), key


# --- The test consultation ------------------------------------------------------------------


def test_setup_makes_the_test_consultation_once(operator_org):
    call_command("setup", verbosity=0)
    call_command("setup", verbosity=0)
    with scopes_disabled():
        (consultation,) = Consultation.objects.filter(is_test=True)
        key = OpeningKey.objects.get(consultation=consultation)
        assert not SealedShare.objects.filter(opening_key=key).exists()
        created = AuditEvent.objects.filter(action="consultation.test_created")
        assert [event.organisation_id for event in created] == [operator_org.pk]
    assert consultation.organisation_id == operator_org.pk
    assert consultation.state == State.PUBLISHED
    assert consultation.next_check is None  # the deadline job never closes it
    assert consultation.response_deadline > timezone.now() + timedelta(days=300)
    assert key.created_by_id is None
    assert key.recipient.startswith("age1")


def test_without_an_operator_there_is_no_test_consultation(db):
    assert availability.ensure_test_consultation() == (None, None, ["no_operator"])
    with scopes_disabled():
        assert not Consultation.objects.filter(is_test=True).exists()


def test_its_deadline_rolls_forward_when_it_comes_near(test_consultation):
    consultation, _key = test_consultation
    deadline = consultation.response_deadline
    later = timezone.now() + timedelta(days=200)
    same, done = procurement_simulation.ensure_test_consultation(now=later)
    assert done == "unchanged"
    assert same.response_deadline == deadline
    near = deadline - timedelta(days=10)
    rolled, done = procurement_simulation.ensure_test_consultation(now=near)
    assert done == "rolled"
    assert rolled.response_deadline == near + procurement_simulation.AHEAD
    assert rolled.questions_deadline < rolled.response_deadline
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="consultation.test_rolled").count() == 1


def test_it_is_never_listed_but_its_page_says_what_it_is(client, test_consultation, agent_a):
    consultation, _key = test_consultation
    subscribe_to_procurement(agent_a.organisation)
    real = make_consultation(agent_a, publish=True)
    now = timezone.now()
    listed = procurement_crossings.public_search_page(search.parse({}), now=now)
    assert [row.id for row in listed.page] == [real.pk]
    assert [slug for slug, _name in procurement_crossings.public_buyers()] == [
        agent_a.organisation.slug
    ]
    assert procurement_crossings.recent_public_consultations_of(consultation.organisation_id) == []
    changes = procurement_crossings.public_consultation_changes(cursor=None, limit=10)
    assert [row.pk for row in changes["results"]] == [real.pk]
    assert client.get("/consultations/").content.count(consultation.title.encode()) == 0

    page = client.get(reverse("consultations:detail", kwargs={"pk": consultation.pk}))
    assert page.status_code == 200
    assert "test consultation" in page.content.decode()
    # A real consultation's page offers the test one to try a deposit first.
    real_page = client.get(reverse("consultations:detail", kwargs={"pk": real.pk}))
    test_url = reverse("consultations:detail", kwargs={"pk": consultation.pk})
    assert f'href="{test_url}"' in real_page.content.decode()


def test_a_company_simulates_a_whole_deposit_through_the_api(client, test_consultation):
    consultation, key = test_consultation
    rep = representative(1)
    client.force_login(rep.user)
    sealed = type("Sealed", (), {"consultation": consultation, "recipient": key.recipient})
    reference, _file, acknowledgement = full_deposit(client, sealed)
    assert acknowledgement["state"] == "acknowledged"
    assert acknowledgement["timestamp_token"]
    assert DepositLogEntry.objects.filter(deposit_reference=reference).exists()


# --- The clock ------------------------------------------------------------------------------


def test_the_clock_offset_comes_from_chrony_or_says_what_is_known():
    assert availability.clock_offset(chrony) == (
        pytest.approx(-0.123456),
        "chrony (ntp.example.org)",
    )

    def timesyncd(command):
        return "yes\n" if command[0] == "timedatectl" else None

    assert availability.clock_offset(timesyncd) == (None, "systemd-timesyncd (synchronised: yes)")
    assert availability.clock_offset(no_clock_tool) == (None, "unknown")
    assert availability.clock_offset(lambda command: "garbage") == (
        None,
        "systemd-timesyncd (synchronised: no)",
    )


# --- The probe ------------------------------------------------------------------------------


def acknowledged_probe_deposits():
    company = Company.objects.get(siren=availability.PROBE_SIREN)
    with scope(company=company.pk):
        return list(Deposit.for_company.filter(company=company).order_by("pk"))


def test_a_probe_deposits_on_the_test_consultation_and_is_recorded(test_consultation):
    consultation, _key = test_consultation
    first = availability.probe(run=chrony)
    assert first.ok, first.detail
    assert first.duration_ms is not None
    assert first.clock_offset_ms == pytest.approx(-0.123456)
    assert first.clock_source == "chrony (ntp.example.org)"
    second = availability.probe(run=no_clock_tool)
    assert second.ok
    assert second.clock_offset_ms is None
    assert second.clock_source == "unknown"
    deposits = acknowledged_probe_deposits()
    assert [d.consultation_id for d in deposits] == [consultation.pk, consultation.pk]
    # A later probe supersedes the earlier one, like a company's later deposit.
    assert [d.state for d in deposits] == [DepositState.SUPERSEDED, DepositState.ACKNOWLEDGED]
    assert [d.reference for d in deposits] == [first.detail, second.detail]
    assert DepositLogEntry.objects.filter(consultation_id=consultation.pk).count() == 2


def test_a_failing_deposit_path_is_recorded_as_failed(test_consultation, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(services, "complete", broken)
    failed = availability.probe(run=no_clock_tool)
    assert not failed.ok
    assert failed.detail == "OSError: No space left on device"
    assert failed.duration_ms is not None


def test_without_a_test_consultation_the_probe_says_so(db):
    failed = availability.probe(run=no_clock_tool)
    assert not failed.ok
    assert "operator" in failed.detail


def test_the_job_probes_only_in_the_last_hour_before_a_deadline(test_consultation, agent_a):
    now = timezone.now()
    assert availability.probe_if_a_deadline_is_near(now=now) is None
    subscribe_to_procurement(agent_a.organisation)
    real = make_consultation(agent_a, publish=True)
    assert availability.probe_if_a_deadline_is_near(now=now) is None  # 20 days away
    within = real.response_deadline - timedelta(minutes=30)
    probe = availability.probe_if_a_deadline_is_near(now=within)
    assert probe is not None
    assert probe.ok
    assert availability.probe_if_a_deadline_is_near(now=real.response_deadline) is None
    assert AvailabilityProbe.objects.count() == 1


# --- The public record ----------------------------------------------------------------------


def record_probe(at, *, ok=True, offset=0.5):
    return AvailabilityProbe.objects.create(
        probed_at=at,
        ok=ok,
        duration_ms=42,
        clock_offset_ms=offset,
        clock_source="chrony (ntp.example.org)",
        detail="" if ok else "OSError: disk full",
    )


def test_the_public_record_shows_the_window_asked_for(client):
    now = timezone.now()
    record_probe(now - timedelta(minutes=30))
    record_probe(now - timedelta(minutes=20), ok=False)
    record_probe(now - timedelta(days=3))
    url = reverse("deposits_proof:availability")
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count("<tr>") == 3  # the header and the two probes of the last 24 hours
    assert "OSError: disk full" in text

    data = client.get(
        reverse("deposits_proof:availability_json"),
        {"from": (now - timedelta(days=4)).isoformat(), "to": now.isoformat()},
    ).json()
    assert (data["count"], data["ok"], data["failed"]) == (3, 2, 1)
    assert data["median_ms"] == 42
    assert [p["clock_offset_ms"] for p in data["probes"]] == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=yesterday", "ISO 8601"),
        ("to=" + "2" * 41, "40 characters"),
        ("from=2026-12-05T10:00&to=2026-12-04T10:00", "after its end"),
        ("from=2026-11-01T10:00&to=2026-12-04T10:00", "seven days"),
    ],
)
def test_a_bad_window_is_a_clear_error(client, query, words):
    page = client.get(reverse("deposits_proof:availability") + "?" + query)
    assert page.status_code == 400
    assert words in page.content.decode()
    data = client.get(reverse("deposits_proof:availability_json") + "?" + query)
    assert data.status_code == 400
    assert data.json()["code"] == "invalid_window"
    assert words in data.json()["message"]


def test_a_nul_byte_or_invalid_utf8_is_refused_at_the_edge(client):
    for name in ("deposits_proof:availability", "deposits_proof:availability_json"):
        for query in ("from=2026-12-01T10:00%00", "from=%FF%FE"):
            assert client.get(reverse(name) + "?" + query).status_code == 400


def test_a_consultation_that_takes_deposits_links_its_last_hour(client, agent_a):
    sealed = sealed_consultation(agent_a)
    consultation = sealed.consultation
    page = client.get(reverse("consultations:detail", kwargs={"pk": consultation.pk}))
    text = page.content.decode()
    assert reverse("deposits_proof:availability") + "?from=" in text
    start = (consultation.response_deadline - timedelta(hours=1)).isoformat()
    assert start.replace(":", "%3A").replace("+", "%2B") in text
    # Without an opening key, no sealed deposits and no link.
    other = make_consultation(agent_a, publish=True, reference="SANS-CLE")
    page = client.get(reverse("consultations:detail", kwargs={"pk": other.pk}))
    assert reverse("deposits_proof:availability") + "?from=" not in page.content.decode()


def test_the_how_it_works_page_links_the_test_consultation_and_the_record(
    client, test_consultation
):
    consultation, _key = test_consultation
    text = client.get(reverse("deposits_proof:how_it_works")).content.decode()
    assert reverse("consultations:detail", kwargs={"pk": consultation.pk}) in text
    assert reverse("deposits_proof:availability") in text


def test_the_record_json_is_plain_json(client):
    record_probe(timezone.now() - timedelta(minutes=5))
    response = client.get(reverse("deposits_proof:availability_json"))
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["count"] == 1
