"""The test-only context's pages: a member's side and a company's side of a shared row."""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import escape

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
