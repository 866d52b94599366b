"""Forms of the commissions' pages. Every text has a ``max_length`` (Django's fields also
refuse NUL characters); the services check everything again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mutualis.procurement.forms import ParisDateTimeField

from . import errors
from .models import (
    DECISION_LENGTH,
    EMAIL_LENGTH,
    MAX_AGENDA_ITEMS,
    MAX_DURATION,
    MIN_DURATION,
    NAME_LENGTH,
    PLACE_LENGTH,
    REASON_LENGTH,
    URL_LENGTH,
    AgendaItem,
    AttendanceStatus,
    CommissionKind,
    CommissionMember,
    ExternalMember,
    ExternalQuality,
    QuorumRule,
    Seat,
    Vote,
)


class CommissionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    kind = forms.ChoiceField(label=_("Kind"), choices=CommissionKind.choices)
    quorum_rule = forms.ChoiceField(label=_("Quorum"), choices=QuorumRule.choices)


class SeatForm(forms.Form):
    seat = forms.ChoiceField(label=_("Seat"), choices=Seat.choices)
    vote = forms.ChoiceField(label=_("Vote"), choices=Vote.choices)
    is_president = forms.BooleanField(label=_("President"), required=False)


class MemberForm(SeatForm):
    membership = forms.TypedChoiceField(
        label=_("Person"),
        coerce=int,
        error_messages={"invalid_choice": errors.NotACommissionMember.message},
    )
    field_order = ["membership", "seat", "vote", "is_president"]

    def __init__(self, *args: Any, candidates: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].choices = [  # type: ignore[attr-defined]
            (m.pk, m.user.get_full_name() or m.user.email) for m in candidates
        ]


class ExternalForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_LENGTH)
    quality = forms.ChoiceField(label=_("Quality"), choices=ExternalQuality.choices)
    title = forms.CharField(
        label=_("Function (optional)"),
        max_length=NAME_LENGTH,
        required=False,
        help_text=_("As the minutes name it, e.g. the public accountant's post."),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=EMAIL_LENGTH,
        help_text=_("The convocations, their invitation and the minutes are sent to it."),
    )


EXTERNAL_CHOICES = [
    (status, label)
    for status, label in AttendanceStatus.choices
    if status != AttendanceStatus.REPLACED
]


class MeetingForm(forms.Form):
    starts_at = ParisDateTimeField(label=_("Date and time (Paris time)"))
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=MIN_DURATION, max_value=MAX_DURATION, initial=120
    )
    place = forms.CharField(label=_("Place"), max_length=PLACE_LENGTH, required=False)
    video_url = forms.URLField(
        label=_("Video link"), max_length=URL_LENGTH, required=False, assume_scheme="https"
    )

    def __init__(self, *args: Any, consultations: Sequence[Any] = (), **kwargs: Any) -> None:
        """``consultations``: those that may go on the agenda, each with a field giving its
        order (empty: not on the agenda)."""
        super().__init__(*args, **kwargs)
        self.consultations = list(consultations)
        for consultation in self.consultations:
            self.fields[f"position_{consultation.pk}"] = forms.IntegerField(
                label=f"{consultation.reference} — {consultation.title}",
                min_value=1,
                max_value=MAX_AGENDA_ITEMS,
                required=False,
            )

    def position_fields(self) -> list[Any]:
        return [self[f"position_{c.pk}"] for c in self.consultations]

    def agenda(self) -> list[int]:
        """The consultations with an order, by that order (then as listed)."""
        ranked = [
            (self.cleaned_data[f"position_{c.pk}"], index, c.pk)
            for index, c in enumerate(self.consultations)
            if self.cleaned_data.get(f"position_{c.pk}") is not None
        ]
        return [pk for _position, _index, pk in sorted(ranked)]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class AttendanceForm(forms.Form):
    def __init__(
        self,
        *args: Any,
        members: Sequence[CommissionMember],
        current: dict[int, Any],
        externals: Sequence[ExternalMember] = (),
        current_externals: dict[int, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.members = list(members)
        self.externals = list(externals)
        for external in self.externals:
            row = (current_externals or {}).get(external.pk)
            self.fields[f"external_{external.pk}"] = forms.ChoiceField(
                label=external.name,
                choices=EXTERNAL_CHOICES,
                initial=row.status if row else AttendanceStatus.PRESENT,
            )
        substitutes = [(m.pk, m.name) for m in self.members if m.seat == Seat.SUBSTITUTE]
        for member in self.members:
            row = current.get(member.pk)
            self.fields[f"status_{member.pk}"] = forms.ChoiceField(
                label=member.name,
                choices=AttendanceStatus.choices,
                initial=row.status if row else AttendanceStatus.PRESENT,
            )
            if member.seat == Seat.FULL and substitutes:
                self.fields[f"replaced_by_{member.pk}"] = forms.TypedChoiceField(
                    label=_("Replaced by"),
                    choices=[("", "—"), *substitutes],
                    coerce=int,
                    empty_value=None,
                    required=False,
                    initial=row.replaced_by_id if row else None,
                )

    def rows(self) -> list[tuple[CommissionMember, Any, Any]]:
        return [
            (
                m,
                self[f"status_{m.pk}"],
                self[f"replaced_by_{m.pk}"] if f"replaced_by_{m.pk}" in self.fields else None,
            )
            for m in self.members
        ]

    def external_rows(self) -> list[tuple[ExternalMember, Any]]:
        return [(e, self[f"external_{e.pk}"]) for e in self.externals]

    def external_presences(self) -> dict[int, str]:
        return {e.pk: self.cleaned_data[f"external_{e.pk}"] for e in self.externals}

    def presences(self) -> dict[int, tuple[str, int | None]]:
        return {
            m.pk: (
                self.cleaned_data[f"status_{m.pk}"],
                self.cleaned_data.get(f"replaced_by_{m.pk}"),
            )
            for m in self.members
        }


class MinutesForm(forms.Form):
    def __init__(self, *args: Any, items: Sequence[AgendaItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"decision_{item.pk}"] = forms.CharField(
                label=f"{item.position}. {item.consultation.reference} — {item.consultation.title}",
                max_length=DECISION_LENGTH,
                required=False,
                initial=item.decision,
                widget=forms.Textarea(attrs={"rows": 4}),
            )

    def decisions(self) -> dict[int, str]:
        return {item.pk: self.cleaned_data[f"decision_{item.pk}"] for item in self.items}


class AssignForm(forms.Form):
    commission = forms.TypedChoiceField(
        label=_("Commission"),
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": errors.CommissionUnknown.message},
    )

    def __init__(self, *args: Any, commissions: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commission"].choices = [  # type: ignore[attr-defined]
            ("", _("No commission")),
            *((c.pk, c.name) for c in commissions),
        ]
