"""A commission's life through its services: composition by the administrators, the
meetings buyers run (convocations with their invitation, changes and cancellation told
to calendars), attendance and quorum, the minutes as PDF, the meeting convened again
without a quorum. Every step is audited; refusals change nothing."""

from __future__ import annotations

import io
from datetime import UTC, timedelta

import icalendar
import pypdf
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.commissions import errors, meetings, services
from mutualis.commissions.models import Attendance, Commission, CommissionMember, Meeting
from mutualis.core.files import open_stored_file
from mutualis.core.models import AuditEvent, OutgoingEmail
from tests.factories.commissions import make_commission, plan
from tests.factories.deposits_keys import commission_member
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org_a, agent_a):
    subscribe_to_procurement(org_a)
    return agent_a  # org_admin and buyer


@pytest.fixture
def composed(admin):
    return make_commission(admin, full=3, substitutes=1, advisory=1)


@pytest.fixture
def consultation(admin):
    return make_consultation(admin, reference="2027-CAO", title="Toiture de l\u2019église")


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="commissions.")
            .order_by("pk")
            .values_list("action", flat=True)
        )


def calendars(emails) -> list[icalendar.Calendar]:
    result = []
    for email in emails:
        (part,) = [a for a in email.alternatives if a["mimetype"].startswith("text/calendar")]
        result.append(icalendar.Calendar.from_ical(part["content"]))
    return result


def in_scope(actor):
    return scope(organisation=actor.organisation_id)


# --- Composition -----------------------------------------------------------------------


def test_an_administrator_composes_the_commission_every_change_audited(org_a, admin, composed):
    with in_scope(admin):
        members = list(CommissionMember.objects.filter(commission=composed.commission))
    assert len(members) == 5
    assert [m.is_president for m in composed.full] == [True, False, False]
    assert composed.advisory[0].vote == "advisory"
    assert actions(org_a) == ["commissions.commission.created"] + ["commissions.member.added"] * 5


def test_a_second_president_takes_over_from_the_first(admin, composed):
    second = composed.full[1]
    with in_scope(admin):
        services.update_member(
            actor=admin,
            commission_id=composed.commission.pk,
            member_id=second.pk,
            seat="full",
            vote="deliberative",
            is_president=True,
        )
        presidents = list(
            CommissionMember.objects.filter(commission=composed.commission, is_president=True)
        )
    assert presidents == [second]


def test_a_president_with_an_advisory_vote_is_refused(admin, composed):
    with in_scope(admin), pytest.raises(errors.PresidentInvalid):
        services.update_member(
            actor=admin,
            commission_id=composed.commission.pk,
            member_id=composed.advisory[0].pk,
            seat="full",
            vote="advisory",
            is_president=True,
        )


def test_a_person_without_the_role_or_of_another_member_cannot_sit(org_a, org_b, admin, composed):
    secretary = make_member(org_a, "secretaire@example.org", roles=["secretary"])
    stranger = commission_member(org_b, "membre.b@example.org")
    for membership in (secretary, stranger):
        with in_scope(admin), pytest.raises(errors.NotACommissionMember):
            services.add_member(
                actor=admin, commission_id=composed.commission.pk, membership_id=membership.pk
            )
    with in_scope(admin), pytest.raises(errors.AlreadyMember):
        services.add_member(
            actor=admin,
            commission_id=composed.commission.pk,
            membership_id=composed.full[1].membership_id,
        )


def test_a_buyer_who_is_not_an_administrator_cannot_compose(org_a, admin, composed):
    buyer = make_member(org_a, "acheteur@example.org", roles=["buyer"])
    with in_scope(buyer), pytest.raises(PermissionDenied):
        services.create_commission(actor=buyer, name="Jury")
    with in_scope(buyer), pytest.raises(PermissionDenied):
        services.remove_member(
            actor=buyer, commission_id=composed.commission.pk, member_id=composed.full[1].pk
        )


@pytest.mark.parametrize("name", ["", "  ", "Jury\x00", "x" * 201, "Jury\x1b[31m"])
def test_a_bad_name_is_refused(admin, name):
    with in_scope(admin), pytest.raises(errors.TextInvalid):
        services.create_commission(actor=admin, name=name)
    with in_scope(admin):
        assert not Commission.objects.exists()


def test_a_member_who_leaves_keeps_their_row_for_past_meetings(admin, composed):
    with in_scope(admin):
        services.remove_member(
            actor=admin, commission_id=composed.commission.pk, member_id=composed.full[0].pk
        )
        row = CommissionMember.objects.get(pk=composed.full[0].pk)
    assert row.removed_at is not None
    assert row.is_president is False


# --- Meetings and convocations -----------------------------------------------------------


def test_convening_mails_every_member_an_invitation(org_a, admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
        meeting.refresh_from_db()
    assert meeting.status == "convened"
    emails = list(OutgoingEmail.objects.order_by("to"))
    assert sorted(e.to for e in emails) == sorted(m.membership.user.email for m in composed.members)
    body = emails[0].body_text
    # French first, then English, as every notification (the French of the catalogue is
    # checked by the translation tests).
    assert body.index("---- English ----") < body.rindex("You are convened")
    assert "2027-CAO — Toiture de l\u2019église" in body
    uids = set()
    for calendar in calendars(emails):
        assert calendar["METHOD"] == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert event["SEQUENCE"] == 0
        assert event.decoded("DTSTART").astimezone(UTC) == meeting.starts_at
        uids.add(str(event["UID"]))
    assert len(uids) == 1
    assert actions(org_a)[-2:] == ["commissions.meeting.planned", "commissions.meeting.convened"]


def test_a_change_after_convening_sends_the_invitation_again_sequence_raised(
    admin, composed, consultation
):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
        later = meeting.starts_at + timedelta(hours=2)
        meetings.amend_meeting(
            actor=admin,
            meeting_id=meeting.pk,
            data=meetings.MeetingInput(later, 90, "Salle des mariages", ""),
            consultation_ids=[consultation.pk],
        )
        meeting.refresh_from_db()
    assert meeting.sequence == 1
    updates = OutgoingEmail.objects.order_by("pk")[5:]
    assert updates.count() == 5
    (event,) = calendars(updates[:1])[0].walk("VEVENT")
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART").astimezone(UTC) == later
    assert str(event["LOCATION"]) == "Salle des mariages"


def test_the_same_details_saved_again_send_nothing(admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
        meetings.amend_meeting(
            actor=admin,
            meeting_id=meeting.pk,
            data=meetings.MeetingInput(meeting.starts_at, 120, meeting.place, ""),
            consultation_ids=[consultation.pk],
        )
        meeting.refresh_from_db()
    assert meeting.sequence == 0
    assert OutgoingEmail.objects.count() == 5


def test_cancelling_a_convened_meeting_withdraws_the_invitation(admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
        meetings.cancel_meeting(actor=admin, meeting_id=meeting.pk, reason="Salle indisponible")
        meeting.refresh_from_db()
    assert meeting.status == "cancelled"
    cancels = OutgoingEmail.objects.order_by("pk")[5:]
    assert cancels.count() == 5
    calendar = calendars(cancels[:1])[0]
    assert calendar["METHOD"] == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert (event["STATUS"], event["SEQUENCE"]) == ("CANCELLED", 1)
    assert "Salle indisponible" in cancels[0].body_text
    with in_scope(admin), pytest.raises(errors.TransitionNotAllowed):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)


def test_a_planned_meeting_cancelled_mails_nobody(admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.cancel_meeting(actor=admin, meeting_id=meeting.pk, reason="Reportée")
    assert OutgoingEmail.objects.count() == 0


def test_a_meeting_in_the_past_or_without_a_place_is_refused(admin, composed, consultation):
    past = timezone.now() - timedelta(minutes=1)
    with in_scope(admin), pytest.raises(errors.StartInPast):
        plan(admin, composed.commission, [consultation], starts_at=past)
    with in_scope(admin), pytest.raises(errors.PlaceRequired):
        plan(admin, composed.commission, [consultation], place="  ")
    with in_scope(admin), pytest.raises(errors.TextInvalid):
        plan(admin, composed.commission, [consultation], place="Mairie\x00")
    with in_scope(admin), pytest.raises(errors.TextInvalid):
        plan(admin, composed.commission, [consultation], place="", video_url="javascript:x")
    with in_scope(admin):
        assert not Meeting.objects.exists()


def test_convening_needs_an_agenda_and_a_future_start(admin, composed, consultation):
    meeting = plan(admin, composed.commission, [])
    with in_scope(admin), pytest.raises(errors.AgendaEmpty):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
    other = plan(admin, composed.commission, [consultation])
    with in_scope(admin), pytest.raises(errors.StartInPast):
        meetings.convene_meeting(
            actor=admin, meeting_id=other.pk, now=other.starts_at + timedelta(minutes=1)
        )
    assert OutgoingEmail.objects.count() == 0


def test_an_agenda_refuses_a_consultation_of_another_commission_or_member(
    org_b, agent_b, admin, composed, consultation
):
    jury = make_commission(admin, name="Jury", full=1, substitutes=0, advisory=0)
    with in_scope(admin):
        services.assign_consultation(
            actor=admin, consultation_id=consultation.pk, commission_id=jury.commission.pk
        )
    with pytest.raises(errors.ConsultationOfAnotherCommission):
        plan(admin, composed.commission, [consultation])
    subscribe_to_procurement(org_b)
    theirs = make_consultation(agent_b, reference="B-1")
    with pytest.raises(errors.ConsultationUnknown):
        plan(admin, composed.commission, [theirs])


# --- Attendance, quorum, minutes ---------------------------------------------------------


def _held(admin, composed, consultation, presences):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
        meetings.record_attendance(
            actor=admin,
            meeting_id=meeting.pk,
            presences=presences,
            now=meeting.starts_at + timedelta(minutes=5),
        )
        meeting.refresh_from_db()
    return meeting


def _presences(composed, **by_index):
    """Everyone absent unless said: ``full0="present"``, ``full1=("replaced", "sub0")``."""
    result = {m.pk: meetings.Presence("absent") for m in composed.members}
    named = {f"full{i}": m for i, m in enumerate(composed.full)}
    named |= {f"sub{i}": m for i, m in enumerate(composed.substitutes)}
    named |= {f"adv{i}": m for i, m in enumerate(composed.advisory)}
    for key, value in by_index.items():
        if isinstance(value, tuple):
            result[named[key].pk] = meetings.Presence(value[0], named[value[1]].pk)
        else:
            result[named[key].pk] = meetings.Presence(value)
    return result


def test_a_substitute_standing_in_makes_the_quorum_and_the_minutes_say_so(
    org_a, admin, composed, consultation
):
    presences = _presences(
        composed, full0="present", full1=("replaced", "sub0"), sub0="present", adv0="present",
        full2="excused",
    )  # fmt: skip
    meeting = _held(admin, composed, consultation, presences)
    assert meeting.status == "held"
    assert (meeting.votes_present, meeting.quorum_required, meeting.quorum_reached) == (2, 2, True)
    with in_scope(admin):
        item = meeting.items.get()
        meetings.issue_minutes(
            actor=admin,
            meeting_id=meeting.pk,
            decisions={item.pk: "La commission classe l\u2019offre de Menuiserie X première."},
        )
        meeting.refresh_from_db()
        assert Attendance.objects.filter(meeting=meeting).count() == 5
    assert meeting.status == "minutes_issued"
    with open_stored_file(meeting.minutes) as handle:
        text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(handle.read())).pages)
    assert "Commission d'appel d'offres" in text
    assert "2027-CAO" in text
    assert "classe l'offre de Menuiserie X" in text
    # The substitute is named beside the full member replaced; the advisory member too.
    for member in (composed.substitutes[0], composed.full[1], composed.advisory[0]):
        assert member.membership.user.email in text or member.name in text
    assert actions(org_a)[-2:] == [
        "commissions.meeting.attendance_recorded",
        "commissions.meeting.minutes_issued",
    ]


def test_attendance_is_refused_before_the_start_and_when_incomplete(admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
    everyone = _presences(composed, full0="present", full1="present")
    with in_scope(admin), pytest.raises(errors.NotStarted):
        meetings.record_attendance(
            actor=admin,
            meeting_id=meeting.pk,
            presences=everyone,
            now=meeting.starts_at - timedelta(minutes=1),
        )
    partial = dict(list(everyone.items())[:-1])
    with in_scope(admin), pytest.raises(errors.AttendanceIncomplete):
        meetings.record_attendance(
            actor=admin, meeting_id=meeting.pk, presences=partial, now=meeting.starts_at
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"full1": ("replaced", "sub0")},  # the substitute is not marked present
        {"full1": ("replaced", "full2"), "full2": "present"},  # not a substitute
        {"adv0": ("replaced", "sub0"), "sub0": "present"},  # another vote
        {"full1": ("replaced", "sub0"), "full2": ("replaced", "sub0"), "sub0": "present"},
    ],
)
def test_an_impossible_replacement_is_refused(admin, composed, consultation, bad):
    meeting = plan(admin, composed.commission, [consultation])
    with in_scope(admin):
        meetings.convene_meeting(actor=admin, meeting_id=meeting.pk)
    with in_scope(admin), pytest.raises(errors.SubstituteInvalid):
        meetings.record_attendance(
            actor=admin,
            meeting_id=meeting.pk,
            presences=_presences(composed, **bad),
            now=meeting.starts_at,
        )
    with in_scope(admin):
        assert Meeting.objects.get(pk=meeting.pk).status == "convened"


def test_without_quorum_no_decision_then_the_commission_sits_again_without_one(
    admin, composed, consultation
):
    meeting = _held(admin, composed, consultation, _presences(composed, full0="present"))
    assert (meeting.votes_present, meeting.quorum_required, meeting.quorum_reached) == (1, 2, False)
    with in_scope(admin):
        item = meeting.items.get()
        with pytest.raises(errors.DecisionWithoutQuorum):
            meetings.issue_minutes(
                actor=admin, meeting_id=meeting.pk, decisions={item.pk: "Attribué"}
            )
        meetings.issue_minutes(actor=admin, meeting_id=meeting.pk, decisions={})
        again = meetings.reconvene_meeting(
            actor=admin,
            meeting_id=meeting.pk,
            data=meetings.MeetingInput(meeting.starts_at + timedelta(days=3), 120, "Mairie", ""),
        )
        with pytest.raises(errors.CannotReconvene):
            meetings.reconvene_meeting(
                actor=admin,
                meeting_id=meeting.pk,
                data=meetings.MeetingInput(
                    meeting.starts_at + timedelta(days=4), 120, "Mairie", ""
                ),
            )
        assert [i.consultation_id for i in again.items.all()] == [consultation.pk]
        meetings.convene_meeting(actor=admin, meeting_id=again.pk)
        meetings.record_attendance(
            actor=admin,
            meeting_id=again.pk,
            presences=_presences(composed, full0="present"),
            now=again.starts_at,
        )
        again.refresh_from_db()
    assert (again.quorum_required, again.quorum_reached) == (0, True)
    convocation = OutgoingEmail.objects.order_by("pk").last()
    assert convocation.body_text.count("L1411-5") == 2  # French, then English


def test_a_meeting_held_with_its_quorum_cannot_be_reconvened(admin, composed, consultation):
    meeting = _held(
        admin, composed, consultation, _presences(composed, full0="present", full1="present")
    )
    with in_scope(admin), pytest.raises(errors.CannotReconvene):
        meetings.reconvene_meeting(
            actor=admin,
            meeting_id=meeting.pk,
            data=meetings.MeetingInput(meeting.starts_at + timedelta(days=3), 120, "Mairie", ""),
        )


def test_a_commission_member_cannot_run_meetings(org_a, admin, composed, consultation):
    meeting = plan(admin, composed.commission, [consultation])
    member = composed.full[1].membership
    with in_scope(admin), pytest.raises(PermissionDenied):
        meetings.convene_meeting(actor=member, meeting_id=meeting.pk)


def test_a_secretary_runs_meetings(org_a, admin, composed, consultation):
    secretary = make_member(org_a, "secretaire@example.org", roles=["secretary"])
    meeting = plan(secretary, composed.commission, [consultation])
    with in_scope(secretary):
        meetings.convene_meeting(actor=secretary, meeting_id=meeting.pk)
    assert OutgoingEmail.objects.count() == 5
