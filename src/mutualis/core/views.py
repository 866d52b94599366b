from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, tenancy
from .permissions import membership_required, role_required


def home(request: HttpRequest) -> HttpResponse:
    membership = getattr(request, "membership", None)
    services = selectors.subscribed_services(membership) if membership else []
    return render(request, "core/home.html", {"services": services})


@require_POST
@login_required
def switch_organisation(request: HttpRequest) -> HttpResponse:
    try:
        membership_id = int(request.POST.get("membership", ""))
    except ValueError:
        membership_id = 0
    membership = tenancy.choose_membership(request, membership_id)
    if membership is None:
        raise Http404
    messages.success(
        request, _("You now act for %(name)s.") % {"name": membership.organisation.name}
    )
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


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
    subscription = selectors.subscription_for(request.membership, code)  # type: ignore[attr-defined]
    if subscription is None:
        raise Http404
    return render(request, "core/service_home.html", {"subscription": subscription})
