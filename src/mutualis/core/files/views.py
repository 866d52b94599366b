"""The one download view of every stored file."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from mutualis.core.models import StoredFile

from .download import serve_file
from .owners import get_owner


@require_safe
def download(request: HttpRequest, file_id: uuid.UUID, name: str) -> HttpResponseBase:
    """Serve the file if its owner kind lets this request read it; 404 otherwise, so that
    nobody learns that a file they may not read exists. The name in the path is only
    there for the browser and for people reading the link."""
    stored_file = StoredFile.objects.filter(pk=file_id).first()
    if stored_file is None:
        raise Http404
    owner = get_owner(stored_file.owner_kind)
    if owner is None or not owner.can_read(request, stored_file):
        raise Http404
    return serve_file(request, stored_file, public=owner.public)
