"""What the evidence context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

# The time-stamping authority and its description are for anyone: bidders, buyers,
# auditors and their software check the platform's tokens without an account.
registry.declare_routes(prefixes={"evidence:": Access.PUBLIC})
registry.declare_urls(registry.Urls("", "mutualis.evidence.urls", order=20))


def _tsa_key(stdout: Any) -> None:
    from django.utils.translation import gettext

    from .authority import ensure_authority

    created = ensure_authority()
    for path in created:
        stdout.write(gettext("Time-stamping authority: created %(path)s.") % {"path": path})
    if not created:
        stdout.write(gettext("Time-stamping authority: its key and certificate exist."))


# Created when missing, never replaced (a new certificate is the operator's act).
registry.declare_setup_step(
    registry.Step(
        "evidence.tsa_key",
        45,
        _tsa_key,
        _("create the time-stamping key and certificate if missing"),
    )
)
