"""Absolute links to the platform, for what leaves a request: e-mails, feeds, documents.

A background job has no request to read a host from, so every absolute link is built from
``MUTUALIS_SITE_URL`` (the public address of the instance, scheme included).
"""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """The public address of a path of the platform (``/o/dijon/…`` → ``https://…/o/dijon/…``)."""
    if not path.startswith("/"):
        raise ValueError("absolute_url expects a path starting with '/'")
    site_url: str = settings.MUTUALIS_SITE_URL
    return site_url.rstrip("/") + path
