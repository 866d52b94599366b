"""What the commissions context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.files import register_owner
from mutualis.core.registry import Access

from . import minutes
from .services import READERS

# The commissions of the member in the path, under /o/<slug>/commissions/: administrators
# compose them, buyers and secretaries run their meetings, commission members read.
registry.declare_routes(prefixes={"commissions:": Access.TENANT})
registry.declare_urls(registry.Urls("commissions/", "mutualis.commissions.urls", tenant="o"))

# Minutes are served only by the meeting's own page (commission members and buyers).
register_owner(minutes.OWNER_KIND, can_read=minutes.nobody_reads)


def _section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import views

    return views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection(
        "commissions", "buyer", "commissions/section_consultation.html", _section, 45
    )
)


def _menu_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    return reverse("commissions:index", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(registry.MenuEntry("commissions", _("Commissions"), _menu_url, 34))
