"""The root URLconf: every context's URLs, as each declared them (``core.registry``)."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from mutualis.core import registry

urlpatterns = [
    *registry.url_patterns(),
    # Members' logos are public and small; the app serves them itself so that the demo
    # needs no other server. In production MEDIA_URL points to the object storage.
    re_path(
        r"^media/(?P<path>logos/[\w.-]+)$",
        serve,
        {"document_root": settings.MEDIA_ROOT},
        name="media_logo",
    ),
]
