"""The platform as deployed (``mutualis.wsgi``) plus one route for bench/files.py.

``/bench/consultation.zip`` answers ``serve_zip`` over the stored files whose ids
``MUTUALIS_BENCH_ZIP_IDS`` lists (comma-separated), as a service's view does once it
has checked the reader's permission: one query for the rows, then the stream. Every
other path is the platform's own URLconf, middleware included.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.http import require_safe

application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - configured by get_wsgi_application

from mutualis import urls as platform_urls  # noqa: E402
from mutualis.core.files import anyone, register_owner, serve_zip  # noqa: E402
from mutualis.core.models import StoredFile  # noqa: E402

register_owner("bench.consultation", can_read=anyone)

if os.environ.get("MUTUALIS_BENCH_ZIP_NO_CRC") == "1":
    # Diagnostic only (bench/files.py --diagnose): how fast the archive would go if the
    # CRC-32 of each file were known before the download (computed at upload). The
    # archives this server then sends carry wrong CRCs: never a figure with a target.
    import zipstream.ng

    zipstream.ng.crc32 = lambda data, value=0: 0


@require_safe
def consultation_zip(request: HttpRequest) -> HttpResponseBase:
    ids = os.environ["MUTUALIS_BENCH_ZIP_IDS"].split(",")
    rows = {str(f.pk): f for f in StoredFile.objects.filter(pk__in=ids)}
    return serve_zip(request, [rows[i] for i in ids], "Dossier de consultation")


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/consultation.zip", consultation_zip),
    *platform_urls.urlpatterns,
]
settings.ROOT_URLCONF = __name__
