from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import registry, tenancy


def _menu(request: HttpRequest) -> list[dict[str, Any]]:
    entries = []
    for entry in registry.menu_entries():
        url = entry.url(request)
        if url is not None:
            entries.append({"key": entry.key, "label": entry.label, "url": url})
    return entries


def _spaces(request: HttpRequest) -> list[dict[str, Any]]:
    """The organisations and companies the person acts for: the switcher's links, the one
    the page acts for marked ``current``."""
    return [
        {
            "name": name,
            "url": url,
            "kind": kind.prefix,
            "current": getattr(request, kind.attribute, None) is not None
            and request.path.startswith(url),
        }
        for kind, name, url in tenancy.spaces_of(request.user)
    ]


def platform(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    # Lazy, and read once per request: the switcher and its summary share the list.
    spaces = SimpleLazyObject(lambda: _spaces(request))
    return {
        "platform_name": settings.MUTUALIS_PLATFORM_NAME,
        # The footer's link to the accessibility statement states it (RGAA).
        "accessibility_status": settings.MUTUALIS_ACCESSIBILITY_STATUS,
        "current_membership": membership,
        # Lazy: no query unless the header is drawn.
        "menu": SimpleLazyObject(lambda: _menu(request)),
        "spaces": spaces,
        "current_space": SimpleLazyObject(
            lambda: next((space for space in spaces if space["current"]), None)
        ),
    }
