"""What is public of awards and contracts, for the API (``api.py``): decisions once
notified to the bidders, contracts once notified to their holder (the holder's proof of
receipt), on consultations that were public. Read across members (public data, through
``crossings.py``), never a draft decision, never a rejected bidder's offer or amount."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Amendment, Award, Contract


def awards() -> QuerySet[Award]:
    """Notified decisions (awarded, unsuccessful or discontinued), abandoned ones
    included once notified; read by ``crossings.py``."""
    return Award.objects.filter(
        notified_at__isnull=False, consultation__is_test=False
    ).select_related("consultation__organisation", "lot", "company")


def contracts() -> QuerySet[Contract]:
    """Contracts whose holder confirmed the notification's receipt; read by
    ``crossings.py``."""
    return (
        Contract.for_organisation.filter(
            receipt_confirmed_at__isnull=False, award__consultation__is_test=False
        )
        .select_related("award__consultation__organisation", "award__lot", "company")
        .prefetch_related(
            Prefetch("amendments", queryset=Amendment.for_organisation.order_by("number"))
        )
    )
