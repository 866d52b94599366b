"""What the evaluation context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

# The evaluator scores offers; buyers and commission members may too (services.READERS).
registry.declare_role(
    registry.RoleDeclaration(
        "evaluator",
        _("Evaluator (scores offers)"),
        31,
        service="procurement",
        requires_mfa=True,
    )
)

# The analysis of offers, under /o/<slug>/evaluation/: buyers, evaluators and commission
# members of the member in the path.
registry.declare_routes(prefixes={"evaluation:": Access.TENANT})
registry.declare_urls(registry.Urls("evaluation/", "mutualis.evaluation.urls", tenant="o"))


def _section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import views

    return views.section_context(request, consultation)


# On the buyer's page of a consultation, once its offers are opened.
registry.declare_consultation_section(
    registry.ConsultationSection(
        "evaluation.analysis", "buyer", "evaluation/section.html", _section, 65
    )
)
