"""What the deposits context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

# --- Opening (opening.py, opening_views.py, opening_urls.py) ---------------------------
from typing import Any

from django.urls import reverse

from mutualis.core import registry
from mutualis.core.files import register_owner
from mutualis.core.registry import Access

from . import opening

registry.declare_routes(prefixes={"deposits_opening:": Access.TENANT})
registry.declare_urls(registry.Urls("deposits/", "mutualis.deposits.opening_urls", tenant="o"))
# Opened files, the register and the minutes: read only through the opening's own views,
# which audit every read; the generic download view serves none of them.
register_owner(opening.OWNER_KIND, can_read=opening.nobody_reads)


def _opening_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    membership = getattr(request, "membership", None)
    if not opening.can_attend(membership):
        return None
    key = opening.opening_key_of(consultation)
    if key is None:
        return None
    return {
        "opening_url": reverse(
            "deposits_opening:session",
            kwargs={"org": consultation.organisation.slug, "pk": consultation.pk},
        ),
        "opening_session": opening.session_of(consultation),
        "opening_key": key,
    }


registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposits.opening", "buyer", "deposits/opening_section.html", _opening_section, 60
    )
)
