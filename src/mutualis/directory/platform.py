"""What the directory declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.registry import Access

from .api import router

registry.declare_routes(
    prefixes={
        # The public directory and the public API: public facts about organisations.
        "directory:": Access.PUBLIC,
    }
)
registry.declare_urls(registry.Urls("organisations/", "mutualis.directory.urls"))
# The directory's operations in the platform's API (/api/v1/organisations, …).
register_router("", router)


def _directory_url(request: Any) -> str:
    return reverse("directory:list")


registry.declare_menu_entry(registry.MenuEntry("directory", _("Directory"), _directory_url, 10))
