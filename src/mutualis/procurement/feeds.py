"""Feeds of the published consultations, for readers and for members' own websites.

- ``/consultations/feed.atom?<search>``: an Atom feed (RFC 4287) of any search of the
  portal, with the same parameters (``procurement.search``), newest first;
- ``/consultations/member/<slug>.json``: a member's published consultations as a JSON
  Feed 1.1, readable by a script of any website (CORS ``*``: public facts, no cookie read
  or written, GET only);
- ``/consultations/member/<slug>/embed/``: a small page a member frames in its own
  website. The one route a foreign page may frame: no ``X-Frame-Options``, and a
  ``frame-ancestors`` of its own (``MUTUALIS_EMBED_FRAME_ANCESTORS``, ``*`` by default);
  every other page keeps ``DENY`` and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from mutualis.core.links import absolute_url
from mutualis.core.models import Organisation

from . import crossings, deadlines, search
from .models import Consultation

FEED_ENTRIES = 50
MEMBER_ENTRIES = 30
EMBED_ENTRIES = 10
# Readers poll; a few minutes of staleness is what a feed promises anyway.
FEED_CACHE_SECONDS = 300


def _summary(c: Consultation, now: Any) -> str:
    status = _("open") if c.is_open(now) else _("closed")
    return _("%(buyer)s — %(object)s Deadline for responses: %(deadline)s (%(status)s).") % {
        "buyer": c.organisation.name,
        "object": c.object,
        "deadline": deadlines.display(c.response_deadline),
        "status": status,
    }


@require_safe
def search_feed(request: HttpRequest) -> HttpResponse:
    """The latest consultations of a search, as Atom; invalid parameters give a 400
    that says which."""
    try:
        criteria = search.parse(request.GET)
    except search.InvalidSearch as refused:
        lines = [f"{e['field']}: {e['message']}" for e in refused.errors]
        return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")
    now = timezone.now()
    rows = crossings.public_search_latest(criteria, now=now, limit=FEED_ENTRIES)
    query = criteria.as_query().urlencode()
    page_url = absolute_url(reverse("consultations:list") + (f"?{query}" if query else ""))
    feed = feedgenerator.Atom1Feed(
        title=_("Consultations of the territory"),
        link=page_url,
        description=_("The consultations published on the platform that match the search."),
        feed_url=absolute_url(request.get_full_path()),
        language="fr",
        feed_guid=page_url,
    )
    for c in rows:
        url = absolute_url(reverse("consultations:detail", kwargs={"pk": c.pk}))
        feed.add_item(
            title=c.title,
            link=url,
            description=_summary(c, now),
            unique_id=url,
            unique_id_is_permalink=True,
            pubdate=c.published_at,
            updateddate=c.updated_at,
            author_name=c.organisation.name,
            categories=[f"CPV {code}" for code in c.cpv_codes],
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    patch_cache_control(response, public=True, max_age=FEED_CACHE_SECONDS)
    return response


def _member(slug: str) -> Organisation:
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise Http404
    return organisation


@require_safe
def member_json(request: HttpRequest, slug: str) -> JsonResponse:
    """A member's published consultations, newest first, as a JSON Feed 1.1 any website
    may read (``Access-Control-Allow-Origin: *``)."""
    organisation = _member(slug)
    now = timezone.now()
    rows = crossings.recent_public_consultations_of(organisation.pk, limit=MEMBER_ENTRIES)
    items = []
    for c in rows:
        url = absolute_url(reverse("consultations:detail", kwargs={"pk": c.pk}))
        items.append(
            {
                "id": url,
                "url": url,
                "title": c.title,
                "content_text": c.object,
                "date_published": c.published_at.isoformat() if c.published_at else None,
                "date_modified": c.updated_at.isoformat(),
                "tags": c.cpv_codes,
                "_mutualis": {
                    "reference": c.reference,
                    "procedure": c.procedure,
                    "category": c.category,
                    "state": c.state,
                    "is_open": c.is_open(now),
                    "response_deadline": c.response_deadline.isoformat(),
                },
            }
        )
    response = JsonResponse(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": _("Consultations of %(name)s") % {"name": organisation.name},
            "home_page_url": absolute_url(
                reverse("consultations:list") + f"?buyer={organisation.slug}"
            ),
            "feed_url": absolute_url(request.path),
            "language": "fr",
            "items": items,
        },
        content_type="application/feed+json; charset=utf-8",
        json_dumps_params={"ensure_ascii": False},
    )
    # Public facts, read with no credentials: any origin may read them; a cookie would
    # be neither sent (no Allow-Credentials) nor set.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET"
    patch_cache_control(response, public=True, max_age=FEED_CACHE_SECONDS)
    return response


def embed_frame_ancestors() -> list[str]:
    """Who may frame the embeddable page: ``MUTUALIS_EMBED_FRAME_ANCESTORS``, sources of
    CSP separated by spaces (``*`` by default: every member's website)."""
    value = str(settings.MUTUALIS_EMBED_FRAME_ANCESTORS).split()
    return value or ["'none'"]


@require_safe
@xframe_options_exempt
def member_embed(request: HttpRequest, slug: str) -> HttpResponse:
    """A member's latest consultations in a small page for an ``<iframe>`` of its own
    website; links open the portal outside the frame."""
    organisation = _member(slug)
    now = timezone.now()
    rows = crossings.recent_public_consultations_of(organisation.pk, limit=EMBED_ENTRIES)
    response = render(
        request,
        "procurement/embed.html",
        {
            "organisation": organisation,
            "consultations": rows,
            "now": now,
            "all_url": absolute_url(reverse("consultations:list") + f"?buyer={organisation.slug}"),
        },
    )
    # django-csp reads it after the view: this page alone may be framed.
    response._csp_replace = {"frame-ancestors": embed_frame_ancestors()}  # type: ignore[attr-defined]
    patch_cache_control(response, public=True, max_age=FEED_CACHE_SECONDS)
    return response
