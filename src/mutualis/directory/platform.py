"""What the directory declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

from .api import api

registry.declare_routes(
    prefixes={
        # The public directory and the public API: public facts about organisations.
        "directory:": Access.PUBLIC,
        "api:": Access.PUBLIC,
    }
)
registry.declare_urls(registry.Urls("organisations/", "mutualis.directory.urls"))
registry.declare_urls(registry.Urls("api/v1/", api.urls))


def _directory_url(request: Any) -> str:
    return reverse("directory:list")


registry.declare_menu_entry(registry.MenuEntry("directory", _("Directory"), _directory_url, 10))
