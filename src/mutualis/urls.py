"""The root URLconf: every context's URLs, as each declared them (``core.registry``)."""

from mutualis.core import registry

urlpatterns = registry.url_patterns()
