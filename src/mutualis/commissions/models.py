"""The rows of a member's commissions (issue 15, "Commission and analysis").

A ``Commission`` (the tender commission of CGCT L1414-2, composed as L1411-5 says; a
competition jury; an adapted-procedure commission) has ``CommissionMember`` rows: agents
of the organisation holding the ``commission_member`` role, full members or substitutes,
with a deliberative or an advisory vote (the public accountant and the representative of
the competition authority sit with an advisory vote, L1411-3), one of them its president.
A member who leaves keeps their row (``removed_at``), so that past attendance still
names them. A consultation is examined by one commission (``ConsultationCommission``).

Advisory attendees from outside the organisation (the public accountant, the competition
authority's representative, outside experts: L1411-3) are ``ExternalMember`` rows: a
name, a quality and an e-mail address, no account. A table of their own rather than a
``CommissionMember`` without a membership, so that by construction they never vote,
never count in the quorum and never hold an opening key; they are convened with the
members and their attendance is recorded (``ExternalAttendance``).

A ``Meeting`` has an agenda of the member's consultations (``AgendaItem``, in order), the
attendance of each member (``Attendance``) and the quorum computed from it
(``quorum.py``), then its minutes. Its status changes only through ``transitions.py``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mutualis.core.models import OrganisationOwned

NAME_LENGTH = 200
PLACE_LENGTH = 300
URL_LENGTH = 500
DECISION_LENGTH = 4000
REASON_LENGTH = 1000
MIN_DURATION = 15
MAX_DURATION = 12 * 60
MAX_AGENDA_ITEMS = 50
EMAIL_LENGTH = 254
# Each external member is an address the platform writes to at every change of a
# convened meeting: a bound on how many one commission may have.
MAX_EXTERNAL_MEMBERS = 20


class CommissionKind(models.TextChoices):
    TENDER = "tender", _("Tender commission (CAO)")
    JURY = "jury", _("Competition jury")
    ADAPTED = "adapted", _("Adapted procedure (MAPA) commission")
    OTHER = "other", _("Other commission")


class QuorumRule(models.TextChoices):
    # CGCT L1411-5, for the tender commission (L1414-2): more than half of the members
    # with a deliberative vote present; without it, convened again, it then sits
    # without a quorum.
    MAJORITY = "majority", _("More than half of the full members with a deliberative vote")
    NONE = "none", _("No quorum")


class Commission(OrganisationOwned):
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CommissionKind.choices, default=CommissionKind.TENDER
    )
    quorum_rule = models.CharField(
        _("quorum"), max_length=10, choices=QuorumRule.choices, default=QuorumRule.MAJORITY
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="commissions_commission_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CommissionKind.values)
                & models.Q(quorum_rule__in=QuorumRule.values),
                name="commissions_commission_kind_rule_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Seat(models.TextChoices):
    FULL = "full", _("Full member")
    SUBSTITUTE = "substitute", _("Substitute")


class Vote(models.TextChoices):
    DELIBERATIVE = "deliberative", _("Deliberative vote")
    ADVISORY = "advisory", _("Advisory vote")


class CommissionMember(OrganisationOwned):
    commission = models.ForeignKey(Commission, on_delete=models.PROTECT, related_name="members")
    membership = models.ForeignKey(
        "identity.Membership", on_delete=models.PROTECT, related_name="+"
    )
    seat = models.CharField(_("seat"), max_length=12, choices=Seat.choices, default=Seat.FULL)
    vote = models.CharField(
        _("vote"), max_length=12, choices=Vote.choices, default=Vote.DELIBERATIVE
    )
    is_president = models.BooleanField(_("president"), default=False)
    added_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(seat__in=Seat.values) & models.Q(vote__in=Vote.values),
                name="commissions_member_seat_vote_valid",
            ),
            # The president is a full member with a deliberative vote.
            models.CheckConstraint(
                condition=models.Q(is_president=False)
                | models.Q(seat=Seat.FULL, vote=Vote.DELIBERATIVE),
                name="commissions_president_is_full_deliberative",
            ),
            models.UniqueConstraint(
                fields=["commission", "membership"],
                condition=models.Q(removed_at__isnull=True),
                name="commissions_member_once",
            ),
            models.UniqueConstraint(
                fields=["commission"],
                condition=models.Q(removed_at__isnull=True, is_president=True),
                name="commissions_one_president",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commission_id}:{self.membership_id}:{self.seat}"

    @property
    def name(self) -> str:
        user = self.membership.user
        return user.get_full_name() or user.email


class ExternalQuality(models.TextChoices):
    ACCOUNTANT = "accountant", _("Public accountant")
    COMPETITION = "competition", _("Representative of the competition authority (DGCCRF)")
    EXPERT = "expert", _("Outside expert")
    OTHER = "other", _("Other advisory attendee")


class ExternalMember(OrganisationOwned):
    """An advisory attendee who is not an agent of the organisation (CGCT L1411-3):
    convened by e-mail, attendance recorded, no vote, never in the quorum, never an
    opening-key holder. The address is the administrator's to vouch for (audited)."""

    commission = models.ForeignKey(
        Commission, on_delete=models.PROTECT, related_name="external_members"
    )
    name = models.CharField(_("name"), max_length=NAME_LENGTH)
    quality = models.CharField(_("quality"), max_length=12, choices=ExternalQuality.choices)
    # The function as the minutes name it, e.g. "Trésorier principal de Lyon".
    title = models.CharField(_("function"), max_length=NAME_LENGTH, blank=True, default="")
    # Stored in lower case: one person is one address, whatever the case typed.
    email = models.EmailField(_("e-mail address"), max_length=EMAIL_LENGTH)
    added_at = models.DateTimeField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quality__in=ExternalQuality.values),
                name="commissions_external_quality_valid",
            ),
            models.UniqueConstraint(
                fields=["commission", "email"],
                condition=models.Q(removed_at__isnull=True),
                name="commissions_external_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commission_id}:external:{self.pk}"

    @property
    def quality_text(self) -> str:
        label = str(self.get_quality_display())
        return f"{label}, {self.title}" if self.title else label


class ConsultationCommission(OrganisationOwned):
    """The commission that examines a consultation (the buyer's choice)."""

    consultation = models.OneToOneField(
        "procurement.Consultation", on_delete=models.CASCADE, related_name="+"
    )
    commission = models.ForeignKey(
        Commission, on_delete=models.PROTECT, related_name="consultations"
    )
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.consultation_id}->{self.commission_id}"


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    CONVENED = "convened", _("convened")
    HELD = "held", pgettext_lazy("meeting status", "held")
    MINUTES_ISSUED = "minutes_issued", _("minutes issued")
    CANCELLED = "cancelled", pgettext_lazy("meeting status", "cancelled")


class Meeting(OrganisationOwned):
    commission = models.ForeignKey(Commission, on_delete=models.PROTECT, related_name="meetings")
    # The invitation's UID: one per meeting, kept across updates and the cancellation.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    starts_at = models.DateTimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=120)
    place = models.CharField(_("place"), max_length=PLACE_LENGTH, blank=True, default="")
    video_url = models.URLField(_("video link"), max_length=URL_LENGTH, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    # iCalendar SEQUENCE: raised each time a convened meeting changes or is cancelled.
    sequence = models.PositiveIntegerField(default=0)
    # Convened again after this meeting lacked its quorum: it sits without one.
    reconvened_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reconvened_as"
    )
    convened_at = models.DateTimeField(null=True, blank=True)
    attendance_recorded_at = models.DateTimeField(null=True, blank=True)
    quorum_required = models.PositiveSmallIntegerField(null=True, blank=True)
    votes_present = models.PositiveSmallIntegerField(null=True, blank=True)
    quorum_reached = models.BooleanField(null=True, blank=True)
    minutes = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    minutes_issued_at = models.DateTimeField(null=True, blank=True)
    cancelled_reason = models.TextField(
        _("reason"), max_length=REASON_LENGTH, blank=True, default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=MeetingStatus.values),
                name="commissions_meeting_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(place="", video_url=""),
                name="commissions_meeting_place_or_link",
            ),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=MIN_DURATION)
                & models.Q(duration_minutes__lte=MAX_DURATION),
                name="commissions_meeting_duration_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commission_id}@{self.starts_at:%Y-%m-%dT%H:%MZ}"


class AgendaItem(OrganisationOwned):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    # Typed by the secretary for the minutes.
    decision = models.TextField(_("decision"), max_length=DECISION_LENGTH, blank=True, default="")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "position"], name="commissions_agenda_position_unique"
            ),
            models.UniqueConstraint(
                fields=["meeting", "consultation"], name="commissions_agenda_consultation_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}#{self.position}"


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("present")
    ABSENT = "absent", _("absent")
    EXCUSED = "excused", _("excused")
    REPLACED = "replaced", _("replaced by a substitute")


class Attendance(OrganisationOwned):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(CommissionMember, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("attendance"), max_length=10, choices=AttendanceStatus.choices)
    replaced_by = models.ForeignKey(
        CommissionMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "member"], name="commissions_attendance_once"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status=AttendanceStatus.REPLACED, replaced_by__isnull=False)
                    | (
                        models.Q(
                            status__in=[
                                AttendanceStatus.PRESENT,
                                AttendanceStatus.ABSENT,
                                AttendanceStatus.EXCUSED,
                            ]
                        )
                        & models.Q(replaced_by__isnull=True)
                    )
                ),
                name="commissions_attendance_replaced_iff_substitute",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}:{self.member_id}:{self.status}"


class ExternalAttendance(OrganisationOwned):
    """Whether an external member came; never replaced, never counted in the quorum."""

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="external_attendance"
    )
    external = models.ForeignKey(ExternalMember, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("attendance"), max_length=10, choices=AttendanceStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "external"], name="commissions_external_attendance_once"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        AttendanceStatus.PRESENT,
                        AttendanceStatus.ABSENT,
                        AttendanceStatus.EXCUSED,
                    ]
                ),
                name="commissions_external_attendance_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}:external:{self.external_id}:{self.status}"
