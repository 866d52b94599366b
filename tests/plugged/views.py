"""The test-only context's pages: a member's side and a company's side of a shared row."""

from csp.decorators import csp_replace, csp_update
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import escape
from django.views.decorators.clickjacking import xframe_options_exempt

from mutualis.core.errors import ServiceNotSubscribed
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import require_subscription, subscription_required

from .models import Note, SharedNote


@role_required("plugged_editor")
@subscription_required("plugged")
def notes(request: HttpRequest) -> HttpResponse:
    organisation_id = request.membership.organisation_id  # type: ignore[attr-defined]
    if request.method == "POST":
        try:
            # The service's own check, as a service does: the page guard is not enough.
            require_subscription(organisation_id, "plugged")
        except ServiceNotSubscribed as exc:
            return HttpResponse(str(exc.message), status=403)
        Note.objects.create(organisation_id=organisation_id, text=request.POST.get("text", ""))
    texts = [escape(n.text) for n in Note.objects.filter(organisation_id=organisation_id)]
    return HttpResponse("\n".join(texts))


def _shared(manager, **filters) -> SharedNote:
    note = manager.filter(**filters).first()
    if note is None:
        raise Http404
    return note


@role_required()
def shared_for_organisation(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    note = _shared(SharedNote.for_organisation, pk=pk, organisation_id=membership.organisation_id)
    return HttpResponse(escape(note.text))


def shared_for_company(request: HttpRequest, pk: int) -> HttpResponse:
    representation = request.representation  # type: ignore[attr-defined]
    note = _shared(SharedNote.for_company, pk=pk, company_id=representation.company_id)
    return HttpResponse(escape(note.text))


# A public page that a partner's site may frame and that starts a Web Worker: it widens
# the Content-Security-Policy on itself only, as such a page of a service would.
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["https://partner.example"]})
@csp_update({"worker-src": ["'self'", "blob:"]})
def embeddable(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<!DOCTYPE html><title>Embeddable</title><p>Embeddable</p>")


# A page that breaks the policy (an inline script and a style attribute): the browser
# tests' watch must notice it.
def inline(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        "<!DOCTYPE html><html lang='en'><title>Inline</title>"
        "<p id='styled' style='color: red'>Inline</p>"
        "<script>document.title = 'ran';</script></html>"
    )
