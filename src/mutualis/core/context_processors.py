from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import registry


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
    if not request.user.is_authenticated:
        return []
    spaces = []
    for kind in registry.tenant_kinds().values():
        acting = getattr(request, kind.attribute, None) is not None
        for name, url in kind.spaces(request.user):
            current = acting and request.path.startswith(url)
            spaces.append({"name": name, "url": url, "kind": kind.prefix, "current": current})
    return spaces


def _current_space(request: HttpRequest) -> dict[str, Any] | None:
    return next((space for space in _spaces(request) if space["current"]), None)


def platform(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "platform_name": settings.MUTUALIS_PLATFORM_NAME,
        "current_membership": membership,
        # Lazy: no query unless the header is drawn.
        "menu": SimpleLazyObject(lambda: _menu(request)),
        "spaces": SimpleLazyObject(lambda: _spaces(request)),
        "current_space": SimpleLazyObject(lambda: _current_space(request)),
    }
