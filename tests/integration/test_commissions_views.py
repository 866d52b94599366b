"""The commissions' pages: administrators compose, buyers run meetings and choose a
consultation's commission, commission members read; another member's agent, and anyone
without a role here, gets 404; bad input gets its message, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.commissions import services
from mutualis.commissions.models import Commission, ConsultationCommission, Meeting
from mutualis.core.models import AuditEvent, OutgoingEmail
from mutualis.procurement import deadlines
from tests.factories.commissions import make_commission, plan
from tests.factories.core import ORG_B, org_url
from tests.factories.deposits_keys import commission_member
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org_a, agent_a):
    subscribe_to_procurement(org_a)
    return agent_a


@pytest.fixture
def composed(admin):
    return make_commission(admin, full=2, substitutes=1, advisory=0)


@pytest.fixture
def consultation(admin):
    return make_consultation(admin, reference="2027-VUE")


def local(instant) -> str:
    return deadlines.to_paris(instant).strftime("%Y-%m-%dT%H:%M")


def error_codes(response) -> set[str]:
    form = response.context["form"]
    return {e.code for errors in form.errors.as_data().values() for e in errors}


def test_an_administrator_creates_a_commission_and_seats_a_member(client, admin):
    client.force_login(admin.user)
    assert client.get(org_url("commissions:index")).status_code == 200
    response = client.post(
        org_url("commissions:index"),
        {
            "name": "Commission d\u2019appel d\u2019offres",
            "kind": "tender",
            "quorum_rule": "majority",
        },
    )
    assert response.status_code == 302
    with scope(organisation=admin.organisation_id):
        commission = Commission.objects.get()
    person = commission_member(admin.organisation, "elue@example.org")
    response = client.post(
        org_url("commissions:member_add", pk=commission.pk),
        {"membership": person.pk, "seat": "full", "vote": "deliberative", "is_president": "on"},
    )
    assert response.status_code == 302
    page = client.get(org_url("commissions:detail", pk=commission.pk))
    assert page.status_code == 200
    assert b"elue@example.org" in page.content or b"Camille" in page.content
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="commissions.member.added").count() == 1


@pytest.mark.parametrize(
    ("name", "code"),
    [("x" * 201, "max_length"), ("", "required")],
)
def test_a_bad_name_gets_its_message(client, admin, name, code):
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:index"), {"name": name, "kind": "jury", "quorum_rule": "majority"}
    )
    assert response.status_code == 400
    assert code in error_codes(response)
    with scope(organisation=admin.organisation_id):
        assert not Commission.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"name=Jury%00&kind=jury&quorum_rule=majority",  # a NUL character
        b"name=Jury%FF&kind=jury&quorum_rule=majority",  # not UTF-8
    ],
)
def test_a_nul_or_invalid_utf8_is_refused_with_a_page_not_a_500(client, admin, body):
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:index"), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    with scope(organisation=admin.organisation_id):
        assert not Commission.objects.exists()


def test_a_forged_kind_is_refused(client, admin):
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:index"), {"name": "Jury", "kind": "secret", "quorum_rule": "x"}
    )
    assert response.status_code == 400
    assert "invalid_choice" in error_codes(response)


def test_a_person_of_another_member_cannot_be_seated(client, admin, org_b, composed):
    stranger = commission_member(org_b, "membre.b@example.org")
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:member_add", pk=composed.commission.pk),
        {"membership": stranger.pk, "seat": "full", "vote": "deliberative"},
    )
    assert response.status_code == 400
    form = response.context["member_form"]
    assert "This person is not an active agent of your organisation" in str(form.errors)


def seat_changed_on_the_page(client, admin, composed, member, **seat) -> str:
    """The member's seat form of the commission's page posted; the page it goes back to."""
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:member_update", pk=composed.commission.pk, member_id=member.pk),
        {f"m{member.pk}-{name}": value for name, value in seat.items()},
        follow=True,
    )
    assert response.status_code == 200
    with scope(organisation=admin.organisation_id):
        member.refresh_from_db()
    return response.content.decode()


def test_a_substitute_made_president_from_the_page_gets_the_presidents_refusal(
    client, admin, composed
):
    substitute = composed.substitutes[0]
    page = seat_changed_on_the_page(
        client,
        admin,
        composed,
        substitute,
        seat="substitute",
        vote="deliberative",
        is_president="on",
    )
    assert "The president must be a full member with a deliberative vote." in page
    assert "This choice is not one of those offered." not in page
    assert (substitute.seat, substitute.is_president) == ("substitute", False)
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="commissions.member.updated").exists()


def test_a_forged_seat_from_the_page_gets_the_choice_not_offered(client, admin, composed):
    member = composed.full[1]
    page = seat_changed_on_the_page(
        client, admin, composed, member, seat="emperor", vote="deliberative"
    )
    assert "This choice is not one of those offered." in page
    assert "emperor" not in page
    assert member.seat == "full"


def test_another_members_agent_gets_404_everywhere(client, admin, agent_b, org_b, composed):
    subscribe_to_procurement(org_b)
    meeting = plan(admin, composed.commission, [])
    client.force_login(agent_b.user)
    # Org A's pages, and org A's objects through org B's own pages.
    for url in (
        org_url("commissions:index"),
        org_url("commissions:detail", pk=composed.commission.pk),
        org_url("commissions:detail", ORG_B, pk=composed.commission.pk),
        org_url("commissions:meeting", ORG_B, pk=meeting.pk),
        org_url("commissions:meeting_minutes_pdf", ORG_B, pk=meeting.pk),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        org_url("commissions:meeting_convene", ORG_B, pk=meeting.pk),
        org_url("commissions:member_remove", ORG_B, pk=composed.commission.pk,
                member_id=composed.full[0].pk),
    ):  # fmt: skip
        assert client.post(url).status_code == 404, url
    assert OutgoingEmail.objects.count() == 0


def test_a_commission_member_reads_but_cannot_act(client, admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    member = composed.full[1].membership
    client.force_login(member.user)
    assert client.get(org_url("commissions:detail", pk=composed.commission.pk)).status_code == 200
    assert client.get(org_url("commissions:meeting", pk=meeting.pk)).status_code == 200
    assert (
        client.get(org_url("commissions:meeting_new", pk=composed.commission.pk)).status_code == 404
    )
    assert client.post(org_url("commissions:meeting_convene", pk=meeting.pk)).status_code == 404
    response = client.post(
        org_url("commissions:index"), {"name": "X", "kind": "jury", "quorum_rule": "none"}
    )
    assert response.status_code == 404
    assert OutgoingEmail.objects.count() == 0


def test_an_agent_without_a_role_here_gets_404(client, admin, org_a, composed):
    signatory = make_member(org_a, "elu@example.org", roles=["signatory"])
    client.force_login(signatory.user)
    assert client.get(org_url("commissions:index")).status_code == 404


def test_a_meeting_in_the_past_gets_its_message(client, admin, composed, consultation):
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:meeting_new", pk=composed.commission.pk),
        {
            "starts_at": local(timezone.now() - timedelta(days=1)),
            "duration_minutes": "120",
            "place": "Mairie",
            f"position_{consultation.pk}": "1",
        },
    )
    assert response.status_code == 400
    assert "meeting_in_past" in error_codes(response)
    with scope(organisation=admin.organisation_id):
        assert not Meeting.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("place", "M" * 301, "max_length"),
        ("video_url", "https://" + "v" * 600 + ".example", "max_length"),
        ("duration_minutes", "100000", "max_value"),
        ("starts_at", "2027-03-28T02:30", "local_time_nonexistent"),
    ],
)
def test_bad_meeting_input_gets_its_message(client, admin, composed, field, value, code):
    client.force_login(admin.user)
    data = {
        "starts_at": local(timezone.now() + timedelta(days=3)),
        "duration_minutes": "120",
        "place": "Mairie",
        field: value,
    }
    response = client.post(org_url("commissions:meeting_new", pk=composed.commission.pk), data)
    assert response.status_code == 400
    assert code in error_codes(response)


def test_the_whole_meeting_through_the_pages(client, admin, composed, consultation):
    client.force_login(admin.user)
    starts = timezone.now() + timedelta(days=5)
    response = client.post(
        org_url("commissions:meeting_new", pk=composed.commission.pk),
        {
            "starts_at": local(starts),
            "duration_minutes": "90",
            "place": "",
            "video_url": "https://visio.example.org/cao",
            f"position_{consultation.pk}": "1",
        },
    )
    assert response.status_code == 302
    with scope(organisation=admin.organisation_id):
        meeting = Meeting.objects.get()
    assert client.post(org_url("commissions:meeting_convene", pk=meeting.pk)).status_code == 302
    assert OutgoingEmail.objects.count() == 3
    # The meeting has started: the secretary's side records the attendance.
    with scopes_disabled():
        Meeting.objects.filter(pk=meeting.pk).update(
            starts_at=timezone.now() - timedelta(minutes=5)
        )
    full0, full1, sub0 = composed.full[0], composed.full[1], composed.substitutes[0]
    page = client.get(org_url("commissions:meeting_attendance", pk=meeting.pk))
    assert page.status_code == 200
    response = client.post(
        org_url("commissions:meeting_attendance", pk=meeting.pk),
        {
            f"status_{full0.pk}": "present",
            f"status_{full1.pk}": "replaced",
            f"replaced_by_{full1.pk}": str(sub0.pk),
            f"status_{sub0.pk}": "present",
        },
    )
    assert response.status_code == 302
    with scope(organisation=admin.organisation_id):
        meeting.refresh_from_db()
        item = meeting.items.get()
    assert meeting.quorum_reached is True
    response = client.post(
        org_url("commissions:meeting_minutes", pk=meeting.pk),
        {f"decision_{item.pk}": "Offre de Menuiserie X classée première."},
    )
    assert response.status_code == 302
    pdf = client.get(org_url("commissions:meeting_minutes_pdf", pk=meeting.pk))
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content if pdf.streaming else [pdf.content]).startswith(b"%PDF")
    # A member of the commission reads the minutes; one of another commission does not.
    client.force_login(full1.membership.user)
    assert client.get(org_url("commissions:meeting_minutes_pdf", pk=meeting.pk)).status_code == 200
    other = commission_member(admin.organisation, "autre@example.org")
    client.force_login(other.user)
    assert client.get(org_url("commissions:meeting_minutes_pdf", pk=meeting.pk)).status_code == 404


def test_an_attendance_with_a_forged_substitute_is_refused(client, admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    client.force_login(admin.user)
    client.post(org_url("commissions:meeting_convene", pk=meeting.pk))
    with scopes_disabled():
        Meeting.objects.filter(pk=meeting.pk).update(
            starts_at=timezone.now() - timedelta(minutes=5)
        )
    full0, full1, sub0 = composed.full[0], composed.full[1], composed.substitutes[0]
    response = client.post(
        org_url("commissions:meeting_attendance", pk=meeting.pk),
        {
            f"status_{full0.pk}": "present",
            f"status_{full1.pk}": "replaced",
            f"replaced_by_{full1.pk}": "999999",
            f"status_{sub0.pk}": "present",
        },
    )
    assert response.status_code == 400
    with scope(organisation=admin.organisation_id):
        assert Meeting.objects.get(pk=meeting.pk).status == "convened"


def test_the_buyer_chooses_the_consultations_commission_on_its_page(
    client, admin, composed, consultation
):
    client.force_login(admin.user)
    page = client.get(org_url("procurement:detail", pk=consultation.pk))
    assert page.status_code == 200
    assert b'id="commission-title"' in page.content
    response = client.post(
        org_url("commissions:assign", consultation_id=consultation.pk),
        {"commission": str(composed.commission.pk)},
    )
    assert response.status_code == 302
    with scope(organisation=admin.organisation_id):
        row = ConsultationCommission.objects.get()
    assert row.commission == composed.commission
    page = client.get(org_url("procurement:detail", pk=consultation.pk))
    assert composed.commission.name.encode() in page.content or b"Commission d" in page.content
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="commissions.consultation.assigned").count() == 1


def test_another_members_commission_cannot_be_assigned(client, admin, agent_b, org_b, consultation):
    subscribe_to_procurement(org_b)
    theirs = make_commission(agent_b, name="Leur CAO", full=1, substitutes=0, advisory=0)
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:assign", consultation_id=consultation.pk),
        {"commission": str(theirs.commission.pk)},
    )
    assert response.status_code == 302
    with scope(organisation=admin.organisation_id):
        assert not ConsultationCommission.objects.exists()


def test_the_agenda_offers_no_consultation_of_another_commission(client, admin, composed):
    ours = make_consultation(admin, reference="2027-OURS")
    theirs = make_consultation(admin, reference="2027-JURY")
    jury = make_commission(admin, name="Jury", full=1, substitutes=0, advisory=0)
    with scope(organisation=admin.organisation_id):
        services.assign_consultation(
            actor=admin, consultation_id=theirs.pk, commission_id=jury.commission.pk
        )
    client.force_login(admin.user)
    page = client.get(org_url("commissions:meeting_new", pk=composed.commission.pk))
    offered = {c.pk for c in page.context["form"].consultations}
    assert ours.pk in offered
    assert theirs.pk not in offered
