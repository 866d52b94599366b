"""What the operator back office declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access
from mutualis.identity import crossings as identity_crossings

# The operator back office: every view is guarded by operator_required.
registry.declare_routes(prefixes={"backoffice:": Access.OPERATOR})
registry.declare_urls(registry.Urls("operator/", "mutualis.backoffice.urls"))


def _backoffice_url(request: Any) -> str | None:
    if not request.user.is_authenticated:
        return None
    memberships = identity_crossings.memberships_of_user(request.user)
    if not any(m.organisation.is_operator for m in memberships):
        return None
    return reverse("backoffice:dashboard")


registry.declare_menu_entry(
    registry.MenuEntry("backoffice", _("Back office"), _backoffice_url, 100)
)
