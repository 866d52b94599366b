"""Advisory attendees from outside the organisation (the public accountant, the
competition authority's representative, an outside expert): the administrator adds them,
audited with their address; they are convened with the members (same e-mail, same
invitation, where they are ATTENDEEs at their own address), their attendance is recorded
but never counts in the quorum, they are in the minutes and receive them by e-mail; they
never hold an opening key. Bad input is refused with its message, never a 500."""

from __future__ import annotations

import io
from datetime import timedelta

import icalendar
import pypdf
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.commissions import errors, meetings, selectors, services
from mutualis.commissions.models import ExternalAttendance, ExternalMember, Meeting
from mutualis.core.files import open_stored_file
from mutualis.core.models import AuditEvent, OutgoingEmail
from tests.factories.commissions import make_commission, plan
from tests.factories.core import ORG_B, org_url
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

ACCOUNTANT = "tresorier.principal@dgfip.example.org"


@pytest.fixture
def admin(org_a, agent_a):
    subscribe_to_procurement(org_a)
    return agent_a  # org_admin and buyer


@pytest.fixture
def composed(admin):
    # Two full members (the first presides) and a substitute: a quorum of 2.
    return make_commission(admin, full=2, substitutes=1, advisory=0)


@pytest.fixture
def consultation(admin):
    return make_consultation(admin, reference="2027-EXT", title="Voirie")


@pytest.fixture
def external(admin, composed):
    with scope(organisation=admin.organisation_id):
        return services.add_external(
            actor=admin,
            commission_id=composed.commission.pk,
            name="Claude Comptable",
            quality="accountant",
            title="Trésorier principal",
            email=f"  {ACCOUNTANT.upper()} ",
        )


def in_scope(actor):
    return scope(organisation=actor.organisation_id)


def calendar_of(email) -> icalendar.Calendar:
    (part,) = [a for a in email.alternatives if a["mimetype"].startswith("text/calendar")]
    return icalendar.Calendar.from_ical(part["content"])


def attendees(email) -> dict[str, str]:
    (event,) = calendar_of(email).walk("VEVENT")
    found = event.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    return {str(a).removeprefix("mailto:"): str(a.params["ROLE"]) for a in found}


def everyone(composed, status="present"):
    return {m.pk: meetings.Presence(status) for m in composed.members}


# --- Composition -------------------------------------------------------------------------


def test_the_administrator_adds_an_outside_attendee_audited_with_the_address(
    org_a, admin, composed, external
):
    assert external.email == ACCOUNTANT  # trimmed, lower case
    assert external.quality_text == "Public accountant, Trésorier principal"
    with scopes_disabled():
        event = AuditEvent.objects.get(action="commissions.external.added")
    assert event.chain == f"org:{org_a.pk}"
    assert event.payload["email"] == ACCOUNTANT
    with in_scope(admin):
        services.update_external(
            actor=admin,
            commission_id=composed.commission.pk,
            external_id=external.pk,
            name="Claude Comptable",
            quality="accountant",
            email="comptable@dgfip.example.org",
        )
        services.remove_external(
            actor=admin, commission_id=composed.commission.pk, external_id=external.pk
        )
        assert (
            selectors.current_externals(
                organisation_id=admin.organisation_id, commission_id=composed.commission.pk
            )
            == []
        )
        # The row stays, for the past meetings.
        assert ExternalMember.objects.get(pk=external.pk).removed_at is not None
    with scopes_disabled():
        updated = AuditEvent.objects.get(action="commissions.external.updated")
        assert updated.payload["before"]["email"] == ACCOUNTANT
        assert AuditEvent.objects.filter(action="commissions.external.removed").count() == 1


@pytest.mark.parametrize(
    "email",
    [
        "",
        "pas-une-adresse",
        "a@b.fr\nBcc: victime@example.org",
        "a\x00b@example.org",
        "a b@example.org",
        "x" * 250 + "@example.org",
        None,
    ],
)
def test_a_bad_address_is_refused(admin, composed, email):
    with in_scope(admin), pytest.raises(errors.EmailInvalid):
        services.add_external(
            actor=admin,
            commission_id=composed.commission.pk,
            name="Expert",
            quality="expert",
            email=email,
        )
    with in_scope(admin):
        assert not ExternalMember.objects.exists()


def test_an_address_already_convened_a_bad_name_or_quality_is_refused(admin, composed, external):
    add = {"actor": admin, "commission_id": composed.commission.pk}
    with in_scope(admin), pytest.raises(errors.AlreadyExternal):
        services.add_external(**add, name="Autre", quality="expert", email=ACCOUNTANT.title())
    with in_scope(admin), pytest.raises(errors.TextInvalid):
        services.add_external(**add, name="Expert\x1b[31m", quality="expert", email="e@x.fr")
    with in_scope(admin), pytest.raises(errors.ChoiceInvalid):
        services.add_external(**add, name="Expert", quality="mayor", email="e@x.fr")


def test_only_an_administrator_adds_an_address_and_at_most_a_few(
    org_a, admin, composed, monkeypatch
):
    buyer = make_member(org_a, "acheteur@example.org", roles=["buyer", "secretary"])
    with in_scope(buyer), pytest.raises(PermissionDenied):
        services.add_external(
            actor=buyer,
            commission_id=composed.commission.pk,
            name="Expert",
            quality="expert",
            email="expert@example.org",
        )
    monkeypatch.setattr(services, "MAX_EXTERNAL_MEMBERS", 1)
    with in_scope(admin):
        services.add_external(
            actor=admin,
            commission_id=composed.commission.pk,
            name="Expert",
            quality="expert",
            email="expert@example.org",
        )
        with pytest.raises(errors.TooManyExternals):
            services.add_external(
                actor=admin,
                commission_id=composed.commission.pk,
                name="DGCCRF",
                quality="competition",
                email="ddpp@example.org",
            )


def test_an_outside_attendee_never_holds_an_opening_key(admin, composed, external, consultation):
    with in_scope(admin):
        services.assign_consultation(
            actor=admin, consultation_id=consultation.pk, commission_id=composed.commission.pk
        )
        holders = set(
            selectors.member_user_ids(
                organisation_id=admin.organisation_id, consultation_id=consultation.pk
            ).values_list("user_id", flat=True)
        )
    assert holders == {m.membership.user_id for m in composed.members}


# --- Convocations ------------------------------------------------------------------------


def test_the_outside_attendee_is_convened_with_the_members_at_his_address(
    admin, composed, external, consultation
):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
    emails = {e.to: e for e in OutgoingEmail.objects.all()}
    assert set(emails) == {ACCOUNTANT, *(m.membership.user.email for m in composed.members)}
    mine = emails[ACCOUNTANT]
    assert "Public accountant, Trésorier principal, advisory vote" in mine.body_text
    # No account: no link to the platform's page.
    assert f"/commissions/meetings/{meeting.pk}/" not in mine.body_text
    member = emails[composed.full[1].membership.user.email]
    assert f"/commissions/meetings/{meeting.pk}/" in member.body_text
    # One invitation for all: the outside attendee at his address, an advisory voice.
    for email in (mine, member):
        assert attendees(email)[ACCOUNTANT] == "OPT-PARTICIPANT"
        assert calendar_of(email)["METHOD"] == "REQUEST"


def test_changes_and_the_cancellation_reach_him_but_not_once_removed(
    admin, composed, external, consultation
):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
        meetings.amend_meeting(
            actor=admin,
            meeting_id=meeting.pk,
            data=meetings.MeetingInput(meeting.starts_at + timedelta(hours=1), 120, "Mairie", ""),
            consultation_ids=[consultation.pk],
        )
    assert OutgoingEmail.objects.filter(to=ACCOUNTANT).count() == 2
    with in_scope(admin):
        services.remove_external(
            actor=admin, commission_id=composed.commission.pk, external_id=external.pk
        )
        meetings.cancel_meeting(actor=admin, meeting_id=meeting.pk, reason="Salle indisponible")
    assert OutgoingEmail.objects.filter(to=ACCOUNTANT).count() == 2
    last = OutgoingEmail.objects.order_by("-pk").first()
    assert ACCOUNTANT not in attendees(last)


# --- Attendance and minutes --------------------------------------------------------------


def _convened(admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
    return meeting


def test_his_attendance_is_recorded_never_in_the_quorum(admin, composed, external, consultation):
    meeting = _convened(admin, composed, consultation)
    presences = everyone(composed, "absent") | {composed.full[0].pk: meetings.Presence("present")}
    with in_scope(admin), pytest.raises(errors.AttendanceIncomplete):
        meetings.record_attendance(
            actor=admin, meeting_id=meeting.pk, presences=presences, now=meeting.starts_at
        )
    with in_scope(admin), pytest.raises(errors.ChoiceInvalid):
        meetings.record_attendance(
            actor=admin,
            meeting_id=meeting.pk,
            presences=presences,
            external_presences={external.pk: "replaced"},
            now=meeting.starts_at,
        )
    with in_scope(admin):
        meetings.record_attendance(
            actor=admin,
            meeting_id=meeting.pk,
            presences=presences,
            external_presences={external.pk: "present"},
            now=meeting.starts_at,
        )
        meeting.refresh_from_db()
        row = ExternalAttendance.objects.get(meeting=meeting)
    assert row.status == "present"
    # One full member of two present, the outside attendee beside him: no quorum.
    assert (meeting.votes_present, meeting.quorum_required, meeting.quorum_reached) == (
        1,
        2,
        False,
    )


def test_the_minutes_name_him_and_are_mailed_to_him(admin, composed, external, consultation):
    meeting = _convened(admin, composed, consultation)
    with in_scope(admin):
        meetings.record_attendance(
            actor=admin,
            meeting_id=meeting.pk,
            presences=everyone(composed),
            external_presences={external.pk: "excused"},
            now=meeting.starts_at,
        )
        item = meeting.items.get()
        meetings.issue_minutes(
            actor=admin, meeting_id=meeting.pk, decisions={item.pk: "Offre classée première."}
        )
        meeting.refresh_from_db()
    with open_stored_file(meeting.minutes) as handle:
        content = handle.read()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert "Claude Comptable" in text
    assert "Trésorier principal" in text
    mail = OutgoingEmail.objects.filter(to=ACCOUNTANT).order_by("-pk").first()
    (attachment,) = mail.attachments.all()
    assert attachment.content_type == "application/pdf"
    assert bytes(attachment.content) == content
    # The members read them on the platform: no attachment for them.
    members = OutgoingEmail.objects.exclude(to=ACCOUNTANT).filter(attachments__isnull=False)
    assert not members.exists()


# --- Pages -------------------------------------------------------------------------------


def test_the_administrator_manages_outside_attendees_on_the_commission_page(
    client, admin, composed
):
    client.force_login(admin.user)
    url = org_url("commissions:external_add", pk=composed.commission.pk)
    response = client.post(
        url,
        {
            "external-name": "Dominique Expert",
            "external-quality": "expert",
            "external-title": "",
            "external-email": "expert@example.org",
        },
    )
    assert response.status_code == 302
    with in_scope(admin):
        external = ExternalMember.objects.get()
    page = client.get(org_url("commissions:detail", pk=composed.commission.pk))
    assert b"expert@example.org" in page.content
    response = client.post(
        org_url("commissions:external_update", pk=composed.commission.pk, external_id=external.pk),
        {
            f"x{external.pk}-name": "Dominique Expert",
            f"x{external.pk}-quality": "competition",
            f"x{external.pk}-email": "ddpp@example.org",
        },
    )
    assert response.status_code == 302
    response = client.post(
        org_url("commissions:external_remove", pk=composed.commission.pk, external_id=external.pk)
    )
    assert response.status_code == 302
    with in_scope(admin):
        external.refresh_from_db()
    assert (external.quality, external.email) == ("competition", "ddpp@example.org")
    assert external.removed_at is not None


@pytest.mark.parametrize(
    "data",
    [
        {"external-name": "Expert", "external-email": "e@example.org\r\nBcc: x@y.fr"},
        {"external-name": "x" * 201, "external-email": "e@example.org"},
        {"external-name": "Expert", "external-email": "é" * 300},
        {"external-name": "Expert", "external-email": "e@example.org", "external-quality": "x"},
    ],
)
def test_bad_input_gets_its_message(client, admin, composed, data):
    client.force_login(admin.user)
    response = client.post(
        org_url("commissions:external_add", pk=composed.commission.pk),
        {"external-quality": "expert", **data},
    )
    assert response.status_code == 400
    assert response.context["external_form"].errors
    # A NUL byte is refused before the view, with its message.
    response = client.post(
        org_url("commissions:external_add", pk=composed.commission.pk),
        {**data, "external-name": "Expert\x00"},
    )
    assert response.status_code == 400
    with in_scope(admin):
        assert not ExternalMember.objects.exists()


def test_a_member_or_another_members_agent_cannot_add_one(
    client, org_a, org_b, admin, composed, agent_b, external
):
    data = {"external-name": "X", "external-quality": "expert", "external-email": "x@example.org"}
    # A commission member reads the page but does not compose.
    client.force_login(composed.full[1].membership.user)
    url = org_url("commissions:external_add", pk=composed.commission.pk)
    assert client.post(url, data).status_code == 404
    # Another member's administrator, through their own organisation's pages.
    subscribe_to_procurement(org_b)
    client.force_login(agent_b.user)
    pk = composed.commission.pk
    for other in (
        org_url("commissions:external_add", ORG_B, pk=pk),
        org_url("commissions:external_update", ORG_B, pk=pk, external_id=external.pk),
        org_url("commissions:external_remove", ORG_B, pk=pk, external_id=external.pk),
    ):
        assert client.post(other, data).status_code == 404, other
    with scopes_disabled():
        assert ExternalMember.objects.get().removed_at is None


def test_the_attendance_page_records_him(client, admin, composed, external, consultation):
    meeting = _convened(admin, composed, consultation)
    with scopes_disabled():
        Meeting.objects.filter(pk=meeting.pk).update(
            starts_at=timezone.now() - timedelta(minutes=5)
        )
    client.force_login(admin.user)
    url = org_url("commissions:meeting_attendance", pk=meeting.pk)
    page = client.get(url)
    assert b"Claude Comptable" in page.content
    data = {f"status_{m.pk}": "present" for m in composed.members}
    assert client.post(url, {**data, f"external_{external.pk}": "replaced"}).status_code == 400
    assert client.post(url, {**data, f"external_{external.pk}": "present"}).status_code == 302
    page = client.get(org_url("commissions:meeting", pk=meeting.pk))
    assert b"Claude Comptable" in page.content
    with in_scope(admin):
        assert ExternalAttendance.objects.get().status == "present"
