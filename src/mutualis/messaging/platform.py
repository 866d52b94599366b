"""What the messaging context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.files import register_owner
from mutualis.core.registry import Access

from . import services

# The buyer's threads, under /o/<slug>/messages/: buyers write, commission members read.
# A company's inbox, under /c/<siren>/messages/: its representatives.
registry.declare_routes(prefixes={"messaging:": Access.TENANT, "company_messages:": Access.TENANT})
registry.declare_urls(registry.Urls("messages/", "mutualis.messaging.urls", tenant="o"))
registry.declare_urls(registry.Urls("messages/", "mutualis.messaging.company_urls", tenant="c"))


def _nobody_reads(request: Any, stored_file: Any) -> bool:
    """The generic download view serves no attachment: each side reads them through its
    own thread page."""
    return False


register_owner(services.ATTACHMENT_OWNER_KIND, can_read=_nobody_reads)


def _messages_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import views

    return views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection(
        "messaging", "buyer", "messaging/section_consultation.html", _messages_section, 60
    )
)


def _company_url(request: Any) -> str | None:
    representation = getattr(request, "representation", None)
    if representation is None:
        return None
    return reverse("company_messages:inbox", kwargs={"company": representation.company.siren})


registry.declare_menu_entry(registry.MenuEntry("company_messages", _("Messages"), _company_url, 35))
