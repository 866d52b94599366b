"""Tenancy: the party a request acts for is named in its path, and its scope entered.

A tenant page carries the organisation (``/o/<slug>/…``) or the company (``/c/<siren>/…``)
it acts for, so that two tabs, a bookmark or a link in an e-mail always act for the right
party, whatever else the person has open. The contexts declare these kinds of party
(``registry.TenantKind``: identity the organisations, companies the companies); this
middleware reads the path, asks the kind for the person's standing in that party (a
membership, a representation) and enters that party's scope only:

- an anonymous visitor is sent to the login page, and back afterwards;
- a person with no active standing in the named party gets 404, exactly as for a party
  that does not exist (nobody learns which slugs are members);
- every other request (public pages, the person's own account, the back office) runs in
  a scope with no dimension, where any query on a tenant's table fails loudly.

The party's URL argument (``org``, ``company``) is consumed here: views read the actor
from the request (``request.membership``, ``request.representation``), never from the URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django_scopes import scope

from . import registry


def tenant_path(path: str) -> tuple[registry.TenantKind, str] | None:
    """The kind of party and its key named by a path, if it is a tenant path."""
    match = re.match(r"^/([a-z]+)/([^/]+)/", path)
    if match is None:
        return None
    kind = registry.tenant_kinds().get(match.group(1))
    return (kind, match.group(2)) if kind else None


class TenancyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kinds = registry.tenant_kinds().values()
        for kind in kinds:
            setattr(request, kind.attribute, None)
        named = tenant_path(request.path_info)
        if named is None:
            with scope():
                return self.get_response(request)
        kind, key = named
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        actor = kind.resolve(request, key)
        if actor is None:
            raise Http404
        setattr(request, kind.attribute, actor)
        request.tenant_kind = kind  # type: ignore[attr-defined]
        request.tenant_key = key  # type: ignore[attr-defined]
        with scope(**{kind.dimension: kind.scope_id(actor)}):
            return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        kind = getattr(request, "tenant_kind", None)
        if kind is not None:
            # The party was resolved from the path above; the view reads the actor.
            view_kwargs.pop(kind.url_kwarg, None)


def tenant_kwargs(request: HttpRequest) -> dict[str, str]:
    """The URL argument naming the party the request acts for (``{"org": "dijon"}``)."""
    kind = getattr(request, "tenant_kind", None)
    if kind is None:
        return {}
    return {kind.url_kwarg: request.tenant_key}  # type: ignore[attr-defined]


def tenant_reverse(request: HttpRequest, name: str, **kwargs: Any) -> str:
    """``reverse`` for a page of the same party as the request (its slug or SIREN added)."""
    from django.urls import reverse

    return reverse(name, kwargs={**tenant_kwargs(request), **kwargs})


def tenant_redirect(request: HttpRequest, name: str, **kwargs: Any) -> HttpResponse:
    from django.shortcuts import redirect

    return redirect(tenant_reverse(request, name, **kwargs))


def spaces_of(user: Any) -> list[tuple[registry.TenantKind, str, str]]:
    """Every party the person acts for, of every kind: ``(kind, name, url)``, for the
    switcher and for the landing page after login."""
    if not user.is_authenticated:
        return []
    return [
        (kind, name, url)
        for kind in registry.tenant_kinds().values()
        for name, url in kind.spaces(user)
    ]
