"""Reads of an organisation's members page, inside the current organisation's scope."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Invitation, Membership


def list_members(*, organisation_id: int) -> QuerySet[Membership]:
    """The organisation's active memberships, with the person and the roles."""
    return (
        Membership.objects.filter(organisation_id=organisation_id, is_active=True)
        .select_related("user")
        .prefetch_related("roles")
        .order_by("user__last_name", "user__first_name", "user__email", "pk")
    )


def member(*, organisation_id: int, membership_id: int) -> Membership | None:
    return (
        Membership.objects.filter(organisation_id=organisation_id, pk=membership_id)
        .select_related("user", "organisation")
        .prefetch_related("roles")
        .first()
    )


def list_open_invitations(*, organisation_id: int) -> QuerySet[Invitation]:
    """Invitations nobody accepted nor withdrew, expired ones included (shown as such, so
    that an administrator sees why a person never arrived), newest first."""
    return (
        Invitation.objects.filter(
            organisation_id=organisation_id, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("invited_by__user")
        .prefetch_related("roles")
        .order_by("-created_at", "-pk")
    )


def invitation(*, organisation_id: int, invitation_id: int) -> Invitation | None:
    """One of the organisation's invitations, whatever its state."""
    return Invitation.objects.filter(organisation_id=organisation_id, pk=invitation_id).first()
