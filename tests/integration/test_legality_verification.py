"""The public verification page an acknowledged act's QR code leads to: its identifier,
member, reception date and the fingerprints of its files, the files themselves once
published; a wrong token is a 404, and lookups are rate-limited."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.legality import publication, services
from mutualis.legality.models import Act, ActStatus, Stamp
from tests.factories.legality import enrol, legality_agent, prepare, subscribe

pytestmark = pytest.mark.django_db

SUBJECT = "Attribution du marché de voirie"


@pytest.fixture
def member(org_a, agent_a):
    org_a.siren = "212100108"
    org_a.save(update_fields=["siren"])
    subscribe(org_a)
    enrol(agent_a)
    return org_a


@pytest.fixture
def clerk(member):
    return legality_agent(member, "clerk.a@example.org")


@pytest.fixture
def act(member, clerk, django_capture_on_commit_callbacks) -> Act:
    act = prepare(clerk, number="DEL_2026_007", decided_on=date(2026, 2, 3), subject=SUBJECT)
    services.validate_act(actor=clerk, act_id=act.pk)
    with scopes_disabled():
        Act.objects.filter(pk=act.pk).update(
            status=ActStatus.SENT, sent_at=datetime(2026, 2, 3, 15, 0, tzinfo=UTC)
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.acknowledge_act(
            organisation_id=member.pk,
            identifier="021-212100108-20260203-DEL_2026_007-DE",
            received_on=date(2026, 2, 4),
        )
    with scope(organisation=member.pk):
        return Act.objects.select_related("document").get(pk=act.pk)


def page_url(token: str) -> str:
    return reverse("legality_public:verify", kwargs={"token": token})


def files_of(act) -> list:
    with scope(organisation=act.organisation_id):
        annexes = [a.file for a in act.annexes.select_related("file")]
        stamps = [s.file for s in Stamp.objects.filter(act=act).select_related("file")]
    return [act.document, *annexes], stamps


def public_link(act, stored) -> str:
    return reverse(
        "legality_public:file",
        kwargs={
            "token": act.verification_token,
            "file_id": stored.pk,
            "name": stored.original_name,
        },
    )


def test_the_page_shows_the_public_facts_before_publication(client, member, act):
    response = client.get(page_url(act.verification_token))
    assert response.status_code == 200
    body = response.content.decode()
    transmitted, [stamp] = files_of(act)

    assert act.identifier in body
    assert member.name in body
    assert "212100108" in body
    assert "Feb. 4, 2026" in body or "4 février 2026" in body
    for stored in transmitted:
        assert stored.sha256 in body
        assert public_link(act, stored) not in body
    assert stamp.sha256 in body
    assert public_link(act, stamp) not in body
    # The subject and the agents are not public facts.
    assert SUBJECT not in body
    assert "clerk.a@example.org" not in body
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    # Before publication, the files are not served.
    for stored in [*transmitted, stamp]:
        assert client.get(public_link(act, stored)).status_code == 404


def test_the_page_shows_where_the_acknowledgement_sits_on_the_signed_chain(client, act):
    with scopes_disabled():
        event = AuditEvent.objects.get(action="legality.act_acknowledged")
    body = client.get(page_url(act.verification_token)).content.decode()
    assert event.hash in body
    assert "Not signed yet" in body

    [checkpoint] = [
        c
        for c in audit.checkpoint_all_chains()
        if c.chain == audit.organisation_chain(act.organisation_id)
    ]
    body = client.get(page_url(act.verification_token)).content.decode()
    assert checkpoint.signature in body
    assert checkpoint.key_id in body
    assert "Not signed yet" not in body


def test_once_published_the_files_are_served(
    client, clerk, act, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publication.record_publication(actor=clerk, act_id=act.pk, published_on=date(2026, 2, 9))
    body = client.get(page_url(act.verification_token)).content.decode()
    transmitted, stamps = files_of(act)
    assert len(stamps) == 2
    for stored in [*transmitted, *stamps]:
        assert public_link(act, stored) in body
        assert stored.sha256 in body
        response = client.get(public_link(act, stored))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
    # A file of another act, through this act's token: 404.
    other = prepare(clerk, number="DEL_2026_009", decided_on=date(2026, 2, 3))
    assert client.get(public_link(act, other.document)).status_code == 404


def test_a_wrong_token_or_an_act_not_acknowledged_is_404(client, member, clerk, act):
    assert client.get(page_url("not-the-token")).status_code == 404
    assert client.get(page_url(act.verification_token[:-1])).status_code == 404
    # The token of an act whose acknowledgement vanished (cancelled by the prefecture's
    # answer in another slice) no longer opens the page.
    with scopes_disabled():
        Act.objects.filter(pk=act.pk).update(status=ActStatus.CANCELLED)
    assert client.get(page_url(act.verification_token)).status_code == 404
    assert client.post(page_url(act.verification_token)).status_code == 405


def test_wrong_tokens_are_rate_limited(client, act, settings):
    settings.MUTUALIS_LEGALITY_VERIFY_MISS_RATE = "3/h"
    for attempt in range(3):
        assert client.get(page_url(f"guess-{attempt}")).status_code == 404
    refused = client.get(page_url("guess-4"))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # Even the right token is refused to that address until the window ends.
    assert client.get(page_url(act.verification_token)).status_code == 429


def test_lookups_are_rate_limited(client, act, settings):
    settings.MUTUALIS_LEGALITY_VERIFY_RATE = "2/m"
    assert client.get(page_url(act.verification_token)).status_code == 200
    assert client.get(page_url(act.verification_token)).status_code == 200
    assert client.get(page_url(act.verification_token)).status_code == 429


def test_the_demo_shows_an_acknowledged_and_published_act_of_dijon(
    client, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    call_command("import_territory", "--region", "27", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
        call_command("seed_demo", stdout=StringIO())  # a second run adds nothing

    with scopes_disabled():
        act = Act.objects.get(number="DEL_2026_041", organisation__slug__contains="dijon")
        stamps = list(Stamp.objects.filter(act=act))
    assert act.status == ActStatus.ACKNOWLEDGED
    assert act.published_on is not None
    assert act.slip_id is not None
    assert len(stamps) == 2  # before and after the publication date
    assert page_url(act.verification_token) in out.getvalue()
    response = client.get(page_url(act.verification_token))
    assert response.status_code == 200
    assert act.identifier in response.content.decode()
