from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import registry, selectors
from .permissions import membership_required, role_required
from .tenancy import tenant_reverse


def home(request: HttpRequest) -> HttpResponse:
    """The platform's front page; for a signed-in person, the spaces they act in."""
    return render(request, "core/home.html")


@membership_required
def organisation_home(request: HttpRequest) -> HttpResponse:
    """An organisation's space: the services it subscribes to."""
    membership = request.membership  # type: ignore[attr-defined]
    services = selectors.subscribed_services(membership)
    declared = registry.services()
    return render(
        request,
        "core/organisation_home.html",
        {"services": [(service, service.code in declared) for service in services]},
    )


@role_required("org_admin")
def organisation_audit(request: HttpRequest) -> HttpResponse:
    page = selectors.audit_events_page(
        organisation=request.membership.organisation,  # type: ignore[attr-defined]
        action=request.GET.get("action", ""),
        page=request.GET.get("page"),
    )
    return render(request, "core/organisation_audit.html", {"page": page})


@membership_required
def service_home(request: HttpRequest, code: str) -> HttpResponse:
    """A subscribed service: its own home page when a context provides it, else a page
    that says it is not available yet (the catalogue row has no code behind it)."""
    subscription = selectors.subscription_for(request.membership, code)  # type: ignore[attr-defined]
    if subscription is None:
        raise Http404
    declared = registry.services().get(code)
    if declared is not None and declared.home:
        return redirect(tenant_reverse(request, declared.home))
    return render(request, "core/service_home.html", {"subscription": subscription})
