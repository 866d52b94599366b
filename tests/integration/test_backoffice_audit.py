"""The audit trail in the back office: every chain, filters, actors, verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/operator/audit/"


@pytest.fixture
def staff_client(client, operator_staff):
    client.force_login(operator_staff.user)
    return client


@pytest.fixture
def trail(org_a, org_b, agent_a, agent_b):
    """Events on two members' chains and the platform's, by people and by a job."""
    audit.record(actor=agent_a, action="consultation.published", target=org_a)
    audit.record(actor=agent_b, action="consultation.published", target=org_b)
    audit.record(actor=audit.SystemActor("import"), action="territory.imported")
    audit.record(actor=agent_a, action="membership.granted", payload={"roles_after": ["buyer"]})


def rows(response) -> list[tuple[str, str]]:
    return [(r["event"].chain, r["event"].action) for r in response.context["rows"]]


def test_url_is_stable():
    assert reverse("backoffice:audit_list") == URL


def test_every_chain_newest_first(staff_client, trail, org_a, org_b):
    response = staff_client.get(URL)
    assert rows(response) == [
        (f"org:{org_a.pk}", "membership.granted"),
        ("platform", "territory.imported"),
        (f"org:{org_b.pk}", "consultation.published"),
        (f"org:{org_a.pk}", "consultation.published"),
    ]


def test_filters(staff_client, trail, org_a, agent_a):
    assert rows(staff_client.get(URL, {"chain": "platform"})) == [
        ("platform", "territory.imported")
    ]
    assert [a for _, a in rows(staff_client.get(URL, {"chain": f"org:{org_a.pk}"}))] == [
        "membership.granted",
        "consultation.published",
    ]
    assert len(rows(staff_client.get(URL, {"action": "consultation."}))) == 2
    # An actor by name, by e-mail, or by reference.
    by_email = rows(staff_client.get(URL, {"actor": "agent.a@"}))
    assert by_email == rows(staff_client.get(URL, {"chain": f"org:{org_a.pk}"}))
    assert len(rows(staff_client.get(URL, {"actor": "system:import"}))) == 1
    assert rows(staff_client.get(URL, {"actor": "nobody at all"})) == []


def test_date_range_is_in_days_of_the_platforms_time_zone(staff_client, trail):
    today = timezone.localdate()
    assert len(rows(staff_client.get(URL, {"date_from": today, "date_to": today}))) == 4
    tomorrow = today + timedelta(days=1)
    assert rows(staff_client.get(URL, {"date_from": tomorrow})) == []
    assert rows(staff_client.get(URL, {"date_to": today - timedelta(days=1)})) == []


def test_reversed_dates_are_an_error_and_list_nothing(staff_client, trail):
    today = timezone.localdate()
    response = staff_client.get(URL, {"date_from": today, "date_to": today - timedelta(days=2)})
    assert [e.code for e in response.context["form"].errors.as_data()["date_to"]] == [
        "dates_reversed"
    ]
    assert rows(response) == []


def test_actors_are_shown_by_name_unless_erased(staff_client, org_a, agent_a, agent_b):
    agent_a.user.first_name, agent_a.user.last_name = "Ariane", "Dupont"
    agent_a.user.save()
    audit.record(actor=agent_a, action="test.named")
    audit.record(actor=agent_b, action="test.erased")
    audit.erase_subject(agent_b.user.audit_pseudonym)

    html = staff_client.get(URL).content.decode()
    assert "Ariane Dupont" in html
    assert f"user:{agent_b.user.audit_pseudonym}" in html
    assert "agent.b@example.org" not in html
    # An erased person is not found by their old e-mail either.
    assert rows(staff_client.get(URL, {"actor": "agent.b@"})) == []


def test_times_are_shown_in_paris_time_with_the_zone(staff_client, trail):
    html = staff_client.get(URL).content.decode()
    with scopes_disabled():
        newest = AuditEvent.objects.order_by("-pk").first()
    local = timezone.localtime(newest.occurred_at)
    assert local.strftime("%Y-%m-%d %H:%M:%S") + f" {local.tzname()}" in html
    assert local.tzname() in ("CET", "CEST")


def test_objects_link_to_their_back_office_page(staff_client, trail, org_a):
    html = staff_client.get(URL, {"action": "consultation."}).content.decode()
    assert f'href="{reverse("backoffice:organisation_detail", args=[org_a.pk])}"' in html


def test_audit_list_queries_do_not_grow_with_the_events(
    staff_client, org_a, org_b, agent_a, agent_b, django_assert_max_num_queries
):
    for n in range(30):
        audit.record(actor=agent_a, action="test.a", payload={"n": n})
        audit.record(actor=agent_b, action="test.b", payload={"n": n})
    staff_client.get(URL)
    with django_assert_max_num_queries(8):
        response = staff_client.get(URL)
    assert len(response.context["rows"]) == 50


def test_verify_now_reports_ok(staff_client, trail):
    response = staff_client.post(reverse("backoffice:audit_verify"))
    assert response.status_code == 200
    report = response.context["report"]
    assert report.ok
    assert report.events == 4


def test_verify_now_reports_a_forged_event(staff_client, trail, org_a):
    with scopes_disabled():
        last = AuditEvent.objects.filter(chain=f"org:{org_a.pk}").order_by("-sequence").first()
        AuditEvent.objects.create(
            chain=last.chain,
            sequence=last.sequence + 1,
            organisation=org_a,
            occurred_at=timezone.now(),
            actor="system:forger",
            action="money.moved",
            payload={},
            payload_digest=audit.payload_digest({}),
            prev_hash=last.hash,
            hash="f" * 64,
        )
    response = staff_client.post(reverse("backoffice:audit_verify"))
    report = response.context["report"]
    assert not report.ok
    assert [p.chain for p in report.problems] == [f"org:{org_a.pk}"]
    assert f'?chain=org%3A{org_a.pk}"' in response.content.decode()


def test_verify_without_signing_key_says_so(staff_client, trail, settings, tmp_path):
    settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH = tmp_path / "missing.pem"
    response = staff_client.post(reverse("backoffice:audit_verify"))
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "missing.pem" in response.context["error"]


def test_verify_refuses_get(staff_client):
    assert staff_client.get(reverse("backoffice:audit_verify")).status_code == 405
